import { ActivityFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { MachineSpec } from '../domain/machine-spec';
import { countsAsError } from '../domain/outcomes';
import type { PlanStep } from '../domain/plan';
import { expectedDurations, expectedRebootMinutes } from '../domain/planner/expected';
import { FollowerPlaces, keysOf, sameSegment } from '../domain/planner/pipelined-lane';
import { errored } from './attempt-errors';
import { startMachineAttempt } from './children';
import type { NextStep } from './lane-steps';
import type { MachineAttemptResult, RegionInput } from './messages';
import type { RegionLeases } from './region-lease';
import type { StartBudget } from './start-budget';

/*
 * Pipelined steps (docs/planner.md, "Pipelined steps"): while a lane's step (the leader) runs, the lane's
 * next step of the same segment (the follower) starts machines in the places the leader's machines free,
 * as the forecast models it (domain/planner/pipelined-lane.ts), so a step no longer lasts as long as its
 * slowest machine. A follower starts only when its lease was granted ahead, so every other run finds
 * both steps' machines taken; and at every instant no key (zone, set, service, subscription) has more
 * machines down than the leader alone had.
 */

/** What following needs of the lane's region (workflows/region-lane.ts's LaneContext has it). */
export interface FollowContext {
  input: RegionInput;
  leases: RegionLeases;
  starts: StartBudget;
  /** Whether the lane may start one more machine early (no hold, no stop, room in the run): counts it. */
  mayFollow: (lane: number) => boolean;
}

/** A step whose machines began while its leader ran: the lane's next turn takes it over. */
export interface Begun {
  slice: number;
  step: number;
  names: string[];
  /** Their results, an unexpected failure as Errored: these promises never reject. */
  results: Array<Promise<MachineAttemptResult>>;
}

/** A running step: its plan, its machines (started, in step order) and their results (never rejecting). */
export interface Leader {
  plan: PlanStep;
  machines: MachineSpec[];
  results: Array<Promise<MachineAttemptResult>>;
}

/** An attempt's result, an unexpected failure as Errored (a machine's error, not the region's). */
export const settled = (name: string, attempt: number, result: Promise<unknown>) =>
  (result as Promise<MachineAttemptResult>).catch((err: unknown) => errored(name, attempt, err));

const keysOfSpec = (m: MachineSpec) => keysOf(m, m.lease?.service);

/** Whether `next` may follow the leader at all: round 1, the same segment, no health signals to ask after each step. */
function followable(
  input: RegionInput,
  round: number,
  leader: Leader,
  next: NextStep | undefined,
): next is NextStep {
  return (
    next !== undefined &&
    round === 1 &&
    input.settings.health === undefined &&
    leader.machines.length > 0 &&
    sameSegment(leader.plan, next.plan)
  );
}

/**
 * Waits for the leader's results (in step order). While it runs, `next` follows it when it may: each
 * machine that ends frees its places, and the follower's machine that `FollowerPlaces` names (the slowest
 * expected first) starts in them if its attempt would run whole from now (`followerFit`); the first that
 * would not waits for its step, and with it the rest. Nothing more follows once a machine of either step
 * counts as an error (its report may halt the rollout), or the lane may not (`mayFollow`).
 */
export async function runLeader(
  ctx: FollowContext,
  lane: number,
  round: number,
  leader: Leader,
  next: NextStep | undefined,
): Promise<{ results: MachineAttemptResult[]; begun?: Begun }> {
  if (!followable(ctx.input, round, leader, next)) return { results: await Promise.all(leader.results) };
  const { settings } = ctx.input;
  const hotpatchMonth = settings.monthType === 'hotpatch';
  const expected = next.machines.map((m) => {
    const d = expectedDurations(m);
    const hotpatchOnly = m.hotpatchCapable && hotpatchMonth;
    const rebootMinutes = expectedRebootMinutes(settings.rebootSetting, d.rebootMinutes, hotpatchOnly);
    return { os: m.os, installMinutes: d.installMinutes, rebootMinutes };
  });
  const leaderKeys = leader.machines.map(keysOfSpec);
  const followerKeys = next.machines.map(keysOfSpec);
  const places = new FollowerPlaces(
    leaderKeys,
    followerKeys,
    expected.map((e) => e.installMinutes + e.rebootMinutes),
  );
  const results: MachineAttemptResult[] = new Array<MachineAttemptResult>(leader.results.length);
  const ended: Array<readonly string[]> = [];
  let left = leader.results.length;
  let failed = false;
  const onEnd = (keys: readonly string[], r: MachineAttemptResult) => {
    ended.push(keys);
    if (countsAsError(r.outcome, r.attempt >= settings.maxAttempts)) failed = true;
  };
  leader.results.forEach(
    (p, i) =>
      void p.then((r) => {
        results[i] = r;
        left--;
        onEnd(leaderKeys[i], r);
      }),
  );
  const begun: Begun = { slice: next.slice, step: next.step, names: [], results: [] };
  /** Per follower machine that did not fit: until when that stands. */
  const noFitUntil = new Map<number, number>();
  let following = true;

  const fits = async (k: number, now: number): Promise<boolean> => {
    const m = next.machines[k];
    if ((noFitUntil.get(k) ?? -Infinity) > now) return false;
    // An always open window cuts nothing: only the deadline can (as forecastAttempt has it).
    if (m.schedule === null) return now + expected[k].installMinutes * 60_000 <= settings.deadline;
    try {
      const { followerFit } = proxyActivities<Activities>({
        taskQueue: m.taskQueue,
        startToCloseTimeout: '10 seconds',
        scheduleToCloseTimeout: '1 minute',
      });
      const answer = await followerFit(m.schedule, now, expected[k], settings.deadline);
      if (!answer.fits) noFitUntil.set(k, answer.recheckAt ?? Infinity);
      return answer.fits;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      noFitUntil.set(k, Infinity); // no worker answered: this machine waits for its step
      return false;
    }
  };

  /** Starts the follower's machines the freed places allow, while the next one fits. */
  const follow = async (): Promise<void> => {
    for (let k = places.peek(); k !== undefined && following; k = places.peek()) {
      if (!(await fits(k, Date.now()))) return;
      // What may have changed while the fit was asked: the leader done (its turn starts the rest), an error.
      if (left === 0 || failed || !ctx.leases.aheadGranted(lane, next.key)) {
        following = false;
        return;
      }
      if (places.next((i) => i === k) !== k) continue;
      if (!ctx.mayFollow(lane)) {
        following = false; // the places this one took are never freed: nothing more follows anyway
        return;
      }
      const m = next.machines[k];
      const handle = await startMachineAttempt(ctx.input, { machine: m, attempt: 1 }, next.label, ctx.starts);
      const result = settled(m.name, 1, handle.result());
      begun.names.push(m.name);
      begun.results.push(result);
      void result.then((r) => onEnd(followerKeys[k], r));
    }
  };

  while (left > 0) {
    await condition(() => ended.length > 0);
    for (const keys of ended.splice(0)) places.end(keys);
    if (left > 0 && !failed && following) await follow();
  }
  return { results, ...(begun.names.length > 0 ? { begun } : {}) };
}
