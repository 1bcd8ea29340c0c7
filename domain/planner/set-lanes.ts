import type { LaneDemand } from './lanes';
import { availabilitySetCap, MAX_BATCH_MACHINES, MAX_REGION_ATTEMPTS } from './limits';
import { byName } from './order';

/** A region's availability sets: their names, sorted, and each one's machines (fleet indices). */
export interface RegionSets {
  setNames: readonly string[];
  sets: ReadonlyMap<string, readonly number[]>;
}

/** A region's set lanes at most: beyond, sets of like chains share a lane and walk their update domains together. */
export const MAX_SET_LANES = 32;

/** The most machines lanes have down at once together: each lane's concurrency, at most a batch. */
export function widthOf(lanes: readonly LaneDemand[]): number {
  return lanes.reduce((n, lane) => n + Math.min(lane.concurrency, MAX_BATCH_MACHINES), 0);
}

/**
 * The set lanes: one set per lane when there are at most `MAX_SET_LANES` sets and they fit in `room`
 * (the most machines they may have down at once together); otherwise the sets by their chain (longest
 * first, ties by name) cut into runs of consecutive sets, so that sets of like length walk together:
 * `MAX_SET_LANES` runs, then fewer while they do not fit. One lane always fits: its steps hold at most
 * a batch, and `room` is at least one.
 */
export function setLaneDemands(
  parts: RegionSets,
  chains: ReadonlyMap<string, number>,
  room: number,
): Array<LaneDemand & { names: string[] }> {
  const lane = (names: string[]) => {
    const items = names.map((name) => parts.sets.get(name)!);
    const concurrency = items.reduce((n, list) => n + availabilitySetCap(list.length), 0);
    return { names, items, concurrency };
  };
  const names = parts.setNames;
  let count = MAX_SET_LANES;
  if (names.length <= MAX_SET_LANES) {
    const single = names.map((name) => lane([name]));
    if (widthOf(single) <= room) return single;
    count = names.length - 1; // at least 1: a single set always fits
  }
  const ranked = [...names].sort((a, b) => chains.get(b)! - chains.get(a)! || byName(a, b));
  for (; ; count--) {
    const demands = cutRuns(ranked, count).map((run) => lane(run.sort(byName)));
    if (count === 1 || widthOf(demands) <= room) return demands;
  }
}

/** `ranked` cut into `count` runs of consecutive names, the first ones one name longer. */
function cutRuns(ranked: readonly string[], count: number): string[][] {
  const per = Math.floor(ranked.length / count);
  const extra = ranked.length % count;
  const runs: string[][] = [];
  for (let l = 0, at = 0; l < count; l++) {
    const size = per + (l < extra ? 1 : 0);
    runs.push(ranked.slice(at, at + size));
    at += size;
  }
  return runs;
}

/** A group's machine minutes, slowest first, and the most of them down at once. */
export interface CappedGroup {
  slowest: Float64Array;
  cap: number;
}

/** What the width choice reads of a region: its zones, its standalone machines, its sets' update domains. */
export interface WidthInput {
  zones: CappedGroup[];
  standalone: CappedGroup | null;
  /** Per set: its update domains (each under the set's cap), and the minutes of its machines without one. */
  sets: ReadonlyMap<string, { uds: ReadonlyMap<number, CappedGroup>; noUd: number }>;
}

/** The most machines a zone batch and a standalone batch hold (Infinity: as many as their budgets allow). */
export interface LaneWidths {
  zone: number;
  standalone: number;
}

export const BUDGET_WIDTHS: LaneWidths = { zone: Infinity, standalone: Infinity };

/** Narrower widths tried: those that take the largest zone (or the standalone machines) 2 to this many steps. */
const NARROWER_STEPS = 16;

/**
 * The zone and standalone lanes' widths for a region whose sets cannot all have a lane of their own
 * beside them (MAX_REGION_ATTEMPTS): narrower zone and standalone batches leave the sets more room, for
 * more zone and standalone steps. Tries the budgets' widths and narrower ones, estimates every lane in
 * the step model (a batch lasts as long as its slowest machine; sets that share a lane take each update
 * domain as long as their slowest, in steps of at most a batch), and keeps the widths whose longest lane
 * is shortest; ties keep the wider, so a region gains or stays as it was.
 */
export function chooseLaneWidths(
  parts: RegionSets,
  chains: ReadonlyMap<string, number>,
  input: WidthInput,
): LaneWidths {
  const widest = (groups: readonly CappedGroup[]) => Math.max(0, ...groups.map((g) => g.cap));
  const largest = (groups: readonly CappedGroup[]) => Math.max(0, ...groups.map((g) => g.slowest.length));
  const standalone = input.standalone ? [input.standalone] : [];
  const zoneWidths = narrower(largest(input.zones), widest(input.zones));
  const standaloneWidths = narrower(largest(standalone), widest(standalone));
  let best = BUDGET_WIDTHS;
  let bestMinutes = Infinity;
  zoneWidths.forEach((zone, z) =>
    standaloneWidths.forEach((alone, a) => {
      const lanes = Math.max(lanesMinutes(input.zones, zone), lanesMinutes(standalone, alone));
      if (lanes >= bestMinutes) return; // narrower only lengthens these two
      const room = MAX_REGION_ATTEMPTS - lanesWidth(input.zones, zone) - lanesWidth(standalone, alone);
      let longest = lanes;
      for (const lane of setLaneDemands(parts, chains, room))
        longest = Math.max(longest, setLaneMinutes(lane.names, input));
      if (longest < bestMinutes) {
        bestMinutes = longest;
        best =
          z === 0 && a === 0
            ? BUDGET_WIDTHS
            : { zone: z === 0 ? Infinity : zone, standalone: a === 0 ? Infinity : alone };
      }
    }),
  );
  return best;
}

/** The widest a lane's groups run (`widest`), then the narrower widths that take the largest group 2, 3, ... steps. */
function narrower(largest: number, widest: number): number[] {
  const widths = [widest];
  for (let k = 2; k <= NARROWER_STEPS; k++) {
    const width = Math.ceil(largest / k);
    if (width < widths[widths.length - 1]) widths.push(width);
  }
  return widths;
}

/** Groups one after another in one lane, each in batches of at most `width` (and its cap). */
function lanesMinutes(groups: readonly CappedGroup[], width: number): number {
  let minutes = 0;
  for (const g of groups) minutes += stepsMinutes(g.slowest, Math.min(g.cap, width));
  return minutes;
}

function lanesWidth(groups: readonly CappedGroup[], width: number): number {
  return Math.max(0, ...groups.map((g) => Math.min(g.cap, width)));
}

/** The step model's time for minutes sorted slowest first, in batches of `cap`: each batch its first. */
function stepsMinutes(slowest: Float64Array, cap: number): number {
  let minutes = 0;
  for (let j = 0; j < slowest.length; j += cap) minutes += slowest[j];
  return minutes;
}

/**
 * Sets walking their update domains together in one lane: each update domain as long as the slowest of
 * them in it, or more steps when together they exceed a batch; then the machines without one.
 */
function setLaneMinutes(names: readonly string[], input: WidthInput): number {
  const byUd = new Map<number, { minutes: number; count: number; slowest: number }>();
  let noUd = 0;
  for (const name of names) {
    const set = input.sets.get(name)!;
    noUd = Math.max(noUd, set.noUd);
    for (const [ud, g] of set.uds) {
      const minutes = stepsMinutes(g.slowest, g.cap);
      const seen = byUd.get(ud);
      if (!seen) byUd.set(ud, { minutes, count: g.slowest.length, slowest: g.slowest[0] });
      else {
        seen.minutes = Math.max(seen.minutes, minutes);
        seen.count += g.slowest.length;
        seen.slowest = Math.max(seen.slowest, g.slowest[0]);
      }
    }
  }
  let minutes = noUd;
  for (const ud of byUd.values())
    minutes += Math.max(ud.minutes, Math.ceil(ud.count / MAX_BATCH_MACHINES) * ud.slowest);
  return minutes;
}
