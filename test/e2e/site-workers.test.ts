import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type Drivers } from '../../activities';
import { readLedger } from '../../activities/drivers/simulated';
import { prepareRollout } from '../../client/prepare';
import { rolloutReport } from '../../client/report';
import { rolloutView } from '../../client/rollout-view';
import { viewLines } from '../../client/watch';
import { startRollout } from '../../client/temporal';
import { inlineSpecOf } from '../../domain/spec-slices';
import { DEFAULT_TASK_QUEUE, siteTaskQueue } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import type { RolloutReport } from '../../workflows/messages';
import { checkAvailability, checkLedger } from '../support/availability-check';
import { fleetOf, policyOf, tempDir, vm } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { waitUntil } from '../support/workflow-harness';
import { devServerForFile } from '../support/server-hooks';

/**
 * Issue 15, part 5 (first half): a `site`'s machine activities run only on that site's worker, which has
 * its own task queue and its own driver state (standing for the site's keys), while the orchestration
 * worker runs every workflow and the other machines' activities. Both are real workers on a real dev
 * server. And a site with no worker: its attempts say so (a schedule-to-start timeout), `rollout status`
 * lists them, and they keep waiting until the site's worker starts.
 */
jest.setTimeout(240_000);

const SITE = 'dublin';

let server: DevServer;
devServerForFile((s) => (server = s));

/** Drivers that note every machine they are asked for: which worker acted on which machine. */
function recording(inner: Drivers, seen: Set<string>): Drivers {
  return {
    forMachine(machine) {
      seen.add(machine.name);
      return inner.forMachine(machine);
    },
  };
}

test("a site's machines are patched only by the site's worker; the others by the orchestration worker", async () => {
  const site = { site: SITE };
  const fleet = fleetOf({
    regionPairs: { 'dc-dublin': null },
    machines: [
      vm('dub-1', { region: 'dc-dublin', ...site }),
      vm('dub-2', { region: 'dc-dublin', ...site }),
      vm('dub-3', { region: 'dc-dublin', ...site }),
      vm('neu-1', { region: 'northeurope', zone: '1', ...site }),
      vm('neu-2', { region: 'northeurope', zone: '2' }),
      vm('eus-1', { region: 'eastus', zone: '1' }),
      vm('eus-2', { region: 'eastus', zone: '2' }),
    ],
  });
  const policy = policyOf({ windows: 'always', disruptionBudget: 1 });
  const input = prepareRollout({
    rolloutId: 'e2e-sites',
    startedBy: 'tester',
    fleet,
    policy,
    now: new Date(),
  });
  const siteMachines = new Set(fleet.machines.filter((m) => m.site === SITE).map((m) => m.name));
  expect(
    input.regions.flatMap((r) => inlineSpecOf(r).machines).filter((m) => m.taskQueue === siteTaskQueue(SITE)),
  ).toHaveLength(siteMachines.size);

  const centralDir = tempDir('sites-central');
  const siteDir = tempDir('sites-dublin');
  const centralSeen = new Set<string>();
  const siteSeen = new Set<string>();
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const orchestration = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(recording(simulatedDrivers(centralDir, 0.001), centralSeen)),
  });
  // The site worker runs activities only, on its own task queue, with its own driver state.
  const siteWorker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: siteTaskQueue(SITE),
    activities: createActivities(recording(simulatedDrivers(siteDir, 0.001), siteSeen)),
  });

  let report: RolloutReport;
  try {
    report = await orchestration.runUntil(() =>
      siteWorker.runUntil(async () => {
        await startRollout(client, input);
        await client.workflow.getHandle(rolloutWorkflowId(input.rolloutId)).result();
        return rolloutReport(client, input.rolloutId, { patches: true });
      }),
    );
  } finally {
    await connection.close();
    await nativeConnection.close();
  }

  expect(report.status).toBe('Completed');
  expect(report.machines.map((m) => [m.name, m.outcome]).sort()).toEqual(
    fleet.machines.map((m) => [m.name, 'Succeeded']).sort(),
  );
  expect(checkAvailability(report, fleet, policy)).toEqual([]);

  // Each worker acted on exactly its own machines, and each ledger holds exactly those machines' changes.
  const others = fleet.machines.map((m) => m.name).filter((name) => !siteMachines.has(name));
  expect([...siteSeen].sort()).toEqual([...siteMachines].sort());
  expect([...centralSeen].sort()).toEqual(others.sort());
  const siteLedger = await readLedger(siteDir);
  const centralLedger = await readLedger(centralDir);
  expect(new Set(siteLedger.map((e) => e.machine))).toEqual(siteMachines);
  expect(new Set(centralLedger.map((e) => e.machine))).toEqual(new Set(others));
  expect(checkLedger(report, [...siteLedger, ...centralLedger])).toEqual([]);
});

test("a site with no worker shows in status (no worker on task queue …) and its machines wait for the site's worker", async () => {
  const fleet = fleetOf({
    regionPairs: { 'dc-dublin': null },
    machines: [
      vm('dub-1', { region: 'dc-dublin', site: SITE }),
      vm('dub-2', { region: 'dc-dublin', site: SITE }),
    ],
  });
  const policy = policyOf({ windows: 'always', disruptionBudget: '100%', siteWorkerNoticeSeconds: 2 });
  const rolloutId = 'e2e-site-missing';
  const input = prepareRollout({ rolloutId, startedBy: 'tester', fleet, policy, now: new Date() });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const orchestration = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(tempDir('missing-central'), 0)),
  });
  const siteWorker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: siteTaskQueue(SITE),
    activities: createActivities(simulatedDrivers(tempDir('missing-site'), 0)),
  });
  try {
    const { view, report } = await orchestration.runUntil(async () => {
      await startRollout(client, input);
      // No site worker yet: the attempts say so within the notice time, and the status lists them.
      const view = await waitUntil(
        () => rolloutView(client, rolloutId),
        (v) => (v.waiting?.[0]?.count ?? 0) === 2,
        'both machines to wait for the site worker',
        60_000,
      );
      // The site's worker starts: the same attempts go on, nothing failed meanwhile.
      const report = await siteWorker.runUntil(async () => {
        await client.workflow.getHandle(rolloutWorkflowId(rolloutId)).result();
        return rolloutReport(client, rolloutId, { patches: false });
      });
      return { view, report };
    });
    expect(view.waiting).toEqual([
      {
        reason: `no worker on task queue ${siteTaskQueue(SITE)}`,
        machines: expect.arrayContaining(['dub-1', 'dub-2']),
        count: 2,
      },
    ]);
    expect(viewLines(rolloutId, view)[1]).toMatch(
      /^ {2}waiting: no worker on task queue offpeak-site-dublin \(2 machine\(s\): dub-[12], dub-[12]\)$/,
    );
    expect(report.status).toBe('Completed');
    expect(report.machines.map((m) => [m.name, m.outcome, m.attempts.length])).toEqual([
      ['dub-1', 'Succeeded', 1],
      ['dub-2', 'Succeeded', 1],
    ]);
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});
