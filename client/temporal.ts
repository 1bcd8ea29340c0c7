import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import { machineCountOf } from '../domain/spec-slices';
import { resolveTemporal, type TemporalTarget } from '../servers/connection';
import { stageRolloutInput } from '../store/spec-store';
import { rolloutWorkflowId } from '../workflows/ids';
import { SA } from '../workflows/messages';
import { OperationError } from './errors';

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

/**
 * Starts a rollout; "already started" with the same ID counts as success (the start is idempotent).
 * A large rollout's slices go to the spec store first (docs/scale.md); small ones travel inline.
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
