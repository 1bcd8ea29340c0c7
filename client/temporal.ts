import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { buildRolloutInput, DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import type { Fleet } from '../domain/fleet';
import type { Policy } from '../domain/policy';
import { resolveTemporal, type TemporalTarget } from '../servers/connection';
import { SA } from '../servers/search-attributes';
import { rolloutWorkflowId } from '../workflows/ids';
import { machinesQuery, statusQuery } from '../workflows/rollout';
import { stageRolloutInput } from '../activities/spec-store';
import { machineCountOf } from '../domain/spec-slices';
import { MACHINE_PAGE_LIMIT, type MachineReport, type RolloutReport } from '../workflows/rollout-state';
import { NotFoundError, OperationError, UsageError } from './errors';
import { planOrThrow } from './commands/plan';
import { machinesFromAttempts } from './machine-attempts';
import { shortReason } from './rollout-view';

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
): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const workflowId = rolloutWorkflowId(input.rolloutId);
  const machines = machineCountOf(input);
  try {
    await client.workflow.start('rolloutWorkflow', {
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowId,
      args: [stageRolloutInput(input)],
      staticSummary: `Offpeak rollout ${input.rolloutId}: ${machines} machine(s) in ${input.phases.length} phase(s), ${input.settings.month} (${input.settings.monthType})`,
      // The month lets `rollout list --month` filter from visibility alone.
      memo: {
        offpeak: { kind: 'rollout', month: input.settings.month, monthType: input.settings.monthType },
      },
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

/** Longer than `status`'s: a report may wait for a busy worker to replay a long history. */
const REPORT_QUERY_TIMEOUT_MS = 10_000;

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
  // A running rollout's report needs a worker to answer: bounded, and said plainly when none does.
  const ask = <T>(query: () => Promise<T>): Promise<T> =>
    client.connection.withDeadline(Date.now() + REPORT_QUERY_TIMEOUT_MS, query).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw err;
      throw new OperationError(
        `rollout ${rolloutId} is running and its report needs a worker (${shortReason(err, REPORT_QUERY_TIMEOUT_MS)}): start one with \`offpeak worker\`; \`offpeak rollout status ${rolloutId}\` shows what the server keeps`,
      );
    });
  try {
    const described = await handle.describe();
    // A closed rollout returns its report as its result; queries would need a worker to replay it.
    const report =
      described.status.name === 'COMPLETED'
        ? ((await handle.result()) as RolloutReport)
        : await ask(() => handle.query(statusQuery));
    if (!report.paged || !options.machines) return report;
    const { paged, ...rest } = report;
    const pages = async () => {
      const machines: MachineReport[] = [];
      for (;;) {
        const page = await ask(() => handle.query(machinesQuery, machines.length, MACHINE_PAGE_LIMIT));
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
      throw new NotFoundError(
        'ID',
        `no rollout "${rolloutId}" (workflow ${rolloutWorkflowId(rolloutId)} not found)`,
      );
    throw err;
  }
}

/**
 * How many workers poll `taskQueue` for workflow tasks (DescribeTaskQueue's pollers: those seen in the
 * last few minutes). Undefined when the server does not say (an older server, no permission).
 */
export async function workflowPollers(
  client: Client,
  taskQueue: string = DEFAULT_TASK_QUEUE,
): Promise<number | undefined> {
  try {
    const described = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return described.pollers?.length ?? 0;
  } catch {
    return undefined;
  }
}

/** The warning `rollout start`, `install` and `assess` print when no worker would pick their work up. */
export async function noWorkerWarning(client: Client): Promise<string | undefined> {
  if ((await workflowPollers(client)) !== 0) return undefined;
  return (
    `Warning: no worker polls task queue "${DEFAULT_TASK_QUEUE}" in namespace "${client.options.namespace}": ` +
    'it waits until one starts (`offpeak worker`).'
  );
}
