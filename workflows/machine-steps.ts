import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  type RetryPolicy,
  setCurrentDetails,
  TimeoutFailure,
  upsertMemo,
} from '@temporalio/workflow';
import type { Activities, Operation } from '../activities';
import { NON_RETRYABLE_FAILURES } from '../domain/failures';
import type { PatchOutcome } from '../domain/patches';
import type { MachineSpec, RolloutSettings } from '../domain/rollout-spec';
import { DEFAULT_TASK_QUEUE } from '../domain/task-queues';
import { ATTEMPT_MEMO_KEY, type MachineAttemptMemo, type MachineAttemptResult } from './messages';

/**
 * How a machine attempt calls its activities (workflows/machine.ts). Every driver step checks the host
 * first, so it is retried without an attempt cap across worker deaths and timeouts, bounded instead by
 * time: the window's end or the rollout's deadline (schedule-to-close). Only the host's verdicts (the
 * failure catalogue's non-retryable types, and an unreachable host after its tries, activities/failures.ts)
 * end a step early.
 */

/** A dead worker is noticed within this: every machine step heartbeats every second. */
export const STEP_HEARTBEAT = '10 seconds';
/** The least time a step is given, even when its bound has (almost) passed: cleanup and re-reading the host. */
const FLOOR_MS = 5 * 60_000;

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
};

/** The machine's activities, each step's retries bounded by `bound` (epoch ms) at the moment it is called. */
export function machineSteps(machine: Pick<MachineSpec, 'taskQueue'>, bound: () => number) {
  const budget = (floor: number) => Math.max(floor, bound() - Date.now());
  const proxy = (startToCloseTimeout: '1 minute' | '4 hours', floor = FLOOR_MS) =>
    proxyActivities<Activities>({
      taskQueue: machine.taskQueue,
      startToCloseTimeout,
      heartbeatTimeout: STEP_HEARTBEAT,
      scheduleToCloseTimeout: budget(floor),
      retry,
    });
  return {
    /** Assess, boot id, reboot, health: a minute a try. */
    quick: () => proxy('1 minute'),
    /** Scripts, install, the wait for a reboot: hours a try. */
    long: () => proxy('4 hours'),
    /** Computes a window: no host involved, a dead worker is noticed by a short start-to-close. */
    findWindow: () =>
      proxyActivities<Activities>({
        taskQueue: machine.taskQueue,
        startToCloseTimeout: '10 seconds',
        scheduleToCloseTimeout: budget(60_000),
        retry,
      }).findWindow,
  };
}

/**
 * A machine of a `site` is patched by that site's worker, on its own task queue. Before its first step the
 * attempt asks the queue for an answer: when none comes within `siteWorkerNoticeSeconds` (a schedule-to-start timeout) it
 * says so (`say`: the attempt's details and memo, which `rollout status` lists) and keeps waiting, until a
 * worker answers or the rollout's deadline passes (false). Machines on the orchestration's queue skip it.
 */
export async function awaitSiteWorker(
  machine: MachineSpec,
  { deadline, siteWorkerNoticeSeconds = 60 }: Pick<RolloutSettings, 'deadline' | 'siteWorkerNoticeSeconds'>,
  memo: () => MachineAttemptMemo,
): Promise<boolean> {
  const noticeMs = siteWorkerNoticeSeconds * 1000;
  const say = (waiting: string | undefined) => {
    setCurrentDetails(waiting ? `Waiting: ${waiting}` : "The site's worker answered");
    upsertMemo({ [ATTEMPT_MEMO_KEY]: { ...memo(), ...(waiting ? { waiting } : {}) } });
  };
  if (machine.taskQueue === DEFAULT_TASK_QUEUE) return true; // not a site's: the orchestration's own queue
  const probe = (scheduleToStartTimeout?: number) =>
    proxyActivities<Activities>({
      taskQueue: machine.taskQueue,
      startToCloseTimeout: '10 seconds',
      scheduleToCloseTimeout: Math.max(60_000, deadline - Date.now()),
      ...(scheduleToStartTimeout ? { scheduleToStartTimeout } : {}),
      retry: { maximumAttempts: 1 },
    }).siteWorkerReady();
  try {
    await probe(noticeMs);
    return true;
  } catch (err) {
    const timeout =
      err instanceof ActivityFailure && err.cause instanceof TimeoutFailure ? err.cause : undefined;
    if (timeout?.timeoutType !== 'SCHEDULE_TO_START') throw err;
  }
  say(`no worker on task queue ${machine.taskQueue}`);
  try {
    await probe();
  } catch (err) {
    if (isInfrastructure(err)) return false;
    throw err;
  }
  say(undefined);
  return true;
}

/** The failure catalogue's type of an activity's failure. */
export function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
    return err.cause.type ?? undefined;
  return undefined;
}

/**
 * A step that ran out of time without a verdict from the host (its last try timed out, or its retries ran
 * into the step's bound): infrastructure, not the machine.
 */
export function isInfrastructure(err: unknown): boolean {
  return (
    err instanceof ActivityFailure && (err.cause instanceof TimeoutFailure || err.retryState === 'TIMEOUT')
  );
}

/** Why a step failed, in an operator's words: the root cause, not "Activity task failed". */
export function causeOf(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The selected patches' outcomes once the host has been read again after an interruption: those it no
 * longer offers were installed; the others stay Pending. Without a reading, every one not known Installed
 * stays Pending.
 */
export function patchesAfterRereading(
  selected: readonly string[],
  known: readonly PatchOutcome[],
  stillOffered: ReadonlySet<string> | undefined,
): PatchOutcome[] {
  const installed = new Set(known.filter((p) => p.state === 'Installed').map((p) => p.patchId));
  return selected.map((patchId) => ({
    patchId,
    state: installed.has(patchId) || (stillOffered && !stillOffered.has(patchId)) ? 'Installed' : 'Pending',
  }));
}

/**
 * The host read again after an interruption: the patches it still offers and its boot id (only when a reboot
 * may have started, `bootBefore`); what could not be read is named in `unread`.
 */
export async function rereadHost(
  read: Pick<Activities, 'assess' | 'bootId'>,
  machine: MachineSpec,
  op: Operation,
  bootBefore: string | undefined,
): Promise<{ offered?: Set<string>; assessedAt?: string; bootId?: string; unread: string[] }> {
  const host: { offered?: Set<string>; assessedAt?: string; bootId?: string; unread: string[] } = {
    unread: [],
  };
  try {
    const again = await read.assess(machine, op);
    host.offered = new Set(again.patches.map((p) => p.patchId));
    host.assessedAt = again.assessedAt;
  } catch (err) {
    host.unread.push(`its patches (${causeOf(err)})`);
  }
  if (bootBefore !== undefined) {
    try {
      host.bootId = await read.bootId(machine, op);
    } catch (err) {
      host.unread.push(`its boot id (${causeOf(err)})`);
    }
  }
  return host;
}

export function memoOf(r: MachineAttemptResult, m: MachineSpec): MachineAttemptMemo {
  const { attempt, outcome, startedAt, finishedAt, detail, counts, rebooted, assessedAt } = r;
  const { region, zone, availabilitySet, updateDomain } = m;
  return {
    attempt,
    outcome,
    startedAt,
    finishedAt,
    detail,
    counts,
    rebooted,
    assessedAt,
    region,
    zone,
    availabilitySet,
    updateDomain,
  };
}
