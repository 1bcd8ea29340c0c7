import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readLeases } from '../../client/commands/leases';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { FLEET_GUARD_ID, leaseAnswerSignal } from '../../workflows/messages';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { waitUntil } from '../support/workflow-harness';
import { devServerForFile } from '../support/server-hooks';

jest.setTimeout(120_000);

let server: DevServer;
devServerForFile((s) => (server = s));

/**
 * A holder whose worker died: its region runs on its own task queue, with its own worker, which stops
 * while the step holds its lease (its machine's install still running elsewhere). Once the region has a
 * workflow task nobody picks up for `staleMs`, the guard frees its lease and the waiting run goes on.
 */
test('a holder whose worker is gone loses its lease once a task of it stays unpicked', async () => {
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const stateDir = tempDir('guard-death');
  const worker = (taskQueue: string) =>
    Worker.create({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: testWorkflowBundle(),
      activities: createActivities(simulatedDrivers(stateDir, 1)),
      // The long install is cut short when the test ends.
      shutdownForceTime: '3 seconds',
    });
  const now = new Date();
  // A long install (simulated at full speed) keeps the first run's step, and its lease, busy.
  const fleet = { machines: [vm('d1', { zone: '1', simulation: { installSeconds: 30 } })] };
  const input = (rolloutId: string) =>
    rolloutInputOf({ rolloutId, fleet, policy: { windows: 'always' }, now });
  const main = await worker(DEFAULT_TASK_QUEUE);
  const doomed = await worker('offpeak-doomed');
  try {
    await main.runUntil(async () => {
      await client.workflow.start('fleetGuardWorkflow', {
        workflowId: FLEET_GUARD_ID,
        taskQueue: DEFAULT_TASK_QUEUE,
        args: [{ checkMs: 500, staleMs: 2000 }],
      });
      await doomed.runUntil(async () => {
        await client.workflow.start('rolloutWorkflow', {
          taskQueue: 'offpeak-doomed',
          workflowId: rolloutWorkflowId('doomed-one'),
          args: [input('doomed-one')],
        });
        await waitUntil(
          () => readLeases(client),
          (v) => v.held.some((l) => l.rolloutId === 'doomed-one'),
          'doomed-one to hold its lease',
        );
      });
      // The region's worker is gone. The second run waits for the machine the first holds.
      await client.workflow.start('rolloutWorkflow', {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: rolloutWorkflowId('live-two'),
        args: [input('live-two')],
      });
      await waitUntil(
        () => readLeases(client),
        (v) => v.waiting.length === 1,
        'live-two to wait',
      );
      // Something for the dead region to do (any signal schedules a workflow task): nobody picks it up.
      await client.workflow
        .getHandle(regionWorkflowId('doomed-one', 'eastus'))
        .signal(leaseAnswerSignal, { leaseId: 'nudge', granted: false });
      const view = await waitUntil(
        () => readLeases(client),
        (v) => v.held.some((l) => l.rolloutId === 'live-two'),
        'live-two to be granted',
      );
      expect(view.expired.map((l) => l.rolloutId)).toEqual(['doomed-one']);
      for (const id of ['doomed-one', 'live-two']) {
        await client.workflow.getHandle(rolloutWorkflowId(id)).terminate('test over');
        await client.workflow.getHandle(regionWorkflowId(id, 'eastus')).terminate('test over');
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});
