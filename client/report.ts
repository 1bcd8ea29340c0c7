import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { rolloutWorkflowId } from '../workflows/ids';
import {
  STATUS_MEMO_KEY,
  statusQuery,
  type RolloutReport,
  type RolloutSummary,
  type RolloutWorkflowInput,
} from '../workflows/messages';
import { OperationError } from './errors';
import { isSimulated, SIMULATED_MEMO_KEY, type SimulatedMarker } from '../domain/simulated';
import { machinesFromAttempts, type AttemptReading } from './machine-attempts';
import { QUERY_TIMEOUT_MS, shortReason } from './rollout-view';
import { LIVE_POLLER_MS, workflowPollers } from './temporal';

/**
 * Reading a rollout, one way for every size: its summary (counts per region and phase, gates) from the
 * workflow, and for a full report its machines assembled from its plan (the input's slices) and its
 * machine attempts in visibility (`machine-attempts.ts`).
 */

/** The rollout does not exist: exit 1 ("not found" is not bad input). */
export function rolloutNotFound(rolloutId: string): OperationError {
  return new OperationError(`no rollout "${rolloutId}" (workflow ${rolloutWorkflowId(rolloutId)} not found)`);
}

async function describeRollout(client: Client, rolloutId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(rolloutWorkflowId(rolloutId)).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw rolloutNotFound(rolloutId);
    throw err;
  }
}

/** The rollout's simulated machines, as the client recorded them in its memo at start (domain/simulated.ts). */
async function simulatedOf(d: WorkflowExecutionDescription): Promise<SimulatedMarker | undefined> {
  return (await d.memo)?.[SIMULATED_MEMO_KEY] as SimulatedMarker | undefined;
}

/**
 * The summary: a completed rollout's result, a running one's status query, and otherwise (failed,
 * terminated) the last status it kept in its memo.
 */
export async function rolloutSummary(
  client: Client,
  rolloutId: string,
  described?: WorkflowExecutionDescription,
): Promise<RolloutSummary & { simulated?: SimulatedMarker; fromMemo?: string }> {
  const d = described ?? (await describeRollout(client, rolloutId));
  const handle = client.workflow.getHandle(d.workflowId, d.runId);
  const simulated = await simulatedOf(d);
  const marked = (s: RolloutSummary) => (simulated ? { ...s, simulated } : s);
  if (d.status.name === 'COMPLETED') return marked((await handle.result()) as RolloutSummary);
  const memo = (await d.memo)?.[STATUS_MEMO_KEY] as RolloutSummary | undefined;
  if (d.status.name === 'RUNNING') {
    // A running rollout answers through a worker, bounded; without one, the summary it keeps in its memo.
    const polled = await workflowPollers(client, d.taskQueue, LIVE_POLLER_MS);
    try {
      if (polled === 0) throw new Error(`no worker has polled task queue "${d.taskQueue}" recently`);
      return marked(
        await client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS * 3, () =>
          handle.query(statusQuery),
        ),
      );
    } catch (err) {
      const why = shortReason(err, QUERY_TIMEOUT_MS * 3);
      if (memo?.phases) return { ...marked(memo), fromMemo: why };
      throw new OperationError(
        `rollout ${rolloutId} is running and its report needs a worker (${why}): start one with \`offpeak worker\``,
      );
    }
  }
  if (!memo) throw new OperationError(`rollout ${rolloutId} ended ${d.status.name} and left no status`);
  return marked(memo);
}

/** The rollout's input, from the start of its latest run (every run carries the plan): no worker needed. */
export async function rolloutInput(
  client: Client,
  d: WorkflowExecutionDescription,
): Promise<RolloutWorkflowInput> {
  const history = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: d.workflowId, runId: d.runId },
    maximumPageSize: 1,
  });
  const started = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new OperationError(`rollout ${d.workflowId}: its history has no start event`);
  return decodeFromPayloadsAtIndex(client.workflow.options.loadedDataConverter, 0, started.input?.payloads);
}

/**
 * The full report: the summary and every machine, in the plan's order (excluded machines first). With
 * `patches`, each machine's patch list too (one attempt result read per patched machine).
 */
export async function rolloutReport(
  client: Client,
  rolloutId: string,
  options: AttemptReading = {},
): Promise<RolloutReport & { simulated?: SimulatedMarker }> {
  const described = await describeRollout(client, rolloutId);
  const summary = await rolloutSummary(client, rolloutId, described);
  const input = await rolloutInput(client, described);
  const { fromMemo, ...kept } = summary;
  const { machines, notes } = await machinesFromAttempts(client, kept, input, described, options);
  // No worker answered: the counts are those of the rollout's last step or phase, as its memo keeps them.
  if (fromMemo)
    notes.unshift(`${fromMemo}: the status is the one the rollout kept at its last step or phase`);
  // Each machine the simulator "patched" says so.
  const marked = kept.simulated
    ? machines.map((m) => (isSimulated(kept.simulated, m.name) ? { ...m, simulated: true as const } : m))
    : machines;
  return { ...kept, machines: marked, ...(notes.length ? { notes } : {}) };
}
