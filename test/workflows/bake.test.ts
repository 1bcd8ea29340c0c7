import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { runsOf } from '../../client/runs';
import {
  cancelUpdate,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  type RolloutWorkflowInput,
} from '../../workflows/messages';
import { ControlledSignals } from '../support/controlled-signals';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  machineOf,
  ms,
  reportOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

// eastus (two zones, a step each) bakes 30 minutes; westus comes after it.
const fleet = {
  machines: [
    vm('a1', { zone: '1', tags: { service: 'web' } }),
    vm('a2', { zone: '2', tags: { service: 'web' } }),
    vm('w1', { region: 'westus', tags: { service: 'api' } }),
  ],
};
const prometheus = { url: 'http://prometheus.invalid:9090', alerts: ['HighErrorRate'], intervalSeconds: 60 };
const policy = (extra: Record<string, unknown> = {}) => ({
  windows: 'always',
  phases: [['eastus'], ['westus']],
  bakeMinutes: [30, 0],
  serviceCapacity: { tag: 'service', minAvailable: 0 },
  approvals: { approvers: ['bob'] },
  ...extra,
});

async function inputOf(rolloutId: string, extra: Record<string, unknown> = {}) {
  return rolloutInputOf({
    rolloutId,
    fleet,
    policy: policy(extra),
    now: new Date(await env.currentTimeMs()),
  });
}

test('a phase bakes its time before the next starts, saying so; ok signals asked each step and interval promote it', async () => {
  const signals = new ControlledSignals();
  const input = await inputOf('bake-ok', { health: { prometheus } });
  const { baking, report } = await withWorker(
    env,
    { ...driversOf({ stateDir: tempDir('bake-ok') }), healthSignals: signals },
    async () => {
      const handle = await startRollout(env, input);
      const baking = await waitForStatus(handle, (r) => r.baking !== undefined, 'the bake');
      return { baking, report: await rolloutResult(env, handle) };
    },
  );
  const finished = ms(report.phases[0].finishedAt);
  const until = new Date(finished + 30 * 60_000).toISOString();
  // The time of day, and the date too when the bake ends on the next UTC day (the test server's clock
  // starts at the real time: a run at 23:40 UTC bakes until 00:10 the next day).
  const nextDay = until.slice(0, 10) !== new Date(finished).toISOString().slice(0, 10);
  expect(baking.baking).toBe(
    `Baking phase 0 until ${nextDay ? `${until.slice(0, 10)} ` : ''}${until.slice(11, 16)}Z`,
  );
  expect(baking.phases[0].status).toBe('Baking');
  expect(baking.status).toBe('Running');
  expect(report.status).toBe('Completed');
  expect(report.phases.map((p) => p.status)).toEqual(['Succeeded', 'Succeeded']);
  // The next phase started only once the bake was over.
  expect(ms(report.phases[1].startedAt)).toBeGreaterThanOrEqual(finished + 30 * 60_000);
  expect(ms(machineOf(report, 'w1').attempts[0].startedAt)).toBeGreaterThanOrEqual(finished + 30 * 60_000);
  // Asked after each step (its region and services) and every minute of the bake (the phase's regions).
  const asked = signals.requests.map((r) => `${r.regions.join(',')}:${r.services.join(',')}`);
  expect(asked.filter((a) => a === 'eastus:web').length).toBeGreaterThanOrEqual(2 + 30);
  expect(asked).toContain('westus:api');
  expect(signals.requests[0].prometheus).toMatchObject({ alerts: ['HighErrorRate'] });
});

test('a signal firing during the bake halts the rollout naming the alert; the next phase never starts', async () => {
  const signals = new ControlledSignals();
  const input = await inputOf('bake-firing', { health: { prometheus } });
  const report = await withWorker(
    env,
    { ...driversOf({ stateDir: tempDir('bake-firing') }), healthSignals: signals },
    async () => {
      const handle = await startRollout(env, input);
      await waitForStatus(handle, (r) => r.baking !== undefined, 'the bake');
      signals.verdict = {
        status: 'firing',
        firing: [{ name: 'HighErrorRate', labels: { region: 'eastus', service: 'web' } }],
        reason: '1 alert firing',
      };
      await env.sleep('61 seconds'); // one check interval
      const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
      expect(halted.reason).toBe(
        'health signal firing: HighErrorRate{region="eastus", service="web"} (1 alert firing)',
      );
      expect(halted.phases.map((p) => p.status)).toEqual(['Halted', 'Pending']);
      await env.sleep('2 hours'); // well past the bake: still halted
      expect((await handle.query(statusQuery)).status).toBe('Halted');
      expect(machineOf(await reportOf(env, 'bake-firing'), 'w1').outcome).toBe('NotStarted');
      expect(await steer(handle, cancelUpdate, { by: 'bob', reason: 'alert' })).toEqual({ accepted: true });
      return rolloutResult(env, handle);
    },
  );
  expect(report.status).toBe('Canceled');
  expect(machineOf(report, 'w1').outcome).toBe('NotStarted');
});

test('an unreachable Prometheus makes the gate inconclusive: the step after it never starts until a person decides', async () => {
  // No source in this worker: every check answers unreachable.
  const input = await inputOf('signals-unreachable', { health: { prometheus } });
  const report = await withWorker(env, driversOf({ stateDir: tempDir('unreachable') }), async () => {
    const handle = await startRollout(env, input);
    const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
    expect(halted.reason).toBe('health signals unreachable: no Prometheus client in this worker');
    expect(halted.waitingFor).toContain('(inconclusive: health signals unreachable');
    await env.sleep('1 hour');
    const held = await reportOf(env, 'signals-unreachable');
    expect(machineOf(held, 'a1').outcome).toBe('Succeeded');
    expect(machineOf(held, 'a2').outcome).toBe('NotStarted');
    expect(await steer(handle, cancelUpdate, { by: 'bob' })).toEqual({ accepted: true });
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Canceled');
  expect(machineOf(report, 'w1').outcome).toBe('NotStarted');
});

test('a pause during the bake shows Paused and holds the next phase after the bake until resume', async () => {
  const input = await inputOf('bake-pause');
  const { report, resumedAt } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('bake-pause') }),
    async () => {
      const handle = await startRollout(env, input);
      await waitForStatus(handle, (r) => r.baking !== undefined, 'the bake');
      expect(await steer(handle, pauseUpdate, { by: 'bob', reason: 'look first' })).toEqual({
        accepted: true,
      });
      const paused = await handle.query(statusQuery);
      expect(paused.status).toBe('Paused');
      expect(paused.baking).toMatch(/^Baking phase 0 until /);
      await env.sleep('3 hours'); // the bake is over; the pause still holds
      const after = await handle.query(statusQuery);
      expect(after.status).toBe('Paused');
      expect(after.phases.map((p) => p.status)).toEqual(['Succeeded', 'Pending']);
      expect(machineOf(await reportOf(env, 'bake-pause'), 'w1').outcome).toBe('NotStarted');
      const resumedAt = await env.currentTimeMs();
      expect(await steer(handle, resumeUpdate, { by: 'bob' })).toEqual({ accepted: true });
      return { report: await rolloutResult(env, handle), resumedAt };
    },
  );
  expect(report.status).toBe('Completed');
  expect(ms(machineOf(report, 'w1').attempts[0].startedAt)).toBeGreaterThanOrEqual(resumedAt);
});

test('an alert firing after a step halts before the next step starts', async () => {
  const signals = new ControlledSignals();
  signals.verdict = {
    status: 'firing',
    firing: [{ name: 'HighErrorRate', labels: { region: 'eastus' } }],
    reason: '1 alert firing',
  };
  const input = await inputOf('step-firing', { health: { prometheus }, bakeMinutes: 0 });
  const report = await withWorker(
    env,
    { ...driversOf({ stateDir: tempDir('step-firing') }), healthSignals: signals },
    async () => {
      const handle = await startRollout(env, input);
      const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
      expect(halted.reason).toBe('health signal firing: HighErrorRate{region="eastus"} (1 alert firing)');
      await env.sleep('1 day');
      expect(machineOf(await reportOf(env, 'step-firing'), 'a2').outcome).toBe('NotStarted');
      expect(await steer(handle, cancelUpdate, { by: 'bob' })).toEqual({ accepted: true });
      return rolloutResult(env, handle);
    },
  );
  expect(machineOf(report, 'a1').outcome).toBe('Succeeded');
  expect(machineOf(report, 'a2').outcome).toBe('Skipped');
  expect(signals.requests).toHaveLength(1); // after a1's step, for eastus and its service
  expect(signals.requests[0]).toMatchObject({ regions: ['eastus'], services: ['web'] });
});

test('a long bake continues as new and still ends on time, promoting the phase once', async () => {
  const signals = new ControlledSignals();
  const input = { ...(await inputOf('bake-continued', { health: { prometheus } })), eventsPerRun: 80 };
  const { report, inputs } = await withWorker(
    env,
    { ...driversOf({ stateDir: tempDir('bake-continued') }), healthSignals: signals },
    async () => {
      const handle = await startRollout(env, input);
      const report = await rolloutResult(env, handle);
      // Each run's input, from its first event: what the run before it carried.
      const inputs = (await runsOf(env.client, handle.workflowId)).map(
        (r) =>
          defaultPayloadConverter.fromPayload(
            r.history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0],
          ) as RolloutWorkflowInput,
      );
      return { report, inputs };
    },
  );
  expect(report.status).toBe('Completed');
  expect(report.phases.map((p) => p.status)).toEqual(['Succeeded', 'Succeeded']);
  // Some run began inside the bake, carrying it.
  const carriedBakes = inputs.filter((i) => i.continued?.bake).map((i) => i.continued!.bake!.phase);
  expect(carriedBakes.length).toBeGreaterThan(0);
  expect(new Set(carriedBakes)).toEqual(new Set([0]));
  const finished = ms(report.phases[0].finishedAt);
  expect(ms(report.phases[1].startedAt)).toBeGreaterThanOrEqual(finished + 30 * 60_000);
  expect(ms(report.phases[1].startedAt)).toBeLessThan(finished + 32 * 60_000);
  expect(signals.requests.filter((r) => r.regions.join() === 'eastus').length).toBeGreaterThanOrEqual(30);
});

test('a check that keeps failing is an unreachable Prometheus: the rollout halts inconclusive, naming the failure', async () => {
  const signals = new ControlledSignals();
  signals.failure = 'socket hang up';
  const input = await inputOf('signals-failing', { health: { prometheus } });
  const report = await withWorker(
    env,
    { ...driversOf({ stateDir: tempDir('signals-failing') }), healthSignals: signals },
    async () => {
      const handle = await startRollout(env, input);
      const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
      expect(halted.reason).toBe('health signals unreachable: the check failed: socket hang up');
      expect(await steer(handle, cancelUpdate, { by: 'bob' })).toEqual({ accepted: true });
      return rolloutResult(env, handle);
    },
  );
  expect(signals.requests).toHaveLength(3); // the activity's three tries
  expect(machineOf(report, 'a2').outcome).toBe('Skipped');
});
