import { setTimeout as pause } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities, type Drivers } from '../../activities';
import { SimulatedDriver, type SimulatedDriverOptions } from '../../activities/drivers/simulated';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../../domain/rollout-spec';
import { regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { regionStatusQuery } from '../../workflows/region';
import { statusQuery } from '../../workflows/rollout';
import type { MachineReport, RolloutReport } from '../../workflows/rollout-state';
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
  return worker.runUntil(fn);
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

export async function rolloutResult(handle: WorkflowHandle): Promise<RolloutReport> {
  return (await handle.result()) as RolloutReport;
}

/**
 * Polls `read` until `done` holds and returns that value. This waits on observed workflow state (a query,
 * a history, the ledger); the short pause between reads only keeps the poll from spinning.
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
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

export async function waitForStatus(
  handle: WorkflowHandle,
  done: (r: RolloutReport) => boolean,
  what: string,
): Promise<RolloutReport> {
  return waitUntil(() => handle.query(statusQuery), done, what);
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
