import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { scheduleOptions } from '../../client/commands/schedule';
import { patchTuesday, releaseMonthAt } from '../../domain/calendar';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { instantToLocalMs } from '../../domain/windows';
import { DAY_MS, formatDate, parseDate } from '../../domain/windows/civil-date';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import type { ScheduledRolloutResult } from '../../workflows/messages';
import { rolloutReport } from '../../client/report';
import { tempDir } from '../support/rollouts';
import { testDevServer, testWorkflowBundle } from '../support/servers';

/** Schedules need a real server (the time-skipping test server has no Schedules): the dev server. */
jest.setTimeout(120_000);

const fleetFile = join(__dirname, '..', 'fixtures', 'fleets', 'small.yaml');
let server: DevServer;
let client: Client;
beforeAll(async () => {
  server = await testDevServer();
  client = new Client({
    connection: await Connection.connect({ address: server.address }),
    namespace: server.namespace,
  });
});
afterAll(async () => {
  await client?.connection.close();
  await server?.stop();
});

const localDate = (t: Date, tz: string) => formatDate(Math.floor(instantToLocalMs(tz, t.getTime()) / DAY_MS));
const localHHmm = (t: Date, tz: string) =>
  new Date(instantToLocalMs(tz, t.getTime())).toISOString().slice(11, 16);
const plusDays = (date: string, days: number) => formatDate(parseDate(date)! + days);

/** Independent oracle: the last `weekday` (0 = Sunday, JS numbering) of a month, by walking back from its end. */
function lastWeekday(year: number, month: number, weekday: number): string {
  const d = new Date(Date.UTC(year, month, 0));
  while (d.getUTCDay() !== weekday) d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

async function create(id: string, extra: Record<string, string>, policy?: string) {
  const { options } = scheduleOptions(
    {
      id,
      fleet: fleetFile,
      policy,
      recur: 'Month Second Tuesday',
      at: '00:00',
      timeZone: 'UTC',
      paused: false,
      ...extra,
    },
    new Date(),
  );
  const handle = await client.schedule.create(options);
  return { handle, options };
}

test('Second Tuesday + 4 at 20:00 New York: every next run lands on Patch Tuesday + 4, 20:00 local across DST; overlap is SKIP', async () => {
  const tz = 'America/New_York';
  const { handle, options } = await create('second-tue', {
    offset: '4',
    at: '20:00',
    timeZone: 'Eastern Standard Time',
  });
  expect(options.spec.calendars).toHaveLength(1); // the exact calendar rule, never renewed
  const d = await handle.describe();
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  const next = d.info.nextActionTimes;
  expect(next.length).toBeGreaterThanOrEqual(8);
  const offsets = new Set<number>();
  for (const t of next) {
    const date = localDate(t, tz);
    const [y, m] = date.split('-').map(Number);
    expect(date).toBe(plusDays(patchTuesday(y, m), 4));
    expect(localHHmm(t, tz)).toBe('20:00');
    offsets.add(instantToLocalMs(tz, t.getTime()) - t.getTime());
  }
  // Consecutive months, and the runs span both EST and EDT (any 8 months hold a DST change).
  expect(new Set(next.map((t) => localDate(t, tz).slice(0, 7))).size).toBe(next.length);
  expect(offsets.size).toBe(2);
  await handle.delete();
});

test('Last Friday + 6 in Sydney crosses into the next month: explicit dates, each one exactly right', async () => {
  const tz = 'Australia/Sydney';
  const { handle, options } = await create('last-fri', {
    recur: 'Month Last Friday Offset6',
    at: '01:30',
    timeZone: tz,
  });
  expect(options.spec.calendars!.length).toBe(24);
  const d = await handle.describe();
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  const next = d.info.nextActionTimes;
  expect(next.length).toBeGreaterThanOrEqual(6);
  let crossed = 0;
  for (const t of next) {
    const date = localDate(t, tz);
    // The nominal month is the one of (run date - 6).
    const [y, m] = plusDays(date, -6).split('-').map(Number);
    expect(date).toBe(plusDays(lastWeekday(y, m, 5), 6));
    expect(localHHmm(t, tz)).toBe('01:30');
    if (date.slice(0, 7) !== plusDays(date, -6).slice(0, 7)) crossed++;
  }
  expect(crossed).toBeGreaterThan(0);
  await handle.delete();
});

test('a triggered run starts <id>-<month> from the snapshot and completes; a second trigger that month is a no-op', async () => {
  const policyFile = join(tempDir('sched'), 'policy.yaml');
  writeFileSync(policyFile, 'windows: always\n');
  const { handle } = await create('snap', {}, policyFile);
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(tempDir('sched-state'), 0)),
  });
  const results = await worker.runUntil(async () => {
    const out: ScheduledRolloutResult[] = [];
    for (let n = 1; n <= 2; n++) {
      await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      let actions = (await handle.describe()).info.recentActions;
      while (actions.length < n) actions = (await handle.describe()).info.recentActions;
      const action = actions[n - 1].action;
      if (action.type !== 'startWorkflow') throw new Error('unexpected action');
      out.push(
        await client.workflow
          .getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId)
          .result(),
      );
    }
    return out;
  });
  await handle.delete();
  await nativeConnection.close();
  // The latest release on or before the run (the schedule's zone is UTC): before Patch Tuesday, last month's.
  const month = releaseMonthAt(Date.now());
  expect(results[0]).toMatchObject({ rolloutId: `snap-${month}`, month, alreadyStarted: false });
  expect(results[0].report?.status).toBe('Completed');
  expect(results[0].report?.month).toBe(month);
  const report = await rolloutReport(client, `snap-${month}`);
  expect(
    report.machines
      .filter((m) => m.outcome === 'Succeeded')
      .map((m) => m.name)
      .sort(),
  ).toEqual(['e1', 'e2', 'w1', 'w2']);
  expect(results[1]).toMatchObject({ rolloutId: `snap-${month}`, alreadyStarted: true });
});
