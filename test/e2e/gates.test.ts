import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { rolloutReport } from '../../client/report';
import { rolloutView } from '../../client/rollout-view';
import { startRollout } from '../../client/temporal';
import { viewLines } from '../../client/watch';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { cancelUpdate, regionStatusQuery, statusQuery } from '../../workflows/messages';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { waitUntil } from '../support/workflow-harness';
import { devServerForFile } from '../support/server-hooks';

jest.setTimeout(240_000);

let server: DevServer;
devServerForFile((s) => (server = s));

// The measurement: 31 machines under `errorBudget: "5%"` (2 errors rollout-wide), a one-machine
// canary whose install always fails, then 30 machines. On the old rule the canary was promoted.
test('on a dev server, a failed canary never promotes under a budget the rollout would allow: no machine of the next phase starts, and status names it', async () => {
  const fleet = {
    machines: [
      vm('c1', { region: 'centralus', simulation: { failInstall: true } }),
      ...Array.from({ length: 30 }, (_, i) =>
        vm(`w${i + 1}`, { region: 'westus', zone: String((i % 3) + 1) }),
      ),
    ],
  };
  const input = rolloutInputOf({
    rolloutId: 'e2e-canary-budget',
    fleet,
    policy: { windows: 'always', errorBudget: '5%', phases: [['centralus'], ['westus']] },
    now: new Date(),
  });
  const stateDir = tempDir('e2e-canary');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(stateDir, 0)),
  });
  const { halted, lines, report } = await worker.runUntil(async () => {
    await startRollout(client, input);
    const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
    const halted = await waitUntil(
      () => handle.query(statusQuery),
      (s) => s.status === 'Halted',
      'the canary to halt the rollout',
      60_000,
    );
    // The canary's region holds before its retry; nothing else runs until a person decides.
    await waitUntil(
      () =>
        client.workflow.getHandle(regionWorkflowId(input.rolloutId, 'centralus')).query(regionStatusQuery),
      (s) => s.hold !== null,
      'the canary region to hold',
      60_000,
    );
    const lines = viewLines(input.rolloutId, await rolloutView(client, input.rolloutId));
    expect(await handle.executeUpdate(cancelUpdate, { args: [{ by: 'bob', reason: 'bad patch' }] })).toEqual({
      accepted: true,
    });
    await handle.result();
    return { halted, lines, report: await rolloutReport(client, input.rolloutId, { patches: false }) };
  });
  await connection.close();

  expect(halted.errors).toEqual({ count: 1, allowed: 2 }); // the rollout's budget alone would go on
  expect(halted.reason).toBe(
    'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: c1 InstallFailed',
  );
  expect(lines[0]).toMatch(/^Rollout e2e-canary-budget: Halted/);
  expect(lines.slice(1, 3)).toEqual([
    '  failed machines (the first 10 of each phase):',
    '    c1  InstallFailed    centralus, phase 0',
  ]);
  expect(report.status).toBe('Canceled');
  expect(report.phases.map((p) => p.status)).toEqual(['Halted', 'Skipped']);
  const west = report.machines.filter((m) => m.region === 'westus');
  expect(west).toHaveLength(30);
  expect(west.every((m) => m.outcome === 'NotStarted' && m.attempts.length === 0)).toBe(true);
  const touched = new Set((await readLedger(stateDir)).map((e) => e.machine));
  expect([...touched].filter((m) => m.startsWith('w'))).toEqual([]);
});
