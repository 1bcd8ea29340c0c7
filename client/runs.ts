import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;

/**
 * Every run of a workflow that continued as new, first to last, each with its history: the latest run's
 * start names the run it continued (`continuedExecutionRunId`), and so on back to the first.
 */
export async function runsOf(
  client: Client,
  workflowId: string,
): Promise<Array<{ runId: string; history: History }>> {
  const latest = client.workflow.getHandle(workflowId);
  let runId: string | undefined = (await latest.describe()).runId;
  const runs: Array<{ runId: string; history: History }> = [];
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift({ runId, history });
    runId = history.events![0].workflowExecutionStartedEventAttributes!.continuedExecutionRunId ?? undefined;
  }
  return runs;
}
