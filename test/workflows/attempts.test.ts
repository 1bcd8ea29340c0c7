import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DriverError, type MachineTarget, type PatchDriver } from '../../activities/drivers/driver';
import { readLedger, SimulatedDriver } from '../../activities/drivers/simulated';
import { machineWorkflowId } from '../../workflows/ids';
import { cancelUpdate, type MachineAttemptResult } from '../../workflows/messages';
import { checkLedger } from '../support/availability-check';
import {
  machineOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  withWorker,
} from '../support/workflow-harness';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

/**
 * One machine's attempt under infrastructure failures and failing steps (issue 15 part 1, issue 11 part 5):
 * steps retried past the old cap of three, an attempt interrupted for good that records what the host shows
 * and is retried in its next window, and the post-script run as the saga's compensation.
 */

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
timeSkippingServer('test', (e) => (env = e));

/** A daily two-hour window with a drain before and an undrain after. */
const FLEET = {
  maintenanceConfigurations: {
    drained: {
      startDateTime: '2026-01-01 01:00',
      duration: '02:00',
      timeZone: 'UTC',
      recurEvery: '1Day',
      preScript: '/opt/drain.sh',
      postScript: '/opt/undrain.sh',
    },
  },
  machines: [vm('m1', { maintenanceConfiguration: 'drained' })],
};

type Override = Partial<Pick<PatchDriver, 'install' | 'runScript'>>;

/** The simulator (instant), with some of its calls replaced; each replacement gets the simulator too. */
function driverWith(stateDir: string, make: (sim: SimulatedDriver) => Override): PatchDriver {
  const simulated = new SimulatedDriver({ stateDir, timeScale: 0 });
  const overrides = make(simulated);
  return new Proxy(simulated, {
    get(target, prop, receiver) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof Override];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** `halts`: the attempt fails, and a one-machine phase allows no error (one machine must succeed). */
async function run(
  rolloutId: string,
  driver: PatchDriver,
  policy: Record<string, unknown> = {},
  halts = false,
) {
  const input = rolloutInputOf({
    rolloutId,
    fleet: FLEET,
    policy: { windows: 'always', errorBudget: 1, ...policy },
    now: new Date(await env.currentTimeMs()),
  });
  return withWorker(env, { forMachine: () => driver }, async () => {
    const handle = await startRollout(env, input);
    // A halted rollout waits for a person: cancel it to read its report.
    if (halts) {
      await waitForStatus(handle, (r) => r.status === 'Halted', 'the halt');
      await steer(handle, cancelUpdate, { by: 'bob', reason: 'saga test' });
    }
    const report = await rolloutResult(env, handle);
    const attempt = (n: number) =>
      env.client.workflow
        .getHandle(machineWorkflowId(rolloutId, 'eastus', 'm1', n))
        .result() as Promise<MachineAttemptResult>;
    return { report, attempt };
  });
}

const scriptsIn = async (stateDir: string) =>
  (await readLedger(stateDir)).filter((e) => e.kind === 'script').map((e) => `${e.script}#${e.attempt}`);

const failingInstall = () => async () => {
  throw new DriverError('InstallFailed', 'dpkg: error processing package openssl');
};

describe('scripts as a saga', () => {
  test('an install that fails after a successful pre-script still runs the post-script, and records both', async () => {
    const stateDir = tempDir('saga');
    const { report, attempt } = await run(
      'saga',
      driverWith(stateDir, () => ({ install: failingInstall() })),
      {},
      true,
    );
    const first = await attempt(1);
    expect({
      outcome: first.outcome,
      post: first.postScriptAfterFailure,
      scripts: (await scriptsIn(stateDir)).slice(0, 2),
    }).toEqual({
      outcome: 'InstallFailed',
      post: { outcome: 'Succeeded' },
      scripts: ['/opt/drain.sh#1', '/opt/undrain.sh#1'],
    });
    expect(first.detail).toContain('dpkg: error processing package openssl');
    expect(first.detail).toContain('the post-script ran after the failure: succeeded');
    expect(machineOf(report, 'm1').attempts[0].detail).toBe(first.detail);
  });

  test('with postScriptAfterFailure false, the post-script does not run after a failure', async () => {
    const stateDir = tempDir('saga-off');
    const { attempt } = await run(
      'saga-off',
      driverWith(stateDir, () => ({ install: failingInstall() })),
      {
        postScriptAfterFailure: false,
        maxAttempts: 1,
      },
      true,
    );
    const first = await attempt(1);
    expect({ outcome: first.outcome, post: first.postScriptAfterFailure }).toEqual({
      outcome: 'InstallFailed',
      post: undefined,
    });
    expect(await scriptsIn(stateDir)).toEqual(['/opt/drain.sh#1']);
  });

  test('a post-script that fails too is reported beside the first failure, without hiding it', async () => {
    const stateDir = tempDir('saga-both');
    const driver = driverWith(stateDir, (sim) => ({
      install: failingInstall(),
      runScript: async (t: MachineTarget, request: Parameters<PatchDriver['runScript']>[1]) => {
        const ran = await sim.runScript(t, request);
        return request.kind === 'post' ? { exitCode: 3, output: 'load balancer said no' } : ran;
      },
    }));
    const { attempt } = await run('saga-both', driver, { maxAttempts: 1 }, true);
    const first = await attempt(1);
    expect(first.outcome).toBe('InstallFailed');
    expect(first.postScriptAfterFailure?.outcome).toBe('PostScriptFailed');
    expect(first.postScriptAfterFailure?.detail).toContain('exited 3: load balancer said no');
    expect(first.detail).toContain('dpkg: error processing package openssl');
    expect(first.detail).toContain('PostScriptFailed: post-script /opt/undrain.sh exited 3');
  });
});

describe('attempts survive infrastructure', () => {
  test('a step that fails five times without a verdict (more than the old cap of three) is retried and succeeds', async () => {
    const stateDir = tempDir('infra-retry');
    let calls = 0;
    const driver = driverWith(stateDir, (sim) => ({
      install: async (t, request) => {
        // The work is done on the host, then the "worker" is lost before it answers: five times.
        const done = await sim.install(t, request);
        if (++calls <= 5) throw new Error(`worker lost (${calls})`);
        return done;
      },
    }));
    const { report, attempt } = await run('infra-retry', driver, { maxAttempts: 1 });
    const first = await attempt(1);
    expect({ outcome: first.outcome, calls }).toEqual({ outcome: 'Succeeded', calls: 6 });
    expect(first.counts.installed).toBeGreaterThan(0);
    expect(checkLedger(report, await readLedger(stateDir))).toEqual([]);
  });

  test('an attempt whose install never answers until the window ends is Interrupted, records what the host shows, and is retried in the next window', async () => {
    const stateDir = tempDir('infra-interrupted');
    const driver = driverWith(stateDir, (sim) => ({
      install: async (t, request) => {
        // Attempt 1: the first patch reaches the host, then no answer ever comes back.
        if (t.operation.attempt > 1) return sim.install(t, request);
        await sim.install(t, { ...request, patchIds: request.patchIds.slice(0, 1) });
        throw new Error('worker lost');
      },
    }));
    const { report, attempt } = await run('infra-interrupted', driver, { windows: 'offPeak' });
    const first = await attempt(1);
    expect(first.outcome).toBe('Interrupted');
    expect(first.counts.installed).toBe(1);
    expect(first.detail).toMatch(/the install did not finish .*the host shows 1 patch\(es\) installed/);
    // The post-script ran after the interruption (the drain was undone).
    expect(first.postScriptAfterFailure).toEqual({ outcome: 'Succeeded' });
    const second = await attempt(2);
    expect(second.outcome).toBe('Succeeded');
    const m = machineOf(report, 'm1');
    expect(m.attempts.map((a) => a.outcome)).toEqual(['Interrupted', 'Succeeded']);
    expect(report.errors.count).toBe(0);
    // The report (both attempts' installs) equals the ledger, nothing doubled. (Spans aside: the ledger
    // keeps wall-clock times, the time-skipping server skipped a day.)
    const ledger = await readLedger(stateDir);
    const installs = ledger.filter((e) => e.kind === 'install').flatMap((e) => e.patchIds ?? []);
    expect(new Set(installs).size).toBe(installs.length);
    expect(m.installed).toBe(installs.length);
    const reported = m.patches.filter((p) => p.state === 'Installed').map((p) => p.patchId);
    expect(reported.sort()).toEqual([...installs].sort());
    expect(ledger.filter((e) => e.kind === 'install')[0].attempt).toBe(1);
  });
});
