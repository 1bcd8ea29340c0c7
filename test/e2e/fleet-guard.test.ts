import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { installInput } from '../../client/commands/install';
import { loadFleet, loadPolicy } from '../../client/input';
import { prepareRollout } from '../../client/prepare';
import { rolloutReport } from '../../client/report';
import { startRollout } from '../../client/temporal';
import { FINAL_ROLLOUT_STATUSES } from '../../domain/outcomes';
import type { Policy } from '../../domain/policy';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import { statusQuery, type RolloutReport } from '../../workflows/messages';
import { readLeases } from '../../client/commands/leases';
import { checkAcrossRuns, checkLedger, spansOf } from '../support/availability-check';
import { tempDir } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { devServerForFile } from '../support/server-hooks';

jest.setTimeout(300_000);

const examples = join(__dirname, '..', '..', 'examples');

let server: DevServer;
devServerForFile((s) => (server = s));

test('two rollouts of the example fleet and an install, started together, all complete and together keep every rule', async () => {
  const fleet = loadFleet(join(examples, 'fleet.yaml'));
  // Every run reboots what it patches, so each disrupts its machines (a second run would otherwise find
  // nothing to do); no gates, and a fast simulation.
  const policy: Policy = {
    ...loadPolicy(join(examples, 'policy-demo.yaml')),
    rebootSetting: 'Always',
    approvals: { beforePhases: [], approvers: [], fourEyes: false },
    simulationSpeed: 0.001,
  };
  const now = new Date();
  const rollout = (rolloutId: string) =>
    prepareRollout({ rolloutId, startedBy: 'tester', fleet, policy, now });
  const install = installInput(
    fleet,
    policy,
    { rolloutId: 'e2e-guard-install', by: 'tester', machines: ['eus-db-01', 'eus-db-02'], unsafe: false },
    now,
  );
  const inputs: RolloutInput[] = [rollout('e2e-guard-one'), rollout('e2e-guard-two'), install];
  const stateDir = tempDir('e2e-guard');

  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(stateDir, 0.001)),
    maxConcurrentActivityTaskExecutions: 200,
  });

  let reports: RolloutReport[];
  let sawWaiting = false;
  try {
    reports = await worker.runUntil(async () => {
      // No guard runs yet: `offpeak leases` shows an empty book, not an error.
      expect(await readLeases(client)).toEqual({ held: [], waiting: [], expired: [] });
      await Promise.all(
        inputs.map((input) =>
          input.rolloutId === install.rolloutId
            ? client.workflow.start('rolloutWorkflow', {
                taskQueue: DEFAULT_TASK_QUEUE,
                workflowId: rolloutWorkflowId(input.rolloutId),
                args: [input],
              })
            : startRollout(client, input),
        ),
      );
      const handles = inputs.map((i) => client.workflow.getHandle(rolloutWorkflowId(i.rolloutId)));
      // Synchronise on the runs' own state until all three ended; note whether anyone waited.
      for (;;) {
        const statuses = await Promise.all(handles.map((h) => h.query(statusQuery)));
        if (statuses.every((s) => FINAL_ROLLOUT_STATUSES.has(s.status))) break;
        if ((await readLeases(client)).waiting.length > 0) sawWaiting = true;
        await delay(250); // poll pacing only
      }
      await Promise.all(handles.map((h) => h.result()));
      // Every lease was given back.
      expect(await readLeases(client)).toMatchObject({ held: [], waiting: [] });
      return Promise.all(inputs.map((i) => rolloutReport(client, i.rolloutId, { patches: true })));
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }

  for (const r of reports) expect([r.rolloutId, r.status]).toEqual([r.rolloutId, 'Completed']);
  const installed = reports[2];
  expect(installed.machines.map((m) => [m.name, m.outcome])).toEqual([
    ['eus-db-01', 'Succeeded'],
    ['eus-db-02', 'Succeeded'],
  ]);
  // The runs really met: someone waited for the guard.
  expect(sawWaiting).toBe(true);

  // Taken together, the three reports keep every rule, and the ledger agrees with each of them.
  expect(checkAcrossRuns(reports, fleet, policy)).toEqual([]);
  const ledger = await readLedger(stateDir);
  for (const r of reports)
    expect(
      checkLedger(
        r,
        ledger.filter((e) => e.operation === r.rolloutId),
      ),
    ).toEqual([]);

  // Not vacuous: each rollout disrupted most of the fleet, and the install both its machines.
  for (const r of reports.slice(0, 2))
    expect(r.machines.filter((m) => spansOf(m).spans.length > 0).length).toBeGreaterThan(150);
  expect(installed.machines.every((m) => spansOf(m).spans.length === 1)).toBe(true);
});
