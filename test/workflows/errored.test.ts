import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DriverError, type PatchDriver } from '../../activities/drivers/driver';
import { SimulatedDriver } from '../../activities/drivers/simulated';
import { machineWorkflowId } from '../../workflows/ids';
import { machineOf, rolloutResult, startRollout, withWorker } from '../support/workflow-harness';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
timeSkippingServer('file', (e) => (env = e));

/**
 * The simulator, except that one machine's package manager is broken (assessment fails for good), and
 * another's install fails in a way the lifecycle does not map (after it began disrupting the machine).
 */
function brokenAssessFor(broken: string, stateDir: string, brokenInstall = 'none'): PatchDriver {
  const simulated = new SimulatedDriver({ stateDir, timeScale: 0 });
  return new Proxy(simulated, {
    get(target, prop, receiver) {
      if (prop === 'assess')
        return async (t: Parameters<PatchDriver['assess']>[0]) => {
          if (t.name === broken)
            throw new DriverError('InstallFailed', 'apt-get update failed: broken sources.list');
          return target.assess(t);
        };
      if (prop === 'install')
        return async (...args: Parameters<PatchDriver['install']>) => {
          if (args[0].name === brokenInstall)
            throw new DriverError('ScriptFailed', 'dpkg was interrupted: run dpkg --configure -a');
          return target.install(...args);
        };
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a machine whose attempt fails unexpectedly is recorded Errored and counted, without failing its region', async () => {
  const stateDir = tempDir('errored');
  const input = rolloutInputOf({
    rolloutId: 'errored',
    fleet: {
      machines: [
        vm('ok-1', { zone: '1' }),
        vm('broken', { zone: '1' }),
        vm('ok-2', { zone: '2' }),
        vm('broken-install', { zone: '2' }),
      ],
    },
    policy: { windows: 'always', errorBudget: 2 },
    now: new Date(),
  });
  const driver = brokenAssessFor('broken', stateDir, 'broken-install');
  const report = await withWorker(env, { forMachine: () => driver }, async () =>
    rolloutResult(env, await startRollout(env, input)),
  );

  expect(report.status).toBe('Completed');
  expect(machineOf(report, 'broken').outcome).toBe('Errored');
  expect(machineOf(report, 'broken').detail).toContain('apt-get update failed');
  expect(machineOf(report, 'ok-1').outcome).toBe('Succeeded');
  expect(machineOf(report, 'ok-2').outcome).toBe('Succeeded');
  expect(report.errors).toEqual({ count: 2, allowed: 2 });
  // An attempt that failed before touching its machine has no disruptive span; one that failed during
  // its install has one, read from its history (such an attempt leaves no memo).
  expect(machineOf(report, 'broken').attempts[0].startedAt).toBeUndefined();
  const [disrupted] = machineOf(report, 'broken-install').attempts;
  expect(disrupted.outcome).toBe('Errored');
  expect(disrupted.detail).toContain('dpkg was interrupted');
  expect(Date.parse(disrupted.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(disrupted.startedAt!));
  // The machine's own workflow shows the failure in the UI.
  const described = await env.client.workflow
    .getHandle(machineWorkflowId('errored', 'eastus', 'broken', 1))
    .describe();
  expect(described.status.name).toBe('FAILED');
});
