import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { buildRolloutInput, DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import type { Fleet } from '../domain/fleet';
import type { Policy } from '../domain/policy';
import { resolveTemporal, type TemporalTarget } from '../servers/connection';
import { SA } from '../servers/search-attributes';
import { rolloutWorkflowId } from '../workflows/ids';
import { machinesQuery, statusQuery } from '../workflows/rollout';
import { stageRolloutInput } from '../activities/spec-store';
import { machineCountOf } from '../domain/spec-slices';
import { isSimulated, SIMULATED_MEMO_KEY, type SimulatedMarker } from '../domain/simulated';
import { MACHINE_PAGE_LIMIT, type MachineReport, type RolloutReport } from '../workflows/rollout-state';
import { OperationError, UsageError } from './errors';
import { planOrThrow } from './commands/plan';
import { machinesFromAttempts } from './machine-attempts';

export async function connectClient(
  target?: TemporalTarget,
): Promise<{ client: Client; target: TemporalTarget }> {
  const t = target ?? (await resolveTemporal({ embedded: false }));
  try {
    const connection = await Connection.connect({ ...t.connectionOptions, connectTimeout: 5000 });
    return { client: new Client({ connection, namespace: t.namespace }), target: t };
  } catch (err) {
    throw new OperationError(
      `cannot reach Temporal at ${t.connectionOptions.address}: ${(err as Error).message}\n` +
        'Start a local server with `npx offpeak dev-server`, or set TEMPORAL_ADDRESS (see README "Pointing at a cluster").',
    );
  }
}

export function newRolloutId(now: Date): string {
  return `rollout-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
}

export const ROLLOUT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function prepareRollout(args: {
  rolloutId: string;
  startedBy: string;
  fleet: Fleet;
  policy: Policy;
  now: Date;
}): RolloutInput {
  if (!ROLLOUT_ID_PATTERN.test(args.rolloutId))
    throw UsageError.of(
      '--id',
      'must start with a letter or digit and hold only letters, digits, ".", "_" or "-" (at most 100)',
    );
  const plan = planOrThrow(args.fleet, args.policy);
  return buildRolloutInput({ ...args, plan });
}

/**
 * Starts a rollout; "already started" with the same ID counts as success (the start is idempotent).
 * A large rollout's regions go to the spec store as slices first (docs/scale.md); small ones travel inline.
 */
export async function startRollout(
  client: Client,
  input: RolloutInput,
  options: { simulated?: SimulatedMarker } = {},
): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const workflowId = rolloutWorkflowId(input.rolloutId);
  const machines = machineCountOf(input);
  try {
    await client.workflow.start('rolloutWorkflow', {
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowId,
      args: [stageRolloutInput(input)],
      // The simulated machines, for status and reports to name (the workflows never read it).
      ...(options.simulated ? { memo: { [SIMULATED_MEMO_KEY]: options.simulated } } : {}),
      staticSummary: `Offpeak rollout ${input.rolloutId}: ${machines} machine(s) in ${input.phases.length} phase(s), ${input.settings.month} (${input.settings.monthType})`,
      typedSearchAttributes: [
        { key: SA.kind, value: 'rollout' },
        { key: SA.rollout, value: input.rolloutId },
      ],
    });
    return { workflowId, alreadyStarted: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, alreadyStarted: true };
    throw err;
  }
}

/**
 * A report, with what could not be read when its machines were assembled from their attempts, and the
 * machines the simulator "patched" (from the rollout's memo; each such machine is marked `simulated`).
 */
export type AssembledReport = Omit<RolloutReport, 'machines'> & {
  machines: Array<MachineReport & { simulated?: true }>;
  notes?: string[];
  simulated?: SimulatedMarker;
};

/** Marks the simulated machines of a report, as its rollout's memo names them. */
function withSimulated<R extends Pick<RolloutReport, 'machines'>>(
  report: R,
  memo: unknown,
): R & AssembledReport {
  const marker = (memo as Record<string, unknown> | undefined)?.[SIMULATED_MEMO_KEY] as
    SimulatedMarker | undefined;
  if (!marker) return report as R & AssembledReport;
  return {
    ...report,
    simulated: marker,
    machines: report.machines.map((m) =>
      isSimulated(marker, m.name) ? { ...m, simulated: true as const } : m,
    ),
  } as R & AssembledReport;
}

/**
 * The rollout's report. A sliced rollout's status and result leave the machines out (`paged`): with
 * `machines: true` they are read and the report is assembled in its documented shape, from the attempts'
 * workflows when the rollout keeps tallies only (`paged.regions[].slices`), else page by page.
 */
export async function rolloutReport(
  client: Client,
  rolloutId: string,
  options: { machines?: boolean } = {},
): Promise<AssembledReport> {
  const handle = client.workflow.getHandle(rolloutWorkflowId(rolloutId));
  try {
    const described = await handle.describe();
    // A closed rollout returns its report as its result; queries would need a worker to replay it.
    const report =
      described.status.name === 'COMPLETED'
        ? ((await handle.result()) as RolloutReport)
        : await handle.query(statusQuery);
    if (!report.paged || !options.machines) return withSimulated(report, described.memo);
    const { paged, ...rest } = report;
    const pages = async () => {
      const machines: MachineReport[] = [];
      for (;;) {
        const page = await handle.query(machinesQuery, machines.length, MACHINE_PAGE_LIMIT);
        machines.push(...page);
        if (page.length < MACHINE_PAGE_LIMIT) return machines;
      }
    };
    if (paged.regions.some((r) => r.slices)) {
      // A running tallied rollout keeps its exclusions out of its status: its `machines` pages hold them.
      const excluded =
        paged.excluded ??
        (await pages()).map((m) => ({ name: m.name, region: m.region, reason: m.detail ?? '' }));
      const summary = { ...report, paged: { ...paged, excluded } };
      const { machines, notes } = await machinesFromAttempts(client, summary, described);
      return withSimulated({ ...rest, machines, ...(notes.length ? { notes } : {}) }, described.memo);
    }
    return withSimulated({ ...rest, machines: await pages() }, described.memo);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message))
      throw UsageError.of(
        'ID',
        `no rollout "${rolloutId}" (workflow ${rolloutWorkflowId(rolloutId)} not found)`,
      );
    throw err;
  }
}
