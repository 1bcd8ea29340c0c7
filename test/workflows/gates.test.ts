import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import {
  approveUpdate,
  cancelUpdate,
  gateDecisionSignal,
  rejectUpdate,
  statusQuery,
} from '../../workflows/messages';
import { timeSkippingEnv } from '../support/servers';
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

// A server per test: see `steer` (workflow-harness.ts).
beforeEach(async () => {
  env = await timeSkippingEnv();
});
afterEach(async () => {
  await env?.teardown();
});

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
