import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { DriverError, type PatchDriver } from '../../activities/drivers/driver';
import { UNREACHABLE_TRIES } from '../../activities/failures';
import { FAILURE } from '../../domain/failures';
import type { MachineSpec } from '../../domain/rollout-spec';

/**
 * Machine steps retry without an attempt cap (workflows/machine-steps.ts): an unreachable host is still a
 * verdict after its tries, because the activity itself makes the last try's failure non-retryable.
 */

const unreachable = {
  bootId: async () => {
    throw new DriverError('Unreachable', 'ssh: connect to host m1 port 22: No route to host');
  },
} as unknown as PatchDriver;
const activities = createActivities({ forMachine: () => unreachable });
const machine = { name: 'm1', os: 'Linux' } as MachineSpec;

async function failureOnTry(attempt: number): Promise<ApplicationFailure> {
  const env = new MockActivityEnvironment({ attempt });
  const err = await env.run(activities.bootId, machine, { id: 'r1', attempt: 1 }).catch((e: unknown) => e);
  if (!(err instanceof ApplicationFailure))
    throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

test.each([
  [1, false],
  [UNREACHABLE_TRIES - 1, false],
  [UNREACHABLE_TRIES, true],
  [UNREACHABLE_TRIES + 4, true],
])('an unreachable host on try %i: non-retryable %s', async (attempt, nonRetryable) => {
  const failure = await failureOnTry(attempt);
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
    type: FAILURE.MachineUnreachable,
    nonRetryable,
  });
});

test('every machine step heartbeats while the driver works, so a dead worker is noticed within the heartbeat timeout', async () => {
  let release!: () => void;
  const slow = {
    health: () =>
      new Promise<{ healthy: boolean; detail: string }>((resolve) => {
        release = () => resolve({ healthy: true, detail: 'ok' });
      }),
  } as unknown as PatchDriver;
  const env = new MockActivityEnvironment();
  const beat = new Promise<void>((resolve) => env.on('heartbeat', () => resolve()));
  const run = env.run(createActivities({ forMachine: () => slow }).healthCheck, machine, {
    id: 'r1',
    attempt: 1,
  });
  await beat; // the first beat comes from the step's own timer while the driver has not answered
  release();
  await expect(run).resolves.toEqual({ healthy: true, detail: 'ok' });
});
