import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import { machineCountOf } from '../domain/spec-slices';
import { resolveTemporal, type TemporalTarget } from '../servers/connection';
import { stageRolloutInput } from '../store/spec-store';
import { rolloutWorkflowId } from '../workflows/ids';
import { SA } from '../workflows/messages';
import { OperationError } from './errors';
import { SIMULATED_MEMO_KEY, type SimulatedMarker } from '../domain/simulated';

/**
 * What the client may receive in one message: a page of a large rollout's history passes gRPC's default
 * 4 MB. The SDK sets its own 128 MB under `max_receive_message_length`, a key grpc-js does not read, so
 * the limit is set here under the key grpc-js reads (the worker's core client allows 128 MB already).
 */
export const RECEIVE_LIMIT = { 'grpc.max_receive_message_length': 128 * 1024 * 1024 };

export async function connectClient(
  target?: TemporalTarget,
): Promise<{ client: Client; target: TemporalTarget }> {
  const t = target ?? (await resolveTemporal({ embedded: false }));
  try {
    const connection = await Connection.connect({
      ...t.connectionOptions,
      connectTimeout: 5000,
      channelArgs: RECEIVE_LIMIT,
    });
    return { client: new Client({ connection, namespace: t.namespace }), target: t };
  } catch (err) {
    throw new OperationError(
      `cannot reach Temporal at ${t.connectionOptions.address}: ${(err as Error).message}\n` +
        'Start a local server with `npx offpeak dev-server`, or set TEMPORAL_ADDRESS (see README "Pointing at a cluster").',
    );
  }
}

/**
 * Starts a rollout; "already started" with the same ID counts as success (the start is idempotent).
 * A large rollout's slices go to the spec store first (docs/scale.md); small ones travel inline.
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
      staticSummary: `Offpeak rollout ${input.rolloutId}: ${machines} machine(s) in ${input.phases.length} phase(s), ${input.settings.month} (${input.settings.monthType})`,
      staticDetails: rolloutDetails(input),
      // The month lets `rollout list --month` filter from visibility alone.
      memo: {
        offpeak: { kind: 'rollout', month: input.settings.month, monthType: input.settings.monthType },
        // The simulated machines, for status and reports to name (the workflows never read it).
        ...(options.simulated ? { [SIMULATED_MEMO_KEY]: options.simulated } : {}),
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
/**
 * The rollout's plan as the Temporal UI shows it beside its summary (User Metadata, Markdown): its phases
 * with their regions and machines, gates and budget, and the commands that follow it.
 */
export function rolloutDetails(input: RolloutInput): string {
  const { approvals, errorBudget, deadline, maxAttempts } = input.settings;
  const gated = (i: number) => approvals.beforePhases === 'all' || approvals.beforePhases.includes(i);
  const phases = input.phases.map((p) => {
    const regions = input.regions.filter((r) => r.phase === p.index);
    const machines = regions.reduce((n, r) => n + r.machineCount, 0);
    const list = regions.map((r) => `${r.region} (${r.machineCount})`).join(', ');
    return `- Phase ${p.index}${gated(p.index) ? ' (gate: needs an approval)' : ''}: ${machines} machine(s) in ${list}`;
  });
  const id = input.rolloutId;
  return [
    `**Plan**: ${input.phases.length} phase(s), error budget ${errorBudget}, at most ${maxAttempts} attempt(s) a machine, deadline ${new Date(deadline).toISOString()}`,
    '',
    ...phases,
    ...(input.excluded.length ? ['', `${input.excluded.length} machine(s) excluded (see the report).`] : []),
    '',
    `**Follow**: \`offpeak rollout watch ${id}\` · \`offpeak rollout status ${id}\` · \`offpeak rollout report ${id} --html ${id}.html\``,
  ].join('\n');
}

/**
 * A live worker polls again at once after each long poll (at most about a minute): one not seen for this
 * long has stopped, though the server still lists it for a few minutes.
 */
export const LIVE_POLLER_MS = 90_000;

/**
 * How many workers poll `taskQueue` for workflow tasks (DescribeTaskQueue's pollers: those seen in the
 * last few minutes; with `withinMs`, only those seen that recently). Undefined when the server does not
 * say (an older server, no permission).
 */
export async function workflowPollers(
  client: Client,
  taskQueue: string = DEFAULT_TASK_QUEUE,
  withinMs?: number,
): Promise<number | undefined> {
  try {
    const described = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const pollers = described.pollers ?? [];
    if (withinMs === undefined) return pollers.length;
    const since = Date.now() - withinMs;
    // A poller without a time is counted: only the server's word that it is old rules it out.
    return pollers.filter((p) => (optionalTsToMs(p.lastAccessTime) ?? Infinity) >= since).length;
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
