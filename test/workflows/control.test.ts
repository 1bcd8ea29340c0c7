import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import { machineWorkflowId } from '../../workflows/ids';
import { cancelUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  guardLeases,
  driversOf,
  machineOf,
  ms,
  regionStatus,
  reportOf,
  rolloutResult,
  skipToLocalNoon,
  startRollout,
  steer,
  stepsOf,
  waitForReport,
  waitForStatus,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

/** Machines touched on the simulated hosts (installs, reboots, scripts). */
async function touched(stateDir: string): Promise<Set<string>> {
  return new Set((await readLedger(stateDir)).map((e) => e.machine));
}

/** Whether the machine's attempt was ever started as a workflow. */
async function attemptExists(
  rolloutId: string,
  region: string,
  machine: string,
  attempt: number,
): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(machineWorkflowId(rolloutId, region, machine, attempt)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

// eastus first: zone 1 holds the failing machine, zones 2 and 3 come after it; westus is the next phase.
const budgetFleet = {
  machines: [
    vm('a1', { zone: '1', simulation: { failInstall: true } }),
    vm('a2', { zone: '2' }),
    vm('a3', { zone: '3' }),
    vm('w1', { region: 'westus' }),
  ],
};
const budgetPolicy = {
  windows: 'always',
  errorBudget: 0,
  phases: [['eastus'], ['westus']],
  approvals: { approvers: ['alice', 'bob'] },
};

/** Starts the rollout and waits until the failure halted it and eastus holds before its next step. */
async function startAndHalt(rolloutId: string, stateDir: string) {
  const input = rolloutInputOf({
    rolloutId,
    startedBy: 'carol',
    fleet: budgetFleet,
    policy: budgetPolicy,
    now: new Date(await env.currentTimeMs()),
  });
  expect(input.regions.map((r) => [r.region, stepsOf(r)])).toEqual([
    ['eastus', [['a1'], ['a2'], ['a3']]],
    ['westus', [['w1']]],
  ]);
  const handle = await startRollout(env, input);
  const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the rollout to halt');
  await waitUntil(
    () => regionStatus(env, rolloutId, 'eastus'),
    (s) => s.hold !== null,
    'eastus to hold',
  );

  expect(halted.reason).toBe(
    'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: a1 InstallFailed',
  );
  const report = await reportOf(env, rolloutId);
  expect(machineOf(report, 'a1').attempts.map((a) => a.outcome)).toEqual(['InstallFailed']);
  for (const name of ['a2', 'a3', 'w1']) expect(machineOf(report, name).outcome).toBe('NotStarted');
  // Nothing new started: no attempt workflow for later steps, no retry of a1, no host touched.
  expect(await attemptExists(rolloutId, 'eastus', 'a2', 1)).toBe(false);
  expect(await attemptExists(rolloutId, 'eastus', 'a1', 2)).toBe(false);
  for (const name of ['a2', 'a3', 'w1']) expect((await touched(stateDir)).has(name)).toBe(false);
  return handle;
}

test('an exceeded error budget halts with no new starts; resume needs an override by an approver', async () => {
  const stateDir = tempDir('halt-override');
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startAndHalt('halt-override', stateDir);

    // Each answer comes at once, refusals with their reason; each is recorded too.
    const resume = (args: { by: string; override?: boolean; comment?: string }) =>
      steer(handle, resumeUpdate, args);
    expect(await resume({ by: 'bob' })).toEqual({
      accepted: false,
      reason: 'resuming a halted rollout needs --override',
    });
    expect(await resume({ by: 'mallory', override: true })).toEqual({
      accepted: false,
      reason: '"mallory" is not in the policy\'s approvers (alice, bob)',
    });
    const refused = await handle.query(statusQuery);
    expect(refused.status).toBe('Halted');
    expect(refused.gates.map((g) => [g.name, g.decision, g.by])).toEqual([
      ['resume', 'refused', 'bob'],
      ['resume', 'refused', 'mallory'],
    ]);
    expect(refused.gates[0].comment).toBe('resuming a halted rollout needs --override');
    expect(machineOf(await reportOf(env, 'halt-override'), 'a2').outcome).toBe('NotStarted');

    expect(await resume({ by: 'bob', override: true, comment: 'a1 is a known bad host' })).toEqual({
      accepted: true,
    });
    return rolloutResult(env, handle);
  });

  expect(report.status).toBe('Completed');
  expect(report.gates.map((g) => [g.decision, g.by])).toEqual([
    ['refused', 'bob'],
    ['refused', 'mallory'],
    ['overridden', 'bob'],
  ]);
  expect(report.gates[2].comment).toBe('a1 is a known bad host');
  for (const name of ['a2', 'a3', 'w1']) expect(machineOf(report, name).outcome).toBe('Succeeded');
  // a1 kept failing on its retries; the override forgave it, so the rest of the rollout went on.
  expect(machineOf(report, 'a1').attempts.map((a) => a.outcome)).toEqual([
    'InstallFailed',
    'InstallFailed',
    'InstallFailed',
  ]);
  expect(report.phases.map((p) => p.status)).toEqual(['Succeeded', 'Succeeded']);
  expect(await touched(stateDir)).toEqual(new Set(['a2', 'a3', 'w1']));
});

test('a halted rollout that is cancelled ends Canceled and starts nothing more', async () => {
  const stateDir = tempDir('halt-cancel');
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startAndHalt('halt-cancel', stateDir);
    expect(await steer(handle, cancelUpdate, { by: 'bob', reason: 'bad patch' })).toEqual({
      accepted: true,
    });
    return rolloutResult(env, handle);
  });

  expect(report.status).toBe('Canceled');
  expect(report.reason).toBe('cancelled by bob: bad patch');
  expect(machineOf(report, 'a1').outcome).toBe('InstallFailed');
  expect(machineOf(report, 'a1').attempts).toHaveLength(1);
  expect(machineOf(report, 'a2').outcome).toBe('Skipped');
  expect(machineOf(report, 'a3').outcome).toBe('Skipped');
  expect(machineOf(report, 'w1').outcome).toBe('NotStarted');
  expect(report.phases.map((p) => p.status)).toEqual(['Halted', 'Skipped']);
  expect(await touched(stateDir)).toEqual(new Set());
});

test('pause holds a region before its next step until resume; nothing new starts meanwhile', async () => {
  const stateDir = tempDir('pause');
  const zone = 'America/New_York';
  const startedAt = await skipToLocalNoon(env, zone);
  const rolloutId = 'pause-resume';
  const input = rolloutInputOf({
    rolloutId,
    fleet: { machines: ['1', '2', '3'].map((z) => vm(`p${z}`, { zone: z, timeZone: zone })) },
    policy: { windows: 'offPeak' },
    now: new Date(startedAt),
  });
  expect(stepsOf(input.regions[0])).toEqual([['p1'], ['p2'], ['p3']]);

  const { resumedAt, final } = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    // p1 waits for tonight's window (the clock only moves when the test lets it): pause now.
    await waitUntil(
      () => attemptExists(rolloutId, 'eastus', 'p1', 1),
      (exists) => exists,
      'the first step to start',
    );
    expect(await steer(handle, pauseUpdate, { by: 'alice', reason: 'change freeze' })).toEqual({
      accepted: true,
    });
    await waitUntil(
      () => regionStatus(env, rolloutId, 'eastus'),
      (s) => s.hold !== null,
      'the pause to reach eastus',
    );
    const pausedStatus = await handle.query(statusQuery);
    expect(pausedStatus.status).toBe('Paused');

    // Two days pass: the first step finishes in its window, the second never starts.
    await env.sleep(2 * 24 * 3_600_000);
    const held = await waitForReport(
      env,
      rolloutId,
      (r) => machineOf(r, 'p1').outcome !== 'NotStarted',
      'the first step to finish',
    );
    expect(held.status).toBe('Paused');
    expect(machineOf(held, 'p1').outcome).toBe('Succeeded');
    expect(machineOf(held, 'p2').outcome).toBe('NotStarted');
    expect(machineOf(held, 'p3').outcome).toBe('NotStarted');
    // eastus moves on to its second step and holds there.
    const region = await waitUntil(
      () => regionStatus(env, rolloutId, 'eastus'),
      (s) => s.step === 1,
      'eastus to reach its second step',
    );
    expect(region.hold).toBe('paused: alice: change freeze');
    // p2's lease, asked for as p1's step started, is given back while the pause holds.
    await waitUntil(
      () => guardLeases(env.client, { rolloutId }),
      (v) => v.held.length === 0 && v.waiting.length === 0,
      'the guard to hold nothing of the paused rollout',
    );
    expect(await attemptExists(rolloutId, 'eastus', 'p2', 1)).toBe(false);
    expect(await touched(stateDir)).toEqual(new Set(['p1']));

    const resumedAt = await env.currentTimeMs();
    expect(await steer(handle, resumeUpdate, { by: 'alice' })).toEqual({ accepted: true });
    return { resumedAt, final: await rolloutResult(env, handle) };
  });

  expect(final.status).toBe('Completed');
  expect(final.machines.map((m) => m.outcome)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  expect(ms(machineOf(final, 'p2').attempts[0].startedAt)).toBeGreaterThan(resumedAt);
  expect(await touched(stateDir)).toEqual(new Set(['p1', 'p2', 'p3']));
});

test('a pause during the last step of a phase holds between phases: the phase ends, the next waits for the resume', async () => {
  const stateDir = tempDir('pause-between');
  const zone = 'America/New_York';
  const startedAt = await skipToLocalNoon(env, zone);
  const rolloutId = 'pause-between';
  const input = rolloutInputOf({
    rolloutId,
    fleet: {
      machines: [vm('e1', { timeZone: zone }), vm('w1', { region: 'westus', timeZone: zone })],
    },
    policy: { windows: 'offPeak', phases: [['eastus'], ['westus']] },
    now: new Date(startedAt),
  });
  const { resumedAt, final } = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    // e1 waits for tonight's window: pause while its step runs.
    await waitUntil(
      () => attemptExists(rolloutId, 'eastus', 'e1', 1),
      (exists) => exists,
      'the first step to start',
    );
    expect(await steer(handle, pauseUpdate, { by: 'alice' })).toEqual({ accepted: true });
    await env.sleep(2 * 24 * 3_600_000);
    const held = await waitForStatus(
      handle,
      (r) => r.phases[0].status === 'Succeeded',
      'the first phase to end',
    );
    expect(held.status).toBe('Paused');
    expect(held.phases[1].status).toBe('Pending');
    expect(await attemptExists(rolloutId, 'westus', 'w1', 1)).toBe(false);
    expect(await touched(stateDir)).toEqual(new Set(['e1']));
    const resumedAt = await env.currentTimeMs();
    expect(await steer(handle, resumeUpdate, { by: 'alice' })).toEqual({ accepted: true });
    return { resumedAt, final: await rolloutResult(env, handle) };
  });
  expect(final.status).toBe('Completed');
  expect(ms(final.phases[1].startedAt)).toBeGreaterThanOrEqual(resumedAt);
  expect(await touched(stateDir)).toEqual(new Set(['e1', 'w1']));
});
