import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import type { Fleet } from '../domain/fleet';
import type { Policy } from '../domain/policy';
import { resolveTemporal, type TemporalTarget } from '../servers/connection';
import { SA } from '../servers/search-attributes';
import { rolloutWorkflowId } from '../workflows/ids';
import { machinesQuery, statusQuery } from '../workflows/rollout';
import { stageRolloutInput } from '../activities/spec-store';
import { machineCountOf } from '../domain/spec-slices';
import { MACHINE_PAGE_LIMIT, type MachineReport, type RolloutReport } from '../workflows/rollout-state';
import { OperationError, UsageError } from './errors';
import { prepareOrThrow } from './commands/plan';
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

export { newRolloutId, ROLLOUT_ID_PATTERN } from '../domain/pre-start';

/** The rollout's input, checked exactly as `offpeak plan` checks it (domain/pre-start.ts). */
export function prepareRollout(args: {
  rolloutId: string;
  startedBy: string;
  fleet: Fleet;
  policy: Policy;
  now: Date;
}): RolloutInput {
  return prepareOrThrow(args).input;
}

/**
 * Starts a rollout; "already started" with the same ID counts as success (the start is idempotent).
 * A large rollout's regions go to the spec store as slices first (docs/scale.md); small ones travel inline.
 */
export async function startRollout(
  client: Client,
  input: RolloutInput,
): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const workflowId = rolloutWorkflowId(input.rolloutId);
  const machines = machineCountOf(input);
  try {
    await client.workflow.start('rolloutWorkflow', {
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowId,
      args: [stageRolloutInput(input)],
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

/** A report, with what could not be read when its machines were assembled from their attempts. */
export type AssembledReport = RolloutReport & { notes?: string[] };

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
    if (!report.paged || !options.machines) return report;
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
      return { ...rest, machines, ...(notes.length ? { notes } : {}) };
    }
    return { ...rest, machines: await pages() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message))
      throw UsageError.of(
        'ID',
        `no rollout "${rolloutId}" (workflow ${rolloutWorkflowId(rolloutId)} not found)`,
      );
    throw err;
  }
}
