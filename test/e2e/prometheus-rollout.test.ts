import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { prometheusSource } from '../../activities/signals/prometheus';
import { startRollout } from '../../client/temporal';
import { prometheusSignalSchema } from '../../domain/health-signals';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { fleetDrivers, simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import { cancelUpdate, statusQuery } from '../../workflows/messages';
import { startExporter, startPrometheus, type Exporter, type RunningPrometheus } from '../support/prometheus';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { testDevServer, testWorkflowBundle } from '../support/servers';
import { within } from '../support/hang-report';
import { waitUntil } from '../support/workflow-harness';

/**
 * Issue 11's end to end: a rollout on a dev server whose policy asks a real Prometheus, with the worker's
 * own Prometheus client (fleetDrivers). An alert firing for the region halts the rollout after the step
 * that ran, naming the alert and its labels: the next zone and the next phase never start.
 */

jest.setTimeout(240_000);

const RULES = `
groups:
  - name: offpeak-rollout
    interval: 1s
    rules:
      - alert: HighErrorRate
        expr: offpeak_test_errors > 0
        labels: { severity: page }
`;

let server: DevServer;
let exporter: Exporter;
let prometheus: RunningPrometheus;
beforeAll(async () => {
  server = await testDevServer();
  exporter = await startExporter({ 'offpeak_test_errors{region="eastus",service="web"}': 1 });
  prometheus = await startPrometheus(exporter, RULES);
});
afterAll(async () => {
  await prometheus?.stop();
  await exporter?.close();
  await server?.stop();
});

test('on a dev server, an alert firing in Prometheus for the running region halts the rollout before its next step, naming the alert', async () => {
  // The alert fires before the rollout starts (polled through Prometheus's API, never slept for).
  const signal = prometheusSignalSchema.parse({ url: prometheus.url, alerts: ['HighErrorRate'] });
  await waitUntil(
    () => prometheusSource().check({ prometheus: signal, regions: ['eastus'], services: [] }),
    (v) => v.status === 'firing',
    'HighErrorRate to fire',
    30_000,
  );
  const fleet = {
    machines: [
      vm('e1', { zone: '1' }),
      vm('e2', { zone: '2' }),
      vm('e3', { zone: '3' }),
      vm('w1', { region: 'westus' }),
    ],
  };
  const input = rolloutInputOf({
    rolloutId: 'e2e-prometheus-halt',
    fleet,
    policy: {
      windows: 'always',
      phases: [['eastus'], ['westus']],
      health: { prometheus: { url: prometheus.url, alerts: ['HighErrorRate'], intervalSeconds: 5 } },
    },
    now: new Date(),
  });
  const stateDir = tempDir('e2e-prometheus');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(fleetDrivers(simulatedDrivers(stateDir, 0))),
  });
  // Each wait is bounded and, should it hang, fails naming the stage with every workflow's state (seen
  // once in CI: the test hit Jest's timeout and the log could not say where).
  let stage = 'the rollout to start';
  const run = worker.runUntil(async () => {
    await startRollout(client, input);
    const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
    stage = 'the alert to halt the rollout';
    const halted = await waitUntil(
      () => handle.query(statusQuery),
      (s) => s.status === 'Halted',
      stage,
      60_000,
    );
    stage = 'the cancel to be accepted';
    await handle.executeUpdate(cancelUpdate, { args: [{ by: 'bob', reason: 'alert' }] });
    stage = 'the cancelled rollout to end';
    await handle.result();
    stage = "the worker's shutdown";
    return halted;
  });
  const halted = await within(
    run,
    150_000,
    () => stage,
    client,
    () => worker.shutdown(),
  );
  await connection.close();

  expect(halted.reason).toMatch(/^health signal firing: HighErrorRate\{.*region="eastus".*\}/);
  expect(halted.reason).toContain('service="web"');
  // One step (zone 1) ran before the first check; zones 2 and 3 and westus never started.
  const installed = new Set(
    (await readLedger(stateDir)).filter((e) => e.kind === 'install').map((e) => e.machine),
  );
  expect([...installed]).toEqual(['e1']);
});
