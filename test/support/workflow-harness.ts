import { randomUUID } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { createActivities, type Drivers } from '../../activities';
import { SimulatedDriver, type SimulatedDriverOptions } from '../../activities/drivers/simulated';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../../domain/rollout-spec';
import { readSlice, specStoreDir } from '../../store/spec-store';
import type { ListedExecution } from '../../client/machine-attempts';
import { rolloutInput, rolloutReport } from '../../client/report';
import { pastDeadline } from '../../client/rollout-view';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { leasesQuery, type LeasesQueryOptions, type LeasesView } from '../../workflows/guard-contracts';
import {
  FLEET_GUARD_ID,
  regionStatusQuery,
  statusQuery,
  type MachineReport,
  type RolloutReport,
  type RolloutSummary,
} from '../../workflows/messages';
import { tasksFailingSince, workflowReport } from './hang-report';
import { testWorkflowBundle } from './servers';

/** One simulated driver for every machine; `timeScale` 0 unless told, `month` as the policy's. */
export function driversOf(options: SimulatedDriverOptions): Drivers {
  const driver = new SimulatedDriver({ timeScale: 0, ...options });
  return { forMachine: () => driver };
}

/** Runs `fn` while a worker (workflows from the pre-built bundle, simulated activities) polls the default queue. */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  drivers: Drivers,
  fn: () => Promise<T>,
  extra: { maxCachedWorkflows?: number } = {},
): Promise<T> {
  const worker = await Worker.create({
    ...extra,
    connection: env.nativeConnection,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(drivers),
  });
  // A worker that does not stop once its work ended says so in the log (a hang seen in CI reads from it).
  let slowStop: NodeJS.Timeout | undefined;
  const work = async () => {
    const result = await fn();
    slowStop = setTimeout(
      () => console.error(`the worker is still ${worker.getState()} 20 s after its work ended`),
      20_000,
    );
    return result;
  };
  try {
    return await worker.runUntil(work);
  } finally {
    clearTimeout(slowStop);
    await endGuard(env);
  }
}

/**
 * Ends the fleet guard a worker session leaves running. The Java time-skipping server never moves a
 * workflow task off a stopped worker's sticky queue, so a guard cached by the previous session's worker
 * would never answer the next session (the dev server and a cluster do move it). The next request starts
 * a new guard; holders find the old one gone and carry on.
 */
export async function endGuard(env: TestWorkflowEnvironment): Promise<void> {
  try {
    await env.client.workflow.getHandle(FLEET_GUARD_ID).terminate('test session over');
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

export async function startRollout(
  env: TestWorkflowEnvironment,
  input: RolloutInput,
): Promise<WorkflowHandle> {
  return env.client.workflow.start('rolloutWorkflow', {
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowId: rolloutWorkflowId(input.rolloutId),
    args: [input],
  });
}

/**
 * Waits for the rollout to end and returns its full report, assembled the way `offpeak rollout report`
 * does it (client/report.ts), except that the attempts are described by ID: the time-skipping server has
 * no visibility listing.
 */
export async function rolloutResult(
  env: TestWorkflowEnvironment,
  handle: WorkflowHandle,
): Promise<RolloutReport> {
  const summary = (await resultOf(env, handle.workflowId)) as RolloutSummary;
  return reportOf(env, summary.rolloutId);
}

/**
 * A workflow's result, with time skipping unlocked while it is awaited (as the time-skipping client's
 * `result()` does). Each wait has a deadline and is asked again when it passes: the time-skipping server
 * can leave a result's long poll unanswered after the workflow has closed (a CI run once hung 120 s in a
 * test whose only unbounded wait was a cancelled rollout's result). It waits on the latest run, not the
 * first: under load a result that follows a long chain of continued runs was left waiting the same way.
 * Time skipping is locked again outside the deadline, so a cut wait never leaves it unlocked for the
 * next test. A workflow whose task keeps failing fails the wait, with its report: the saga tests' CI hang
 * was one (a rollout replayed after its last task met a region's closing, and the Java test server had
 * recorded an Update as after a signal that the worker had been given it before: a nondeterminism error
 * on every attempt; a rollout now ends after its regions close, workflows/rollout.ts).
 */
async function resultOf(env: TestWorkflowEnvironment, workflowId: string): Promise<unknown> {
  const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  const latest = client.workflow.getHandle(workflowId);
  const testService = env.supportsTimeSkipping ? env.connection.testService : undefined;
  await testService?.unlockTimeSkipping({});
  try {
    for (;;) {
      try {
        return await env.connection.withDeadline(Date.now() + RESULT_DEADLINE_MS, () => latest.result());
      } catch (err) {
        if (!pastDeadline(err)) throw err;
        // Still waiting: how the workflow and its children stand goes to the log, for a hang seen in CI.
        const report = await workflowReport(client, workflowId, 2, 80).catch(
          (e: unknown) => `no report: ${e}`,
        );
        // A workflow task that keeps failing (the worker times it out from its second attempt on) never
        // lets the workflow end: fail now, by name, rather than at the test's timeout.
        if ((await tasksFailingSince(latest)) >= STUCK_TASK_ATTEMPTS)
          throw new Error(`${workflowId} is stuck: its workflow task keeps failing\n${report}`, {
            cause: err,
          });
        console.error(`still waiting for the result of ${workflowId}:\n${report}`);
      }
    }
  } finally {
    await testService?.lockTimeSkipping({});
  }
}
const RESULT_DEADLINE_MS = 30_000;
const STUCK_TASK_ATTEMPTS = 3;

/** The rollout's full report now (running or ended), as `rolloutResult` assembles it. */
export async function reportOf(env: TestWorkflowEnvironment, rolloutId: string): Promise<RolloutReport> {
  // A plain client: the time-skipping client's `result()` unlocks and relocks time skipping, which there
  // makes the next update on the rollout go unanswered.
  const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  // The plan as the report reads it: the rollout's input, from the start of its latest run.
  const input = await rolloutInput(
    client,
    await client.workflow.getHandle(rolloutWorkflowId(rolloutId)).describe(),
  );
  return rolloutReport(client, rolloutId, { patches: true, executions: () => attemptsById(env, input) });
}

/** Every attempt of every planned machine, described by its workflow ID (attempts are numbered from 1). */
async function* attemptsById(
  env: TestWorkflowEnvironment,
  input: RolloutInput,
): AsyncIterable<ListedExecution> {
  for (const region of input.regions)
    for (const ref of region.slices)
      for (const m of readSlice(specStoreDir(), ref).machines)
        for (let attempt = 1; attempt <= input.settings.maxAttempts; attempt++) {
          const id = machineWorkflowId(input.rolloutId, region.region, m.name, attempt);
          try {
            yield await env.client.workflow.getHandle(id).describe();
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) break;
            throw err;
          }
        }
}

/**
 * Polls `read` until `done` holds and returns that value. This waits on observed workflow state (a query,
 * a history, the ledger); the short pause between reads only keeps the poll from spinning.
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000, // only a failing wait reaches it: generous for a loaded machine
): Promise<T> {
  const give = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > give)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await pause(25);
  }
}

/**
 * Polls the rollout's status query. Each query has its own deadline and is asked again when it passes: the
 * time-skipping test server never answers a query still pending when its run continues as new (seen under
 * load), and the next query reaches the new run.
 */
export async function waitForStatus(
  handle: WorkflowHandle,
  done: (r: RolloutSummary) => boolean,
  what: string,
  // Generous: a rollout that continues as new every few events reaches its state in many runs, slowly
  // on a loaded machine (a CI run once took over 20 s); a wait that is met returns at once.
  timeoutMs = 60_000,
): Promise<RolloutSummary> {
  const read = () =>
    handle.client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(statusQuery))
      .catch((err: unknown) => ({ unanswered: String(err) }));
  const answered = (r: RolloutSummary | { unanswered: string }): r is RolloutSummary => !('unanswered' in r);
  return (await waitUntil(read, (r) => answered(r) && done(r), what, timeoutMs)) as RolloutSummary;
}
const QUERY_DEADLINE_MS = 5_000;

/**
 * The fleet guard's leases (no guard: none). Each query has its own deadline and is asked again when it
 * passes, for the reason `waitForStatus` gives: the guard continues as new every few events in tests.
 */
export async function guardLeases(client: Client, options?: LeasesQueryOptions): Promise<LeasesView> {
  for (let tries = 1; ; tries++) {
    try {
      return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        client.workflow.getHandle(FLEET_GUARD_ID).query(leasesQuery, options),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { held: [], waiting: [], expired: [] };
      if (tries >= 12) throw err;
    }
  }
}

export function regionStatus(env: TestWorkflowEnvironment, rolloutId: string, region: string) {
  return env.client.workflow.getHandle(regionWorkflowId(rolloutId, region)).query(regionStatusQuery);
}

export function machineOf(report: RolloutReport, name: string): MachineReport {
  const m = report.machines.find((x) => x.name === name);
  if (!m) throw new Error(`no machine ${name} in the report`);
  return m;
}

// ---- Local wall-clock time, computed with Intl independently of domain/windows ---------------------------

const HOUR = 3_600_000;

export function localTime(zone: string, at: number): { date: string; hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    hour: Number(get('hour')),
    minute: Number(get('minute')),
  };
}

/** Whether an instant lies in the off-peak hours 22:00-06:00 of the zone's wall clock. */
export function inOffPeak(zone: string, at: number): boolean {
  const { hour } = localTime(zone, at);
  return hour >= 22 || hour < 6;
}

/** The local date on which the off-peak night containing `at` began (22:00 that evening). */
export function offPeakNight(zone: string, at: number): string {
  if (!inOffPeak(zone, at)) throw new Error(`${new Date(at).toISOString()} is not off-peak in ${zone}`);
  const { hour } = localTime(zone, at);
  return localTime(zone, hour >= 22 ? at : at - 12 * HOUR).date;
}

/** Skips the server's clock to the next noon UTC, to the millisecond (a whole day if it is noon now). */
export async function skipToNoonUtc(env: TestWorkflowEnvironment): Promise<number> {
  const now = await env.currentTimeMs();
  await env.sleep((DAY + DAY / 2 - (now % DAY)) % DAY || DAY);
  return env.currentTimeMs();
}
const DAY = 24 * HOUR;

/** Advances the time-skipping clock to about local noon in `zone` (well outside 22:00-06:00); returns the new time. */
export async function skipToLocalNoon(env: TestWorkflowEnvironment, zone: string): Promise<number> {
  const now = await env.currentTimeMs();
  const { hour, minute } = localTime(zone, now);
  const ahead = ((12 - hour + 24) % 24) * HOUR - minute * 60_000;
  if (ahead > 0) await env.sleep(ahead);
  const after = await env.currentTimeMs();
  if (inOffPeak(zone, after))
    throw new Error(`still off-peak in ${zone} at ${new Date(after).toISOString()}`);
  return after;
}

export const ms = (iso: string | undefined): number => {
  if (iso === undefined) throw new Error('missing timestamp');
  return Date.parse(iso);
};

/** The machines of each step of a region, in plan order, from its slices (inline or in the spec store). */
export function stepsOf(region: RolloutInput['regions'][number]): string[][] {
  return region.slices.flatMap((ref) => readSlice(specStoreDir(), ref).steps.map((s) => s.machines));
}

/** Polls the rollout's full report (machines included) until `done` holds. */
export async function waitForReport(
  env: TestWorkflowEnvironment,
  rolloutId: string,
  done: (r: RolloutReport) => boolean,
  what: string,
): Promise<RolloutReport> {
  return waitUntil(() => reportOf(env, rolloutId), done, what);
}

/**
 * An operator command (an Update), answered at once with the rollout's decision.
 *
 * Workflow tests that steer rollouts or read their reports get a time-skipping server per test (a
 * `timeSkippingEnv()` in `beforeEach`): on a shared one, a later test's `env.sleep` can hang once an earlier
 * test updated a rollout or read its attempts' results (a gap of the Java test server, not seen on the dev
 * server or a cluster). Another gap of that server: an Update that arrives in the same workflow task as a
 * signal is given to the worker before the signal but recorded after it (its request names the task's
 * scheduled event, its acceptance the last event before the task started), so that task does not replay.
 */
export async function steer<Ret, Arg>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
): Promise<Ret> {
  // One ID for every try: Temporal answers a repeated Update ID with the first one's outcome, so a try
  // whose answer was lost is asked again without deciding twice; a rollout that never answers fails here,
  // by name, instead of at the test's timeout.
  const updateId = `steer-${randomUUID()}`;
  for (let tries = 1; tries <= STEER_TRIES; tries++) {
    try {
      return await handle.client.connection.withDeadline(Date.now() + STEER_DEADLINE_MS, () =>
        handle.executeUpdate(update, { args: [arg], updateId }),
      );
    } catch (err) {
      if (!pastDeadline(err)) throw err;
    }
  }
  throw new Error(
    `the rollout did not answer ${update.name} in ${STEER_TRIES} tries of ${STEER_DEADLINE_MS} ms`,
  );
}
const STEER_DEADLINE_MS = 20_000;
const STEER_TRIES = 4;
