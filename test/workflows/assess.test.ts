import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { machineSpecOf } from '../../domain/rollout-spec';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { SA } from '../../workflows/messages';
import { simulatedDrivers } from '../../worker/worker';
import { assessWorkflowId } from '../../workflows/ids';
import type { AssessmentResult } from '../../workflows/messages';
import { fleetOf, tempDir, vm } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { timeSkippingServer } from '../support/server-hooks';

jest.setTimeout(60_000);

let env: TestWorkflowEnvironment;
timeSkippingServer('file', (e) => (env = e));

test('an on-demand assessment returns the available patches by classification, installs nothing, and is found by machine', async () => {
  const stateDir = tempDir('assess');
  const fleet = fleetOf({
    machines: [vm('ok-1', { patchMode: 'Manual' }), vm('gone-1', { simulation: { unreachable: true } })],
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(stateDir, 0)),
  });
  const [ok, gone] = await worker.runUntil(async () => {
    const results: AssessmentResult[] = [];
    for (const m of fleet.machines)
      results.push(
        await env.client.workflow.execute('assessWorkflow', {
          taskQueue: DEFAULT_TASK_QUEUE,
          workflowId: assessWorkflowId(m.name, 't1'),
          args: [{ machine: machineSpecOf(m), requestedBy: 'carol' }],
        }),
      );
    return results;
  });
  expect(ok.outcome).toBe('Succeeded');
  expect(ok.patches.length).toBeGreaterThan(0);
  const count = (c: string) => ok.patches.filter((p) => p.classification === c).length;
  expect(ok.counts).toEqual({
    critical: count('Critical'),
    security: count('Security'),
    other: count('Other'),
  });
  expect(gone).toMatchObject({ outcome: 'Unreachable', patches: [] });
  expect((await readLedger(stateDir)).filter((e) => e.kind === 'install')).toEqual([]);
  const described = await env.client.workflow.getHandle(assessWorkflowId('ok-1', 't1')).describe();
  expect(described.typedSearchAttributes.get(SA.kind)).toBe('assessment');
  expect(described.typedSearchAttributes.get(SA.machine)).toBe('ok-1');
  expect(described.typedSearchAttributes.get(SA.outcome)).toBe('Succeeded');
});
