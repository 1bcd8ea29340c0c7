import type { Command } from 'commander';
import { Option } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import {
  complianceReport,
  COMPLIANCE_STATUSES,
  type AssessmentEvidence,
  type AttemptEvidence,
  type ComplianceReport,
  type ComplianceStatus,
} from '../../domain/compliance';
import { SA, type AssessmentResult, type MachineAttemptResult } from '../../workflows/messages';
import type { DriverKind } from '../../domain/fleet';
import {
  isSimulated,
  SIMULATED_MEMO_KEY,
  simulatedNames,
  type SimulatedMarker,
} from '../../domain/simulated';
import { rolloutWorkflowId } from '../../workflows/ids';
import { NotFoundError, UsageError } from '../errors';
import { loadFleet } from '../input';
import { printJson, table } from '../output';
import { connectClient } from '../temporal';
import { ROLLOUT_ID_PATTERN } from '../prepare';
import { outputOption } from './options';
import { listWorkflows, mapLimit } from '../visibility';
import { summaryOf } from '../command-index';

export type DataFormat = 'table' | 'json' | 'csv';

export function dataOutputOption(): Option {
  return outputOption(['table', 'json', 'csv']);
}

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Prints rows as an aligned table or CSV, or `json` as JSON: the one shape of every data-printing command. */
export function printData(
  format: string,
  headers: string[],
  rows: Array<Array<string | number>>,
  json: unknown,
): void {
  if (format === 'json') printJson(json);
  else if (format === 'csv')
    process.stdout.write(`${[headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')}\n`);
  else process.stdout.write(`${table(headers, rows)}\n`);
}

/** Machine names and rollout IDs go into visibility queries: only the characters their schemas allow. */
export const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const sa = (w: WorkflowExecutionInfo, key: { name: string }) => {
  const v = w.typedSearchAttributes.get(key as typeof SA.machine);
  return typeof v === 'string' ? v : undefined;
};
const closed = (w: WorkflowExecutionInfo) => (w.closeTime ?? w.startTime).toISOString();

/**
 * Gathers the evidence from Temporal visibility and results: the latest successful assessment of each
 * machine, and the machine attempts closed since (all of them for a patch query), plus each machine's
 * latest attempt. Results are read from closed workflows' histories, so no worker is needed.
 */
export async function gatherEvidence(
  client: Client,
  query: { machine?: string; rollout?: string; patch?: string },
): Promise<{ assessments: AssessmentEvidence[]; attempts: AttemptEvidence[] }> {
  const machineFilter = query.machine ? ` AND ${SA.machine.name} = "${query.machine}"` : '';
  const assessed = await listWorkflows(
    client,
    `${SA.kind.name} = "assessment" AND ExecutionStatus = "Completed" AND ${SA.outcome.name} = "Succeeded"${machineFilter}`,
  );
  const latestAssessed = new Map<string, WorkflowExecutionInfo>();
  for (const w of assessed) {
    const m = sa(w, SA.machine);
    if (m && (!latestAssessed.has(m) || closed(latestAssessed.get(m)!) < closed(w))) latestAssessed.set(m, w);
  }
  const assessments = await mapLimit([...latestAssessed.values()], 16, async (w) => {
    const r = (await client.workflow.getHandle(w.workflowId, w.runId).result()) as AssessmentResult;
    return { machine: r.machine, assessedAt: r.assessedAt, outcome: r.outcome, patches: r.patches };
  });

  const rolloutFilter = query.rollout ? ` AND ${SA.rollout.name} = "${query.rollout}"` : '';
  const attemptsListed = await listWorkflows(
    client,
    `${SA.kind.name} = "machine" AND ExecutionStatus != "Running"${rolloutFilter}${machineFilter}`,
  );
  const latestAttempt = new Map<string, WorkflowExecutionInfo>();
  for (const w of attemptsListed) {
    const m = sa(w, SA.machine);
    if (m && (!latestAttempt.has(m) || closed(latestAttempt.get(m)!) < closed(w))) latestAttempt.set(m, w);
  }
  const wanted = attemptsListed.filter((w) => {
    const m = sa(w, SA.machine);
    if (!m) return false;
    const a = latestAssessed.get(m);
    return query.patch !== undefined || latestAttempt.get(m) === w || !a || closed(w) > closed(a);
  });
  const attempts = await mapLimit(wanted, 16, async (w): Promise<AttemptEvidence> => {
    const base = { machine: sa(w, SA.machine)!, rolloutId: sa(w, SA.rollout) ?? '', closedAt: closed(w) };
    if (w.status.name !== 'COMPLETED') return { ...base, attempt: 0, outcome: w.status.name, patches: [] };
    const r = (await client.workflow.getHandle(w.workflowId, w.runId).result()) as MachineAttemptResult;
    return { ...base, attempt: r.attempt, outcome: r.outcome, assessedAt: r.assessedAt, patches: r.patches };
  });
  return { assessments, attempts };
}

/**
 * The machines the simulator patched: the fleet's `driver: simulated` machines, and those the rollouts
 * that attempted them record as simulated (their memo, client/temporal.ts).
 */
async function simulatedMachines(
  client: Client,
  fleet: ReadonlyArray<{ name: string; driver: DriverKind }>,
  attempts: readonly AttemptEvidence[],
): Promise<Set<string>> {
  const out = new Set(simulatedNames(fleet));
  const rollouts = [...new Set(attempts.map((a) => a.rolloutId).filter(Boolean))];
  const markers = new Map(
    await mapLimit(rollouts, 8, async (id): Promise<[string, SimulatedMarker | undefined]> => {
      const d = await client.workflow
        .getHandle(rolloutWorkflowId(id))
        .describe()
        .catch(() => undefined);
      return [id, d?.memo?.[SIMULATED_MEMO_KEY] as SimulatedMarker | undefined];
    }),
  );
  for (const a of attempts) if (isSimulated(markers.get(a.rolloutId), a.machine)) out.add(a.machine);
  return out;
}

function rowsOf(report: ComplianceReport): { headers: string[]; rows: Array<Array<string | number>> } {
  const headers = [
    'machine',
    'status',
    'last assessed',
    'critical',
    'security',
    'other',
    'last install',
    'outstanding',
  ];
  if (report.patch) headers.push('patch', 'patch state');
  const rows = report.machines.map((m) => {
    const i = m.lastInstall;
    const row: Array<string | number> = [
      m.machine,
      m.status,
      m.lastAssessedAt ?? '-',
      m.available?.critical ?? '-',
      m.available?.security ?? '-',
      m.available?.other ?? '-',
      i
        ? `${i.rolloutId}#${i.attempt} ${i.outcome} (${i.installed} installed, ${i.failed} failed, ${i.pending} pending)`
        : '-',
      m.outstanding.length,
    ];
    if (report.patch) row.push(m.patch!.patchId, m.patch!.state);
    return row;
  });
  return { headers, rows };
}

export function registerCompliance(program: Command): void {
  program
    .command('compliance')
    .description(summaryOf('compliance'))
    .option(
      '--fleet <file>',
      'fleet file: its machines appear even when Temporal has nothing on them (Unknown)',
    )
    .option('--rollout <id>', 'only the machines and attempts of this rollout')
    .option('--machine <name>', 'only this machine')
    .option(
      '--patch <kb-or-package>',
      'one patch: a KB (KB5031234) or a package (openssl, openssl=3.0.2-0ubuntu1.18)',
    )
    .addOption(
      new Option('--status <status...>', 'only machines with these statuses').choices([
        ...COMPLIANCE_STATUSES,
      ]),
    )
    .addOption(dataOutputOption())
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ offpeak compliance --fleet examples/fleet.yaml',
        '  $ offpeak compliance --rollout nov-2026 --status NonCompliant --output csv > noncompliant.csv',
        '  $ offpeak compliance --patch KB5031234',
        '  $ offpeak compliance --machine eus-web-01 --output json',
      ].join('\n'),
    )
    .action(
      async (opts: {
        fleet?: string;
        rollout?: string;
        machine?: string;
        patch?: string;
        status?: ComplianceStatus[];
        output: string;
      }) => {
        if (opts.machine !== undefined && !MACHINE_NAME.test(opts.machine))
          throw UsageError.of('--machine', `"${opts.machine}" is not a machine name`);
        if (opts.rollout !== undefined && !ROLLOUT_ID_PATTERN.test(opts.rollout))
          throw UsageError.of('--rollout', `"${opts.rollout}" is not a rollout ID`);
        if (opts.patch !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._+:~=-]*$/.test(opts.patch))
          throw UsageError.of('--patch', `"${opts.patch}" is not a KB or package`);
        const fleetMachines = opts.fleet ? loadFleet(opts.fleet).machines : undefined;
        const fleet = fleetMachines?.map((m) => m.name);
        const { client } = await connectClient();
        if (opts.rollout) {
          try {
            await client.workflow.getHandle(rolloutWorkflowId(opts.rollout)).describe();
          } catch (err) {
            if (err instanceof WorkflowNotFoundError)
              throw new NotFoundError('--rollout', `no rollout "${opts.rollout}"`);
            throw err;
          }
        }
        const evidence = await gatherEvidence(client, opts);
        const simulated = await simulatedMachines(client, fleetMachines ?? [], evidence.attempts);
        const report = complianceReport({
          fleet,
          ...evidence,
          query: { machine: opts.machine, rollout: opts.rollout, patch: opts.patch, status: opts.status },
          simulated: (m) => simulated.has(m),
        });
        if (opts.machine && report.machines.length === 0 && !opts.patch && !opts.rollout)
          throw UsageError.of(
            '--machine',
            `no machine "${opts.machine}" in Temporal${opts.fleet ? ' or the fleet' : ' (pass --fleet to include machines never assessed)'}`,
          );
        const { headers, rows } = rowsOf(report);
        printData(opts.output, headers, rows, report);
        if (opts.output === 'table') {
          const s = report.summary;
          process.stdout.write(
            `\n${s.compliant}/${s.machines} compliant (${s.compliantPercent}%), ${s.nonCompliant} non-compliant, ${s.unknown} unknown${s.simulated ? `, ${s.simulated} simulated (driver: simulated patches nothing; never counted compliant)` : ''}\n`,
          );
          const waiting = report.machines.flatMap((m) =>
            (m.excluded ?? []).map(
              (e) => `  ${m.machine}: ${e.patchId} excluded (${e.reason}), due ${e.due}`,
            ),
          );
          if (waiting.length) process.stdout.write(`\nExcluded, still outstanding:\n${waiting.join('\n')}\n`);
          if (report.patch)
            process.stdout.write(
              `${report.patch.query}: installed or no longer needed on ${report.patch.installed}/${report.patch.applicable} (${report.patch.installedPercent}%)\n`,
            );
        }
      },
    );
}
