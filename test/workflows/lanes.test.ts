import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { runsOf } from '../../client/runs';
import { regionWorkflowId } from '../../workflows/ids';
import type { MachineReport } from '../../workflows/messages';
import { checkAvailability } from '../support/availability-check';
import { timeSkippingServer } from '../support/server-hooks';
import { fleetOf, policyOf, rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  machineOf,
  ms,
  rolloutResult,
  startRollout,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('file', (e) => (env = e));

const overlaps = (a: MachineReport, b: MachineReport) =>
  a.attempts.some((x) =>
    b.attempts.some((y) => ms(x.startedAt) < ms(y.finishedAt) && ms(y.startedAt) < ms(x.finishedAt)),
  );

test("a region's lanes run side by side, continue as new only between steps, and keep every rule", async () => {
  // Installs take 0.2 s and reboots 0.1 s of real time, so every attempt spans a measurable interval.
  const simulation = { installSeconds: 10, rebootSeconds: 5 };
  const db = { service: 'db' };
  const FLEET = {
    machines: [
      // The zone lane: two zones of two machines (one at a time each), db machines among them.
      ...['z1a', 'z1b', 'z2a', 'z2b'].map((n) => vm(n, { zone: n[1], simulation, tags: db })),
      // Three set lanes: each set walks its own update domains.
      ...['s1', 's2', 's3'].flatMap((set) =>
        [0, 1, 2].map((ud) => vm(`${set}u${ud}`, { availabilitySet: set, updateDomain: ud, simulation })),
      ),
      // The standalone lane.
      ...['a1', 'a2', 'a3'].map((n) => vm(n, { simulation, tags: db })),
    ],
  };
  const POLICY = {
    windows: 'always',
    disruptionBudget: 1,
    serviceCapacity: { tag: 'service', minAvailable: 5 },
  };
  const base = rolloutInputOf({
    rolloutId: 'lanes',
    fleet: FLEET,
    policy: POLICY,
    now: new Date(await env.currentTimeMs()),
  });
  const region = base.regions[0];
  expect(region.laneStarts).toHaveLength(5);
  // Two machine attempts per region run: the region continues as new many times, between steps.
  const input = { ...base, childrenPerRun: 2 };
  const report = await withWorker(env, driversOf({ stateDir: tempDir('lanes'), timeScale: 0.02 }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );

  expect(report.status).toBe('Completed');
  expect(report.machines).toHaveLength(16);
  for (const m of report.machines) {
    expect(m.outcome).toBe('Succeeded');
    expect(m.attempts).toHaveLength(1);
  }
  expect(checkAvailability(report, fleetOf(FLEET), policyOf(POLICY))).toEqual([]);
  // The report names each machine's step with its lane: the zones, three sets, the standalone machines.
  expect(new Set(report.machines.map((m) => m.step?.lane))).toEqual(new Set([0, 1, 2, 3, 4]));
  expect(machineOf(report, 's2u1').step).toMatchObject({ lane: 2, label: 'update domain 1 (set s2)' });
  const runs = await runsOf(env.client, regionWorkflowId('lanes', 'eastus'));
  expect(runs.length).toBeGreaterThan(3);
  // Lanes overlap: every lane's first step runs beside the others' (db, 2 of 7 down at once, is split
  // between the zone and the standalone lane, and the checker above counts it across lanes).
  const first = ['z1a', 's1u0', 's2u0', 's3u0', 'a1'].map((n) => machineOf(report, n));
  for (const [i, a] of first.entries())
    for (const b of first.slice(i + 1))
      expect(`${a.name}/${b.name}: ${overlaps(a, b)}`).toBe(`${a.name}/${b.name}: true`);
});
