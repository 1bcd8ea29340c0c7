import { setCurrentDetails } from '@temporalio/workflow';
import { countsAsError, OUTCOME, RETRYABLE_OUTCOMES } from '../domain/outcomes';
import type { SpecSlice } from '../domain/spec-slices';
import { startMachineAttempt } from './children';
import { runLeader, settled, type Begun, type FollowContext } from './lane-follower';
import type { MachineAttemptResult, RegionCursor, RegionInput } from './messages';
import { anyMarked, emptyMarks, mark, marked } from './region-marks';
import { leaseStep, nextStep, positionsOf, stepIn, stepKey } from './lane-steps';
import type { RegionLeases } from './region-lease';
import type { RegionReports } from './region-reports';
import type { StartBudget } from './start-budget';

/** What a lane shares with its region (workflows/region.ts) and the other lanes. */
export interface LaneContext extends FollowContext {
  input: RegionInput;
  cursor: RegionCursor;
  leases: RegionLeases;
  /** A slice of the region's steps, read once for the lanes that need it at the same time. */
  slice: (index: number) => Promise<SpecSlice>;
  /** The slice if it is at hand without reading it (inline, or read already), for a look-ahead. */
  peek: (index: number) => SpecSlice | undefined;
  /** The bytes of machine attempts the region's lanes are starting at once (workflows/start-budget.ts). */
  starts: StartBudget;
  /** The region's reports to the rollout (workflows/region-reports.ts: in order, a clean step's deferred). */
  reports: RegionReports;
  /**
   * Called before each step with its machine count and label: returns once the lane may start it, and never when
   * the region continues as new first (the lane is between steps, its cursor at this step).
   */
  beforeStep: (lane: number, machines: number, label: string, begun: boolean) => Promise<void>;
  /** The lane's line in the region's details. */
  details: (lane: number, text: string) => void;
}

/** The slices a lane's steps lie in: from its first slice to the next lane's first (spec-slices.ts). */
export function laneSlices(input: RegionInput, lane: number): { first: number; last: number } {
  const starts = input.laneStarts ?? [0];
  return { first: starts[lane], last: lane + 1 < starts.length ? starts[lane + 1] : input.slices.length - 1 };
}

/**
 * One lane of a region: its steps one after another, the machines of a step concurrently, and in its first
 * round the next step of the same segment following each step into the places its machines free
 * (workflows/lane-follower.ts). Before every step it honours a hold, lets the region continue as new, and
 * takes the step's lease from the fleet guard (asked for as the step before started); a step that began
 * as a follower passes neither gate, since its machines run. After a step it reports the step's results to
 * the rollout, and waits for the reply when the step could halt the rollout (an error, or health signals
 * to ask), so a halt stops the next step. Machines whose attempt ended retryably are retried in the lane's
 * later rounds, in groups that keep their original step, so a retry never runs beside another zone or
 * update domain of the lane. Returns false when the rollout is gone.
 */
export async function runLane(ctx: LaneContext, lane: number): Promise<boolean> {
  const { input, cursor, leases } = ctx;
  const { settings } = input;
  const c = cursor.lanes[lane];
  const { first, last } = laneSlices(input, lane);
  const stopped = () => cursor.reply.stop || Date.now() > settings.deadline;
  /** The lane's next step, when its machines began as the step before ran. */
  let begun: Begun | undefined;
  for (; c.round <= settings.maxAttempts; c.round++) {
    const round = c.round;
    if (round > 1 && !anyMarked(c.due)) break;
    for (; c.slice <= last; c.slice++, c.step = 0) {
      if (round > 1 && !anyMarked(c.due, c.slice)) continue;
      const slice = await ctx.slice(c.slice);
      // The lane's next slice is read now, so that its last step here can look ahead into it.
      if (round === 1 && c.slice < last) void ctx.slice(c.slice + 1).catch(() => undefined);
      const position = positionsOf(slice);
      const at = { slice, position, round };
      for (; c.step < slice.steps.length; c.step++) {
        let here = begun?.slice === c.slice && begun.step === c.step ? begun : undefined;
        if (here) {
          begun = undefined;
          if (!(await ctx.reports.flush(lane))) return false;
          if (cursor.reply.hold !== null || stopped()) {
            // Held or stopped at its turn: its running machines end, and the cursor keeps them, so that after
            // the hold (or when skipped) the step is its other machines.
            const results = await Promise.all(here.results);
            for (const name of here.names) mark(c.begun, c.slice, slice.machines.length, position.get(name)!);
            await leases.release(lane);
            if (!(await settle(ctx, lane, at, slice.steps[c.step].label, results))) return false;
            here = undefined;
          }
        }
        const found = stepIn(slice, position, c.slice, c.step, lane, round, c.due, c.begun);
        if (!found) continue;
        const { names, label } = found;
        // The step before, if it was clean, is reported now: the rollout has it before this one starts.
        if (!(await ctx.reports.flush(lane))) return false;
        const running = new Set(here?.names);
        const toStart = here ? names.filter((n) => !running.has(n)) : names;
        await ctx.beforeStep(lane, toStart.length, label, here !== undefined);
        // The step's lease from the fleet guard, unless the rollout stops first (then nothing starts). A begun
        // step's was granted ahead: its machines run under it.
        const step = leaseStep(slice, position, stepKey(round, c.slice, c.step), found);
        if (!stopped() || here) await leases.acquire(lane, step, () => !here && stopped());
        if (stopped() && !here) {
          // Only machines never attempted (round 1) are Skipped: a retry that does not run leaves the
          // last outcome standing.
          await leases.release(lane);
          if (round > 1) continue;
          cursor.done += names.length;
          const skipped = names.map((name) => ({ name, attempt: round, outcome: OUTCOME.Skipped }));
          if (!(await ctx.reports.report(label, skipped).answered)) return false;
          continue;
        }
        // The next step's lease is asked for now, to follow this one: granted, the lane goes on the moment this
        // step ends (or its machines follow this one's), without a round trip to the guard between them.
        const next = nextStep({ lane, round, due: c.due, last, peek: ctx.peek }, c.slice, c.step, {
          slice,
          position,
        });
        const askedNext = leases.askNext(lane, next);
        ctx.details(
          lane,
          `round ${round}, slice ${c.slice + 1}/${input.slices.length}, step ${c.step + 1}/${slice.steps.length}: ${label} (${names.length} machine(s)${here ? `, ${here.names.length} begun as a follower` : ''})`,
        );
        const started = await Promise.all(
          toStart.map((name) => {
            const i = position.get(name)!;
            const notBefore = marked(c.due, c.slice, i)?.windowEnd;
            const attempt = { machine: slice.machines[i], attempt: round, notBefore };
            return startMachineAttempt(input, attempt, label, ctx.starts);
          }),
        );
        const leader = {
          plan: slice.steps[c.step],
          machines: [...(here?.names ?? []), ...toStart].map((n) => slice.machines[position.get(n)!]),
          results: [
            ...(here?.results ?? []),
            ...started.map((h, i) => settled(toStart[i], round, h.result())),
          ],
        };
        const ran = await runLeader(ctx, lane, round, leader, next);
        begun = ran.begun;
        leases.finish(lane);
        await askedNext;
        if (!(await settle(ctx, lane, at, label, ran.results))) return false;
        ctx.details(lane, `between steps (round ${round})`);
      }
    }
    c.slice = first;
    c.step = 0;
    c.due = c.next;
    c.next = emptyMarks();
    c.begun = emptyMarks();
  }
  ctx.details(lane, 'done');
  return true;
}

/**
 * A step's results: counted, marked for the next round when retryable, and reported. Only a step with an
 * error can halt the rollout by its own report: unless health signals are asked after each step, the
 * lane goes on without waiting for the answer, its report sent as its next step comes (and delivered
 * before it starts, so a rollout that is gone stops it) or with the region's end; a hold or stop from
 * elsewhere reaches every running region. False: the rollout is gone.
 */
async function settle(
  ctx: LaneContext,
  lane: number,
  { slice, position, round }: { slice: SpecSlice; position: ReadonlyMap<string, number>; round: number },
  label: string,
  results: MachineAttemptResult[],
): Promise<boolean> {
  const { cursor, input } = ctx;
  const { settings } = input;
  const c = cursor.lanes[lane];
  if (round === 1) cursor.done += results.length;
  const stepResults = results.map(({ name, attempt, outcome }) => {
    const erredBefore = round > 1 && marked(cursor.erred, c.slice, position.get(name)!) !== undefined;
    return { name, attempt, outcome, ...(erredBefore ? { erredBefore } : {}) };
  });
  for (const r of results) {
    if (!RETRYABLE_OUTCOMES.has(r.outcome)) continue;
    const at = position.get(r.name)!;
    mark(c.next, c.slice, slice.machines.length, at, r.windowEnd);
    if (countsAsError(r.outcome, r.attempt >= settings.maxAttempts))
      mark(cursor.erred, c.slice, slice.machines.length, at);
  }
  const mayHalt =
    settings.health !== undefined ||
    results.some((r) => countsAsError(r.outcome, r.attempt >= settings.maxAttempts));
  if (!mayHalt) ctx.reports.defer(lane, label, stepResults);
  else if (!(await ctx.reports.report(label, stepResults).answered)) return false;
  return true;
}

/** The region's details: one line per lane that has one. */
export function laneDetails(lines: ReadonlyMap<number, string>, head: string): void {
  const body = [...lines].sort((a, b) => a[0] - b[0]).map(([lane, text]) => `lane ${lane + 1}: ${text}`);
  setCurrentDetails([head, ...body].join('\n'));
}
