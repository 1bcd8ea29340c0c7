import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import {
  approveUpdate,
  cancelUpdate,
  gateDecisionSignal,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  statusQuery,
} from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import {
  driversOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  withWorker,
} from '../support/workflow-harness';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

const fleet = {
  machines: [vm('a1', { zone: '1' }), vm('a2', { zone: '2' }), vm('w1', { region: 'westus' })],
};
const gated = {
  windows: 'always',
  approvals: { beforePhases: [0], approvers: ['alice', 'bob'], fourEyes: true },
};

test('an approval gate refuses the starter and outsiders, by update or by signal, records every decision, and lets an approver through', async () => {
  const stateDir = tempDir('gate');
  const input = rolloutInputOf({
    rolloutId: 'gate-approve',
    startedBy: 'alice',
    fleet,
    policy: gated,
    now: new Date(),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    await waitForStatus(handle, (r) => r.openGate === 'phase-0', 'gate phase-0 open');
    // An update answers at once; a signal (the Temporal UI's way) is judged by the same rules.
    expect(await steer(handle, approveUpdate, { gate: 'phase-0', by: 'alice' })).toEqual({
      accepted: false,
      reason: '"alice" started this rollout and the policy asks for four eyes',
    });
    await handle.signal(gateDecisionSignal, { gate: 'phase-0', decision: 'approve', by: 'mallory' });
    await waitForStatus(handle, (r) => r.gates.length === 2, 'the signalled refusal');
    expect(await steer(handle, approveUpdate, { gate: 'phase-0', by: 'bob', comment: 'looks good' })).toEqual(
      {
        accepted: true,
      },
    );
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Completed');
  expect(report.gates.map((g) => [g.name, g.decision, g.by])).toEqual([
    ['phase-0', 'refused', 'alice'],
    ['phase-0', 'refused', 'mallory'],
    ['phase-0', 'approved', 'bob'],
  ]);
  expect(report.gates[2].comment).toBe('looks good');
  expect(report.machines.every((m) => m.outcome === 'Succeeded')).toBe(true);
  const installs = (await readLedger(stateDir)).filter((e) => e.kind === 'install');
  expect(new Set(installs.map((e) => e.machine))).toEqual(new Set(['a1', 'a2', 'w1']));
});

test('a rejected gate ends the rollout Rejected and patches nothing', async () => {
  const stateDir = tempDir('reject');
  const input = rolloutInputOf({
    rolloutId: 'gate-reject',
    startedBy: 'carol',
    fleet,
    policy: gated,
    now: new Date(),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    await waitForStatus(handle, (r) => r.openGate === 'phase-0', 'gate phase-0 open');
    expect(
      await steer(handle, rejectUpdate, { gate: 'phase-0', by: 'bob', comment: 'not this week' }),
    ).toEqual({
      accepted: true,
    });
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Rejected');
  expect(report.phases.every((p) => p.status === 'Skipped')).toBe(true);
  expect(report.machines.every((m) => m.outcome === 'NotStarted')).toBe(true);
  expect(await readLedger(stateDir)).toEqual([]);
});

test('a gate nobody decides expires and halts the rollout; cancel then ends it Canceled', async () => {
  const stateDir = tempDir('expire');
  const policy = { ...gated, approvals: { ...gated.approvals, expireAfterMinutes: 60 * 24 } };
  const input = rolloutInputOf({
    rolloutId: 'gate-expire',
    startedBy: 'carol',
    fleet,
    policy,
    now: new Date(),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    await env.sleep('25 hours'); // time skipping: the day passes at once
    const halted = await handle.query(statusQuery);
    expect(halted.status).toBe('Halted');
    expect(halted.reason).toBe('gate "phase-0" expired without a decision');
    expect(await steer(handle, cancelUpdate, { by: 'bob', reason: 'next month' })).toEqual({
      accepted: true,
    });
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Canceled');
  expect(report.gates.map((g) => g.decision)).toEqual(['expired']);
  expect(await readLedger(stateDir)).toEqual([]);
});

test("a failed canary never promotes: its own budget halts it although the rollout's would allow the error, and no machine of the next phase starts", async () => {
  const stateDir = tempDir('canary');
  const input = rolloutInputOf({
    rolloutId: 'canary-budget',
    startedBy: 'carol',
    fleet: {
      machines: [
        vm('c1', { region: 'centralus', simulation: { failInstall: true } }),
        ...['w1', 'w2', 'w3', 'w4'].map((n, i) => vm(n, { region: 'westus', zone: String((i % 3) + 1) })),
      ],
    },
    // A budget of 1 of 5 machines: the rollout's would allow the canary's error, the canary's own cannot.
    policy: { windows: 'always', errorBudget: 1, phases: [['centralus'], ['westus']] },
    now: new Date(),
  });
  const held = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
    await env.sleep('2 days'); // retries, windows, anything that would start the next phase has had its time
    const held = await handle.query(statusQuery);
    expect(await steer(handle, cancelUpdate, { by: 'bob' })).toEqual({ accepted: true });
    await rolloutResult(env, handle);
    return { halted, held };
  });
  expect(held.halted.reason).toBe(
    'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: c1 InstallFailed',
  );
  expect(held.halted.errors).toEqual({ count: 1, allowed: 1 }); // the rollout's budget still holds
  expect(held.halted.phaseErrors).toEqual({ phase: 0, count: 1, allowed: 0 });
  expect(held.halted.failed).toEqual([
    { name: 'c1', region: 'centralus', phase: 0, outcome: 'InstallFailed' },
  ]);
  expect(held.held.status).toBe('Halted');
  expect(held.held.phases.map((p) => p.status)).toEqual(['Running', 'Pending']);
  const touched = new Set((await readLedger(stateDir)).map((e) => e.machine));
  for (const name of ['w1', 'w2', 'w3', 'w4']) expect(touched.has(name)).toBe(false);
});

test('a pause while a gate waits shows Paused; an approval is recorded and still waits for the resume', async () => {
  const stateDir = tempDir('gate-pause');
  const input = rolloutInputOf({
    rolloutId: 'gate-pause',
    startedBy: 'carol',
    fleet,
    policy: gated,
    now: new Date(),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () => {
    const handle = await startRollout(env, input);
    await waitForStatus(handle, (r) => r.openGate === 'phase-0', 'gate phase-0 open');
    expect(await steer(handle, pauseUpdate, { by: 'carol', reason: 'wait' })).toEqual({ accepted: true });
    expect(await handle.query(statusQuery)).toMatchObject({
      status: 'Paused',
      waitingFor: 'resume (paused by carol: wait), then approval of gate "phase-0" (westus)',
    });
    expect(await steer(handle, approveUpdate, { gate: 'phase-0', by: 'bob' })).toEqual({ accepted: true });
    await env.sleep('1 day');
    const paused = await handle.query(statusQuery);
    expect(paused.status).toBe('Paused');
    expect(paused.gates.map((g) => [g.decision, g.by])).toEqual([['approved', 'bob']]);
    expect(paused.regions.every((r) => r.done === 0)).toBe(true);
    expect(await readLedger(stateDir)).toEqual([]);
    expect(await steer(handle, resumeUpdate, { by: 'carol' })).toEqual({ accepted: true });
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Completed');
  expect(report.machines.every((m) => m.outcome === 'Succeeded')).toBe(true);
});
