import { isGrpcServiceError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import { nextWindow } from '../../domain/windows';
import { machineWorkflowId } from '../../workflows/ids';
import { readSlice, specStoreDir } from '../../store/spec-store';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  inOffPeak,
  localTime,
  machineOf,
  ms,
  offPeakNight,
  rolloutResult,
  skipToLocalNoon,
  startRollout,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

const NY = 'America/New_York';
const HOUR = 3_600_000;

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

/** The calendar day after a `YYYY-MM-DD` date. */
function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 24 * HOUR).toISOString().slice(0, 10);
}

test('a machine started outside its off-peak hours is patched inside its local window, that same night', async () => {
  const stateDir = tempDir('offpeak');
  const startedAt = await skipToLocalNoon(env, NY);
  const input = rolloutInputOf({
    rolloutId: 'offpeak-window',
    fleet: { machines: [vm('ny1', { timeZone: NY })] },
    policy: { windows: 'offPeak' },
    now: new Date(startedAt),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );

  expect(report.status).toBe('Completed');
  const [attempt] = machineOf(report, 'ny1').attempts;
  expect(attempt.outcome).toBe('Succeeded');
  const begin = ms(attempt.startedAt);
  expect(inOffPeak(NY, begin)).toBe(true);
  expect(inOffPeak(NY, ms(attempt.finishedAt))).toBe(true);
  // It waited for tonight's window (10 h after local noon), not a later one.
  expect(begin - startedAt).toBeGreaterThanOrEqual(9 * HOUR);
  expect(offPeakNight(NY, begin)).toBe(localTime(NY, startedAt).date);
  expect((await readLedger(stateDir)).some((e) => e.machine === 'ny1' && e.kind === 'install')).toBe(true);
});

test('a retry after Pending runs in the next local night, not again in the window that ran out', async () => {
  const stateDir = tempDir('retry-window');
  const startedAt = await skipToLocalNoon(env, NY);
  const input = rolloutInputOf({
    rolloutId: 'retry-next-window',
    fleet: { machines: [vm('ny2', { timeZone: NY, simulation: { pendingPatches: 1 } })] },
    policy: { windows: 'offPeak' },
    now: new Date(startedAt),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );

  expect(report.status).toBe('Completed');
  const m = machineOf(report, 'ny2');
  expect(m.outcome).toBe('Succeeded');
  expect(m.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
    [1, 'Pending'],
    [2, 'Succeeded'],
  ]);
  const [first, second] = m.attempts.map((a) => ms(a.startedAt));
  expect(inOffPeak(NY, first)).toBe(true);
  expect(inOffPeak(NY, second)).toBe(true);
  expect(offPeakNight(NY, second)).toBe(dayAfter(offPeakNight(NY, first)));
  // The host was only changed by the second attempt: the first one's patches stayed pending.
  const installs = (await readLedger(stateDir)).filter((e) => e.machine === 'ny2' && e.kind === 'install');
  expect(installs.length).toBeGreaterThan(0);
  expect(installs.every((e) => e.attempt === 2)).toBe(true);
});

/**
 * Lets the clock run until `until` although a timer of `sleeper` fires on the way while no worker polls.
 * The test server stops skipping time while a workflow task waits for a worker, so this lifts the skip
 * lock the environment holds, lets the timer fire, sleeps to `until` past the pending task, and takes
 * the lock back: the count is balanced again once a worker completes that task.
 */
async function passTimeWithoutWorker(sleeper: WorkflowHandle, until: number): Promise<void> {
  const testService = env.connection.testService!;
  await testService.unlockTimeSkipping({});
  await waitUntil(
    () => sleeper.fetchHistory(),
    (h) => h.events!.some((e) => e.timerFiredEventAttributes),
    'the timer to fire',
  );
  await env.sleep(until - (await env.currentTimeMs()));
  await testService.lockTimeSkipping({});
}

test('a window timer that fires while no worker runs does not patch after the window closed', async () => {
  const stateDir = tempDir('late-timer');
  const drivers = driversOf({ stateDir });
  const startedAt = await skipToLocalNoon(env, NY);
  const input = rolloutInputOf({
    rolloutId: 'late-timer',
    fleet: { machines: [vm('ny3', { timeZone: NY })] },
    policy: { windows: 'offPeak' },
    now: new Date(startedAt),
  });
  const machine = env.client.workflow.getHandle(machineWorkflowId(input.rolloutId, 'eastus', 'ny3', 1));
  const history = async () => {
    try {
      return (await machine.fetchHistory()).events!;
    } catch (err) {
      const notFound = err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5);
      if (notFound) return []; // the machine's attempt has not started yet
      throw err;
    }
  };

  // Worker 1 starts the rollout and stops once the machine sleeps on its window's timer. Without a
  // sticky cache, the wake-up is queued where the next worker polls.
  const rollout = await withWorker(
    env,
    drivers,
    async () => {
      const handle = await startRollout(env, input);
      await waitUntil(
        history,
        (events) => events.some((e) => e.timerStartedEventAttributes),
        'the machine to wait for its window',
      );
      return handle;
    },
    { maxCachedWorkflows: 0 },
  );

  // With no worker running, the timer fires at the window's start and the clock runs past its end.
  const spec = readSlice(specStoreDir(), input.regions[0].slices[0]).machines[0];
  const missed = nextWindow(spec.schedule!, await env.currentTimeMs())!;
  expect([localTime(NY, missed.start).hour, localTime(NY, missed.end).hour]).toEqual([22, 6]);
  await passTimeWithoutWorker(machine, missed.end + 2 * HOUR);

  // Worker 2 handles the late wake-up: the window is checked again and the machine waits for the next one.
  const report = await withWorker(env, drivers, () => rolloutResult(env, rollout));
  const events = await history();
  const fired = events.findIndex((e) => e.timerFiredEventAttributes);
  const wokeAt = events.slice(fired).find((e) => e.workflowTaskStartedEventAttributes)!.eventTime!;
  expect(Number(wokeAt.seconds) * 1000).toBeGreaterThan(missed.end); // the scenario really happened
  expect(events.slice(fired).some((e) => e.timerStartedEventAttributes)).toBe(true); // and it slept again

  const [attempt] = machineOf(report, 'ny3').attempts;
  expect(attempt.outcome).toBe('Succeeded');
  const begin = ms(attempt.startedAt);
  expect(begin).toBeGreaterThanOrEqual(missed.end);
  expect(inOffPeak(NY, begin)).toBe(true);
  expect(offPeakNight(NY, begin)).toBe(dayAfter(offPeakNight(NY, missed.start)));
});
