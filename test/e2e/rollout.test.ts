import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { loadFleet, loadPolicy } from '../../client/input';
import { prepareRollout } from '../../client/prepare';
import { startRollout } from '../../client/temporal';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import { FINAL_ROLLOUT_STATUSES } from '../../domain/outcomes';
import { rolloutReport } from '../../client/report';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { RolloutReport } from '../../workflows/messages';
import { checkAvailability, checkLedger, spansOf } from '../support/availability-check';
import { tempDir } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { devServerForFile } from '../support/server-hooks';

jest.setTimeout(240_000);

const examples = join(__dirname, '..', '..', 'examples');

let server: DevServer;
devServerForFile((s) => (server = s));

test('the example fleet rolls out on a real dev server and keeps every availability rule, as the ledger confirms', async () => {
  const fleet = loadFleet(join(examples, 'fleet.yaml'));
  // The demo's simulationSpeed (0.01) would pace this rollout; a tenth of it keeps the test quick.
  const policy = { ...loadPolicy(join(examples, 'policy-demo.yaml')), simulationSpeed: 0.001 };
  const input = prepareRollout({
    rolloutId: 'e2e-example-fleet',
    startedBy: 'tester',
    fleet,
    policy,
    now: new Date(),
  });
  const stateDir = tempDir('e2e');

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

  const approved: string[] = [];
  let report: RolloutReport;
  try {
    report = await worker.runUntil(async () => {
      await startRollout(client, input);
      const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
      // Synchronise on the rollout's own state: approve each gate once it is open, until the end.
      for (;;) {
        const status = await handle.query(statusQuery);
        if (FINAL_ROLLOUT_STATUSES.has(status.status)) break;
        if (status.openGate && !approved.includes(status.openGate)) {
          approved.push(status.openGate);
          const decision = await handle.executeUpdate(approveUpdate, {
            args: [{ gate: status.openGate, by: 'alice' }],
          });
          expect(decision).toEqual({ accepted: true });
        }
        await delay(250); // poll pacing only
      }
      await handle.result();
      return rolloutReport(client, input.rolloutId, { patches: true });
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }

  expect(report.status).toBe('Completed');
  expect(approved).toEqual(['phase-1']);
  expect(report.gates.map((g) => [g.name, g.decision, g.by])).toEqual([['phase-1', 'approved', 'alice']]);
  expect(report.phases.map((p) => p.status)).toEqual(report.phases.map(() => 'Succeeded'));

  // The availability rules hold over the recorded disruptive spans, and the ledger agrees with them.
  expect(checkAvailability(report, fleet, policy)).toEqual([]);
  expect(checkLedger(report, await readLedger(stateDir))).toEqual([]);

  // The check is not vacuous: most machines were disrupted, in every phase.
  const disrupted = report.machines.filter((m) => spansOf(m).spans.length > 0);
  expect(disrupted.length).toBeGreaterThan(150);
  for (const phase of report.phases)
    expect(disrupted.some((m) => phase.regions.includes(m.region))).toBe(true);
  expect(report.machines.filter((m) => m.outcome === 'Excluded')).toHaveLength(18);

  // The fleet's simulated faults ended as the fleet file says they would.
  const byName = new Map(report.machines.map((m) => [m.name, m]));
  const attempts = (name: string) => byName.get(name)!.attempts.map((a) => a.outcome);
  expect(attempts('wus-web-03')).toEqual(['Unhealthy']);
  expect(attempts('neu-cache-04')).toEqual(['Unreachable', 'Succeeded']);
  expect(attempts('weu-api-02')).toEqual(['InstallFailed', 'InstallFailed', 'InstallFailed']);
  expect(attempts('aue-web-05')).toEqual(['Pending', 'Succeeded']);
  expect(report.errors).toEqual({ count: 2, allowed: 10 });
  const others = report.machines.filter(
    (m) =>
      m.outcome !== 'Excluded' &&
      !['wus-web-03', 'neu-cache-04', 'weu-api-02', 'aue-web-05'].includes(m.name),
  );
  expect(others.filter((m) => m.outcome !== 'Succeeded' || m.attempts.length !== 1)).toEqual([]);
});
