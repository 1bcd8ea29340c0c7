import type { Command } from 'commander';
import type { Fleet, Machine } from '../../domain/fleet';
import { DEFAULT_TASK_QUEUE, machineSpecOf } from '../../domain/rollout-spec';
import { SA, type AssessmentResult } from '../../workflows/messages';
import { assessWorkflowId } from '../../workflows/ids';
import { OperationError, UsageError } from '../errors';
import { loadFleet } from '../input';
import { note } from '../output';
import { connectClient, noWorkerWarning } from '../temporal';
import { mapLimit } from '../visibility';
import { dataOutputOption, printData } from './compliance';
import { whoAmI } from './options';
import { summaryOf } from '../command-index';

/** `--fleet`, else `$OFFPEAK_FLEET`: on-demand commands need the fleet to know how to reach a machine. */
export function fleetFromOption(path: string | undefined): { fleet: Fleet; path: string } {
  const file = path ?? process.env.OFFPEAK_FLEET;
  if (!file) throw UsageError.of('--fleet', 'required (or set OFFPEAK_FLEET)');
  return { fleet: loadFleet(file), path: file };
}

/** The named machines of the fleet, in fleet order; every unknown name is reported at once. */
export function selectMachines(fleet: Fleet, names: readonly string[] | undefined): Machine[] {
  if (!names?.length) return fleet.machines;
  const known = new Set(fleet.machines.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length)
    throw new UsageError(
      unknown.map((n) => ({ path: '--machine', message: `no machine "${n}" in the fleet` })),
    );
  const wanted = new Set(names);
  return fleet.machines.filter((m) => wanted.has(m.name));
}

export function registerAssess(program: Command): void {
  program
    .command('assess')
    .description(summaryOf('assess'))
    .option('--fleet <file>', 'fleet file (default: $OFFPEAK_FLEET)')
    .option('--machine <name...>', 'machines to assess (default: the whole fleet)')
    .option('--by <name>', 'who asks (default: $USER)')
    .option('--no-wait', 'start the assessments and return')
    .addOption(dataOutputOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak assess --fleet examples/fleet.yaml\n  $ offpeak assess --fleet examples/fleet.yaml --machine eus-web-01 eus-web-02 --output json',
    )
    .action(
      async (opts: { fleet?: string; machine?: string[]; by?: string; wait: boolean; output: string }) => {
        const { fleet } = fleetFromOption(opts.fleet);
        const machines = selectMachines(fleet, opts.machine);
        const by = opts.by ?? whoAmI();
        const { client } = await connectClient();
        const requestedAt = new Date()
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
        const handles = await mapLimit(machines, 16, (m) =>
          client.workflow.start('assessWorkflow', {
            taskQueue: DEFAULT_TASK_QUEUE,
            workflowId: assessWorkflowId(m.name, requestedAt),
            args: [{ machine: machineSpecOf(m), requestedBy: by }],
            staticSummary: `Assessment of ${m.name}, requested by ${by}`,
            typedSearchAttributes: [
              { key: SA.kind, value: 'assessment' },
              { key: SA.machine, value: m.name },
            ],
          }),
        );
        note(`Started ${handles.length} assessment(s) (${assessWorkflowId('<machine>', requestedAt)})`);
        const warning = await noWorkerWarning(client);
        if (warning) note(warning);
        if (!opts.wait) return;
        const results = await mapLimit(handles, 16, (h) => h.result() as Promise<AssessmentResult>);
        const headers = [
          'machine',
          'outcome',
          'assessedAt',
          'critical',
          'security',
          'other',
          'rebootPending',
        ];
        const rows = results.map((r) => [
          r.machine,
          r.outcome,
          r.assessedAt,
          r.counts.critical,
          r.counts.security,
          r.counts.other,
          r.rebootPending ? 'yes' : 'no',
        ]);
        printData(opts.output, headers, rows, results);
        const unreachable = results.filter((r) => r.outcome !== 'Succeeded').length;
        if (unreachable) throw new OperationError(`${unreachable} machine(s) could not be assessed`);
      },
    );
}
