import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { RECEIVE_LIMIT } from '../client/temporal';
import { DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import { simulatedDrivers } from '../worker/worker';

/**
 * A benchmark's worker and client on its dev server at `address`: the simulated driver at zero
 * durations over fresh hosts (a new state folder named from `prefix`), with room for many machines at once;
 * `connection` is the worker's, to close once it has stopped.
 */
export async function benchWorkerAndClient(
  address: string,
  workflowsPath: string,
  prefix: string,
): Promise<{ worker: Worker; client: Client; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowsPath,
    activities: createActivities(simulatedDrivers(mkdtempSync(join(tmpdir(), prefix)), 0)),
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
  });
  // The bench reads whole histories, whose pages pass gRPC's default 4 MB for a crowded region's run.
  return {
    worker,
    connection,
    client: new Client({ connection: await Connection.connect({ address, channelArgs: RECEIVE_LIMIT }) }),
  };
}
