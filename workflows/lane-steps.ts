import type { PlanStep } from '../domain/plan';
import type { SpecSlice } from '../domain/spec-slices';
import { anyMarked, marked, type RetryMarks } from './region-marks';
import type { LeaseStep } from './region-lease';

/*
 * Which step a region's lane runs (workflows/region-lane.ts), and which comes after it: the lane asks for
 * the next step's lease as it reports a step, so that the fleet guard's round trip runs beside the
 * rollout's reply instead of after it.
 */

/** A lane in one of its rounds: its retry marks due, its last slice, and the slices at hand. */
export interface LaneRound {
  lane: number;
  round: number;
  due: RetryMarks;
  last: number;
  /** A slice if it is at hand without reading it (inline); undefined ends the look-ahead. */
  peek: (index: number) => SpecSlice | undefined;
}

export type Position = ReadonlyMap<string, number>;
export const positionsOf = (slice: SpecSlice): Position => new Map(slice.machines.map((m, i) => [m.name, i]));

/**
 * A lane's step `step` of slice `at` as round `round` runs it: its machines' names and its label (none:
 * nothing to run).
 */
export function stepIn(
  slice: SpecSlice,
  position: Position,
  at: number,
  step: number,
  lane: number,
  round: number,
  due: RetryMarks,
  begun?: RetryMarks,
) {
  const s = slice.steps[step];
  if ((s.lane ?? 0) !== lane) return undefined;
  // Round 1 runs every machine but those that ran as a follower before a hold (region-lane.ts).
  const names =
    round > 1
      ? s.machines.filter((n) => marked(due, at, position.get(n)!))
      : begun && anyMarked(begun, at)
        ? s.machines.filter((n) => !marked(begun, at, position.get(n)!))
        : s.machines;
  if (names.length === 0) return undefined;
  return { names, label: round === 1 ? s.label : `${s.label}, retry ${round - 1}` };
}

/**
 * The lane's next step in this round after step `step` of slice `at`, as far as its slices are at hand:
 * the step whose lease the lane asks for as it reports (a look-ahead: the loop still decides what runs).
 */
export function nextStep(
  { lane, round, due, last, peek }: LaneRound,
  at: number,
  step: number,
  current: { slice: SpecSlice; position: Position },
): NextStep | undefined {
  for (let i = at, from = step + 1; i <= last; i++, from = 0) {
    const slice = i === at ? current.slice : peek(i);
    if (!slice) return undefined;
    if (round > 1 && !anyMarked(due, i)) continue;
    const positions = i === at ? current.position : positionsOf(slice);
    for (let j = from; j < slice.steps.length; j++) {
      const found = stepIn(slice, positions, i, j, lane, round, due);
      if (found)
        return {
          ...leaseStep(slice, positions, stepKey(round, i, j), found),
          slice: i,
          step: j,
          plan: slice.steps[j],
        };
    }
  }
  return undefined;
}

/** The lane's next step: its lease's request, and where it is (a follower starts it early: lane-follower.ts). */
export type NextStep = LeaseStep & { slice: number; step: number; plan: PlanStep };

export const stepKey = (round: number, slice: number, step: number) =>
  `round-${round}/slice-${slice}/step-${step}`;
export const leaseStep = (
  slice: SpecSlice,
  position: Position,
  key: string,
  { names, label }: { names: string[]; label: string },
): LeaseStep => ({ key, label, machines: names.map((n) => slice.machines[position.get(n)!]) });
