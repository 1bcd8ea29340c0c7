import { setCurrentDetails } from '@temporalio/workflow';
import { countsAsError, OUTCOME, RETRYABLE_OUTCOMES } from '../domain/outcomes';
import type { SpecSlice } from '../domain/spec-slices';
import { errored } from './attempt-errors';
import { startMachineAttempt } from './children';
import type { MachineAttemptResult, RegionCursor, RegionInput } from './messages';
import { anyMarked, emptyMarks, mark, marked } from './region-marks';
import { leaseStep, nextStep, positionsOf, stepIn, stepKey } from './lane-steps';
import type { RegionLeases } from './region-lease';
import type { RegionReports } from './region-reports';
import type { StartBudget } from './start-budget';

/** What a lane shares with its region (workflows/region.ts) and the other lanes. */
export interface LaneContext {
  input: RegionInput;
  cursor: RegionCursor;
  leases: RegionLeases;
  /** A slice of the region's steps, read once for the lanes that need it at the same time. */
  slice: (index: number) => Promise<SpecSlice>;
  /** The slice if it is at hand without reading it (inline), for a look-ahead. */
  peek: (index: number) => SpecSlice | undefined;
  /** The bytes of machine attempts the region's lanes are starting at once (workflows/start-budget.ts). */
  starts: StartBudget;
  /** The region's reports to the rollout (workflows/region-reports.ts: in order, a clean step's deferred). */
  reports: RegionReports;
  /**
   * Called before each step with its machine count and label: returns once the lane may start it, and never when
   * the region continues as new first (the lane is between steps, its cursor at this step).
   */
  beforeStep: (lane: number, machines: number, label: string) => Promise<void>;
  /** The lane's line in the region's details. */
  details: (lane: number, text: string) => void;
}

/** The slices a lane's steps lie in: from its first slice to the next lane's first (spec-slices.ts). */
export function laneSlices(input: RegionInput, lane: number): { first: number; last: number } {
  const starts = input.laneStarts ?? [0];
  return { first: starts[lane], last: lane + 1 < starts.length ? starts[lane + 1] : input.slices.length - 1 };
}

/**
 * One lane of a region: its steps strictly one after another, the machines of a step concurrently.
 * Before every step it honours a hold, lets the region continue as new, and takes the step's lease from
 * the fleet guard (asked for as the step before started); after it, it reports the step's results to the
 * rollout, and waits for the reply when the step could halt the rollout (an error, or health signals to
 * ask), so a halt stops the next step. Machines whose attempt ended retryably are retried in the lane's later
 * rounds, in groups that keep their original step, so a retry never runs beside another zone or update
 * domain of the lane. Returns false when the rollout is gone.
 */
export async function runLane(ctx: LaneContext, lane: number): Promise<boolean> {
  const { input, cursor, leases } = ctx;
  const { settings } = input;
  const c = cursor.lanes[lane];
  const { first, last } = laneSlices(input, lane);
  for (; c.round <= settings.maxAttempts; c.round++) {
    const round = c.round;
    if (round > 1 && !anyMarked(c.due)) break;
    for (; c.slice <= last; c.slice++, c.step = 0) {
      if (round > 1 && !anyMarked(c.due, c.slice)) continue;
      const slice = await ctx.slice(c.slice);
      const position = positionsOf(slice);
      for (; c.step < slice.steps.length; c.step++) {
        const found = stepIn(slice, position, c.slice, c.step, lane, round, c.due);
        if (!found) continue;
        const { names, label } = found;
        // The step before, if it was clean, is reported now: the rollout has it before this one starts.
        if (!(await ctx.reports.flush(lane))) return false;
        await ctx.beforeStep(lane, names.length, label);
        // The step's lease from the fleet guard, unless the rollout stops first (then nothing starts).
        const stopped = () => cursor.reply.stop || Date.now() > settings.deadline;
        const step = leaseStep(slice, position, stepKey(round, c.slice, c.step), found);
        if (!stopped()) await leases.acquire(lane, step, stopped);
        if (stopped()) {
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
        // step ends, without a round trip to the guard between them.
        const next = nextStep({ lane, round, due: c.due, last, peek: ctx.peek }, c.slice, c.step, {
          slice,
          position,
        });
        const askedNext = leases.askNext(lane, next);
        ctx.details(
          lane,
          `round ${round}, slice ${c.slice + 1}/${input.slices.length}, step ${c.step + 1}/${slice.steps.length}: ${label} (${names.length} machine(s))`,
        );
        const handles = await Promise.all(
          names.map((name) => {
            const at = position.get(name)!;
            const notBefore = marked(c.due, c.slice, at)?.windowEnd;
            return startMachineAttempt(
              input,
              { machine: slice.machines[at], attempt: round, notBefore },
              label,
              ctx.starts,
            );
          }),
        );
        // A machine whose attempt failed unexpectedly is Errored (an error against the budget), instead of
        // failing its whole region.
        const results = await Promise.all(
          handles.map((h, i) =>
            (h.result() as Promise<MachineAttemptResult>).catch((err: unknown) =>
              errored(names[i], round, err),
            ),
          ),
        );
        if (round === 1) cursor.done += results.length;
        const stepResults = results.map(({ name, attempt, outcome }) => {
          const at = position.get(name)!;
          const erredBefore = round > 1 && marked(cursor.erred, c.slice, at) !== undefined;
          return { name, attempt, outcome, ...(erredBefore ? { erredBefore } : {}) };
        });
        for (const r of results) {
          if (!RETRYABLE_OUTCOMES.has(r.outcome)) continue;
          const at = position.get(r.name)!;
          mark(c.next, c.slice, slice.machines.length, at, r.windowEnd);
          if (countsAsError(r.outcome, r.attempt >= settings.maxAttempts))
            mark(cursor.erred, c.slice, slice.machines.length, at);
        }
        leases.finish(lane);
        await askedNext;
        // Only a step with an error can halt the rollout by its own report: unless health signals are asked
        // after each step, the lane goes on without waiting for the answer, its report sent as its next
        // step comes (and delivered before it starts, so a rollout that is gone stops it) or with the
        // region's end; a hold or stop from elsewhere reaches every running region.
        const mayHalt =
          settings.health !== undefined ||
          results.some((r) => countsAsError(r.outcome, r.attempt >= settings.maxAttempts));
        if (!mayHalt) ctx.reports.defer(lane, label, stepResults);
        else if (!(await ctx.reports.report(label, stepResults).answered)) return false;
        ctx.details(lane, `between steps (round ${round})`);
      }
    }
    c.slice = first;
    c.step = 0;
    c.due = c.next;
    c.next = emptyMarks();
  }
  ctx.details(lane, 'done');
  return true;
}

/** The region's details: one line per lane that has one. */
export function laneDetails(lines: ReadonlyMap<number, string>, head: string): void {
  const body = [...lines].sort((a, b) => a[0] - b[0]).map(([lane, text]) => `lane ${lane + 1}: ${text}`);
  setCurrentDetails([head, ...body].join('\n'));
}
