import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import { planRollout } from '../../domain/planner';
import { isStored } from '../../domain/spec-slices';
import { stageRolloutInput } from '../../store/spec-store';
import { machineWorkflowId } from '../../workflows/ids';
import { pauseUpdate, resumeUpdate } from '../../workflows/messages';
import { checkAvailability } from '../support/availability-check';
import { specStoreForFile, timeSkippingServer } from '../support/server-hooks';
import { fleetOf, policyOf, rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  machineOf,
  ms,
  regionStatus,
  rolloutResult,
  skipToNoonUtc,
  startRollout,
  steer,
  waitForReport,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

const store = specStoreForFile('follow-specs');
timeSkippingServer('test', (e) => (env = e));

/** The machine's attempt workflow, if it was ever started: its status. */
async function attemptStatus(rolloutId: string, machine: string): Promise<string | undefined> {
  try {
    const handle = env.client.workflow.getHandle(machineWorkflowId(rolloutId, 'eastus', machine, 1));
    return (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

test("a step that began as its leader's follower keeps its started machines through a pause, and runs the rest after it", async () => {
  // One zone, three machines a step. a2 waits for its night window; a1 and a3 are done at once, and the
  // second step follows into their places: b1 and b2 fit their noon window, b3 does not (at noon its
  // window has 20 minutes left, enough to start an install but not to end its 8 minutes before the
  // reboot's reserve), so it waits for its step.
  const utc = (startDateTime: string, duration: string) => ({
    startDateTime,
    duration,
    timeZone: 'UTC',
    recurEvery: '1Day',
  });
  const fleet = {
    maintenanceConfigurations: {
      noon: utc('2026-01-01 11:00', '03:00'),
      short: utc('2026-01-01 10:50', '01:30'),
      night: utc('2026-01-01 22:00', '02:00'),
    },
    machines: [
      vm('a1', { zone: 1, maintenanceConfiguration: 'noon' }),
      vm('a2', { zone: 1, maintenanceConfiguration: 'night' }),
      vm('a3', { zone: 1, maintenanceConfiguration: 'noon' }),
      vm('b1', { zone: 1, maintenanceConfiguration: 'noon' }),
      vm('b2', { zone: 1, maintenanceConfiguration: 'noon' }),
      vm('b3', { zone: 1, maintenanceConfiguration: 'short' }),
    ].map((m) => ({ ...m, durations: { installMinutes: 8, rebootMinutes: 0 } })),
  };
  const policy = { windows: 'offPeak', disruptionBudget: 3 };
  const plan = planRollout(fleetOf(fleet), policyOf(policy));
  if (!plan.ok) throw new Error('the plan was rejected');
  expect(plan.value.regions[0].steps.map((s) => s.machines)).toEqual([
    ['a1', 'a2', 'a3'],
    ['b1', 'b2', 'b3'],
  ]);
  const stateDir = tempDir('follow-pause');
  const rolloutId = 'follow-pause';
  const startedAt = await skipToNoonUtc(env);
  const input = rolloutInputOf({ rolloutId, fleet, policy, now: new Date(startedAt) });

  const { resumedAt, final } = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    // The clock stands still until the test moves it: b1 and b2 follow and finish while a2 waits.
    for (const name of ['b1', 'b2'])
      await waitUntil(
        () => attemptStatus(rolloutId, name),
        (s) => s === 'COMPLETED',
        `${name} to follow`,
      );
    expect(await attemptStatus(rolloutId, 'a2')).toBe('RUNNING');
    expect(await attemptStatus(rolloutId, 'b3')).toBeUndefined();
    expect(await steer(handle, pauseUpdate, { by: 'alice', reason: 'change freeze' })).toEqual({
      accepted: true,
    });
    await waitUntil(
      () => regionStatus(env, rolloutId, 'eastus'),
      (s) => s.hold !== null,
      'the pause to reach eastus',
    );
    // The night comes: a2 is done, and the second step's turn finds the rollout paused. Its machines
    // that followed are reported; b3 does not start.
    await env.sleep(12 * 3_600_000);
    const held = await waitForReport(
      env,
      rolloutId,
      (r) => machineOf(r, 'a2').outcome === 'Succeeded' && machineOf(r, 'b2').outcome === 'Succeeded',
      'the first step and its followers to be reported',
    );
    expect(held.status).toBe('Paused');
    expect(machineOf(held, 'b1').outcome).toBe('Succeeded');
    expect(machineOf(held, 'b3').outcome).toBe('NotStarted');
    expect(await attemptStatus(rolloutId, 'b3')).toBeUndefined();

    const resumedAt = await env.currentTimeMs();
    expect(await steer(handle, resumeUpdate, { by: 'alice' })).toEqual({ accepted: true });
    return { resumedAt, final: await rolloutResult(env, handle) };
  });

  expect(final.status).toBe('Completed');
  for (const m of final.machines) {
    expect(`${m.name}: ${m.outcome}`).toBe(`${m.name}: Succeeded`);
    expect(m.attempts).toHaveLength(1);
  }
  expect(checkAvailability(final, fleetOf(fleet), policyOf(policy))).toEqual([]);
  // The followers were installed in their one attempt (the simulator's ledger), before their leader's last
  // machine started; b3 after the resume.
  const ledger = await readLedger(stateDir);
  for (const name of ['b1', 'b2']) {
    const installs = ledger.filter((e) => e.machine === name && e.kind === 'install');
    expect(installs.length).toBeGreaterThan(0);
    expect(new Set(installs.map((e) => e.attempt))).toEqual(new Set([1]));
    expect(ms(machineOf(final, name).attempts[0].finishedAt)).toBeLessThan(
      ms(machineOf(final, 'a2').attempts[0].startedAt),
    );
  }
  expect(ms(machineOf(final, 'b3').attempts[0].startedAt)).toBeGreaterThan(resumedAt);
});

test("a follower's machine takes only a place of its own service: one whose service is down waits for its step", async () => {
  // Each service may have one machine down. a2 (service y) waits for its night window; a1 (x) is done at
  // once and frees an x place: b2 (x) follows into it, b1 (y) may not while a2 is down, and waits.
  const fleet = {
    maintenanceConfigurations: {
      noon: { startDateTime: '2026-01-01 11:00', duration: '03:00', timeZone: 'UTC', recurEvery: '1Day' },
      night: { startDateTime: '2026-01-01 22:00', duration: '02:00', timeZone: 'UTC', recurEvery: '1Day' },
    },
    machines: [
      vm('a1', { zone: 1, maintenanceConfiguration: 'noon', tags: { service: 'x' } }),
      vm('a2', { zone: 1, maintenanceConfiguration: 'night', tags: { service: 'y' } }),
      vm('b1', { zone: 1, maintenanceConfiguration: 'noon', tags: { service: 'y' } }),
      vm('b2', { zone: 1, maintenanceConfiguration: 'noon', tags: { service: 'x' } }),
    ],
  };
  const policy = {
    windows: 'offPeak',
    disruptionBudget: 2,
    serviceCapacity: { tag: 'service', minAvailable: 1 },
  };
  const plan = planRollout(fleetOf(fleet), policyOf(policy));
  if (!plan.ok) throw new Error('the plan was rejected');
  expect(plan.value.regions[0].steps.map((s) => s.machines)).toEqual([
    ['a1', 'a2'],
    ['b1', 'b2'],
  ]);
  const startedAt = await skipToNoonUtc(env);
  const input = rolloutInputOf({ rolloutId: 'follow-service', fleet, policy, now: new Date(startedAt) });
  const report = await withWorker(env, driversOf({ stateDir: tempDir('follow-service') }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );
  expect(report.status).toBe('Completed');
  expect(report.machines.every((m) => m.outcome === 'Succeeded')).toBe(true);
  expect(checkAvailability(report, fleetOf(fleet), policyOf(policy))).toEqual([]);
  const span = (n: string) => machineOf(report, n).attempts[0];
  expect(ms(span('b2').finishedAt)).toBeLessThan(ms(span('a2').startedAt));
  expect(ms(span('b1').startedAt)).toBeGreaterThanOrEqual(ms(span('a2').finishedAt));
});

test('a follower in the next slice of the spec store follows too: each lane reads its next slice ahead', async () => {
  // A large rollout's steps lie in stored slices; here each step is a slice of its own. a2 waits for its
  // night window; the second step, in the next slice, follows into a1's place in its noon window.
  const fleet = {
    maintenanceConfigurations: {
      noon: { startDateTime: '2026-01-01 11:00', duration: '03:00', timeZone: 'UTC', recurEvery: '1Day' },
      night: { startDateTime: '2026-01-01 22:00', duration: '02:00', timeZone: 'UTC', recurEvery: '1Day' },
    },
    machines: ['a1:noon', 'a2:night', 'b1:noon', 'b2:noon'].map((m) => {
      const [name, config] = m.split(':');
      return vm(name, { zone: 1, maintenanceConfiguration: config });
    }),
  };
  const policy = { windows: 'offPeak', disruptionBudget: 2 };
  const startedAt = await skipToNoonUtc(env);
  const planned = rolloutInputOf({ rolloutId: 'follow-sliced', fleet, policy, now: new Date(startedAt) });
  const input = stageRolloutInput(planned, {
    dir: store,
    sliceMachines: 2,
    inlineLimitBytes: 0,
  });
  expect(input.regions[0].slices.map((s) => (isStored(s) ? s.machines : 'inline'))).toEqual([2, 2]);
  const report = await withWorker(env, driversOf({ stateDir: tempDir('follow-sliced') }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );
  expect(report.status).toBe('Completed');
  expect(report.machines.every((m) => m.outcome === 'Succeeded')).toBe(true);
  expect(checkAvailability(report, fleetOf(fleet), policyOf(policy))).toEqual([]);
  const span = (n: string) => machineOf(report, n).attempts[0];
  for (const name of ['b1', 'b2']) expect(ms(span(name).finishedAt)).toBeLessThan(ms(span('a2').startedAt));
});
