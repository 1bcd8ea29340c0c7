import type { CountOrPercent } from '../budget';
import type { Machine } from '../fleet';
import type { PlanStep, StepKind } from '../plan';
import { ChainStats, chainBound } from './bounds';
import { type MergedStep, maxMinutes, mergeTracks, type Track } from './merge';
import { laneServiceCaps, type LaneDemand } from './lanes';
import { availabilitySetCap, budgetCap, MAX_BATCH_MACHINES, MAX_REGION_ATTEMPTS } from './limits';
import { pack } from './pack';
import { byName } from './order';
import {
  BUDGET_WIDTHS,
  type CappedGroup,
  chooseLaneWidths,
  type LaneWidths,
  MAX_SET_LANES,
  setLaneDemands,
  widthOf,
  type WidthInput,
} from './set-lanes';
import { subscriptionGroups } from './subscriptions';

export interface RegionContext {
  machines: readonly Machine[];
  /** Per fleet machine: its name (one flat array: a step's names are read without visiting each machine). */
  names: readonly string[];
  /** Per fleet machine: install + reboot minutes. */
  minutes: Float64Array;
  disruptionBudget: CountOrPercent;
  /** Per fleet machine: service id or -1; null without serviceCapacity. */
  serviceOf: Int32Array | null;
  /** This region's share of a service's allowance. */
  serviceCap: (service: number) => number;
  /** Filled in: per fleet machine, the index of its step in the region. */
  stepOf: Int32Array;
}

export interface RegionSteps {
  steps: PlanStep[];
  /** The longest chain any valid schedule of this region must run through (see bounds.ts). */
  lowerBoundMinutes: number;
}

interface UdGroup {
  items: number[];
  groups: number[];
  sets: Set<number>;
}

interface SegmentInfo {
  kind: StepKind;
  /** The segment's label, e.g. "zone 2", "update domain 0 (2 sets)", "standalone". */
  label: string;
  zone?: string;
  updateDomain?: number;
}

/** Fleet indices of a region's machines by kind. */
interface RegionParts {
  /** Zones, fewest machines first (ties by zone id). */
  zones: Array<[string, number[]]>;
  /** Availability sets by name. */
  setNames: string[];
  sets: Map<string, number[]>;
  standalone: number[];
}

/** One lane's segments (see merge.ts) and what labels them, in the order they run. */
interface LaneTrack {
  segments: Track;
  infos: SegmentInfo[];
}

/**
 * The steps of one region, in lanes that run side by side (docs/planner.md, section 3): the zone lane
 * (its zones one after another, fewest machines first, ties by zone id, each in batches under the
 * disruption budget of the zone); one lane per availability set (its update domains one after another,
 * update domain 0 first, then its machines without an update domain, under the set's 20% rule; sets
 * share lanes beyond 32 sets or 1,500 attempts at once, setLaneDemands); the standalone lane (batches
 * under the disruption budget of the region's standalone machines, one subscription's spread over
 * them, subscriptions.ts). Each lane gets its part of the region's share of
 * every service (lanes.ts). When a service's share is smaller than the lanes holding it, the region
 * runs as one lane whose steps each hold at most one batch of the zone, the set and the standalone
 * tracks (merge.ts). Steps are numbered lane by lane; `items` are the region's eligible machines in
 * fleet order.
 */
export function buildRegionSteps(items: readonly number[], ctx: RegionContext): RegionSteps {
  const { machines, minutes } = ctx;
  const zones = new Map<string, number[]>();
  const sets = new Map<string, number[]>();
  const standalone: number[] = [];
  for (const i of items) {
    const m = machines[i];
    if (m.zone !== undefined) push(zones, m.zone, i);
    else if (m.availabilitySet !== undefined) push(sets, m.availabilitySet, i);
    else standalone.push(i);
  }
  const parts: RegionParts = {
    zones: [...zones].sort((a, b) => a[1].length - b[1].length || byName(a[0], b[0])),
    setNames: [...sets.keys()].sort(byName),
    sets,
    standalone,
  };
  const chains = regionChains(parts, ctx);
  const lowerBoundMinutes = chains.longest;

  // Lanes: the zone lane, the set lanes, the standalone lane (the empty ones left out). Each lane's
  // widest step is its concurrency, at most a batch; together they stay within MAX_REGION_ATTEMPTS,
  // which the zone and standalone lanes (a batch each at most) always leave a batch of room for.
  const lanes = laneDemands(parts, chains.sets, ctx, BUDGET_WIDTHS);
  // Lanes side by side unless a service's share forbids them.
  const caps = laneServiceCaps(lanes.demands, ctx.serviceOf, ctx.serviceCap);

  if (caps) {
    let tracks = lanes.builders.map((build, l) => build(caps[l]));
    // Sets that share lanes may get more room from narrower zone and standalone batches.
    const sharing = lanes.setLanes < Math.min(parts.setNames.length, MAX_SET_LANES);
    if (sharing && (parts.zones.length > 0 || standalone.length > 0))
      tracks = withNarrowerBatches(tracks, lanes.setLanes, parts, chains.sets, ctx);
    const merged: MergedStep[] = [];
    const laneOf: number[] = [];
    tracks.forEach((lane, l) =>
      lane.segments.forEach((segment, g) => {
        for (const batch of segment.batches) {
          merged.push({ parts: [{ track: l, segment: g, items: batch.items }], max: batch.max });
          laneOf.push(l);
        }
      }),
    );
    const infos = tracks.map((lane) => lane.infos);
    return { steps: toPlanSteps(merged, infos, laneOf, ctx), lowerBoundMinutes };
  }

  // One lane (services forbid lanes): the three tracks laid into common steps.
  const whole = [
    zoneTrack(parts, ctx, ctx.serviceCap, Infinity),
    setTrack(parts, parts.setNames, ctx, ctx.serviceCap),
    standaloneTrack(parts, ctx, ctx.serviceCap, Infinity),
  ];
  const merged = mergeTracks({
    tracks: whole.map((t) => t.segments),
    minutes,
    serviceOf: ctx.serviceOf,
    serviceCap: ctx.serviceCap,
  });
  const steps = toPlanSteps(
    merged,
    whole.map((t) => t.infos),
    merged.map(() => 0),
    ctx,
  );
  return { steps, lowerBoundMinutes };
}

/**
 * The region's tracks with narrower zone and standalone batches (set-lanes.ts), when one of the set lanes
 * is the longest (a longest zone or standalone lane narrower batches only lengthen), the narrower
 * tracks' longest lane is really shorter, and the region's services still allow their lanes; else
 * `tracks` (the budgets' widths, with `setLanes` set lanes after the zone lane).
 */
function withNarrowerBatches(
  tracks: LaneTrack[],
  setLanes: number,
  parts: RegionParts,
  chains: ReadonlyMap<string, number>,
  ctx: RegionContext,
): LaneTrack[] {
  const longest = longestTrack(tracks);
  const firstSetLane = parts.zones.length > 0 ? 1 : 0;
  const setLaneLongest = tracks
    .slice(firstSetLane, firstSetLane + setLanes)
    .some((track) => trackMinutes(track) === longest);
  if (!setLaneLongest) return tracks;
  const widths = chooseLaneWidths(parts, chains, widthInput(parts, ctx));
  if (widths === BUDGET_WIDTHS) return tracks;
  const narrowed = laneDemands(parts, chains, ctx, widths);
  const caps = laneServiceCaps(narrowed.demands, ctx.serviceOf, ctx.serviceCap);
  if (!caps) return tracks;
  const narrower = narrowed.builders.map((build, l) => build(caps[l]));
  return longestTrack(narrower) < longest ? narrower : tracks;
}

/** A track's length: the sum of its batches' slowest machines. */
function trackMinutes(track: LaneTrack): number {
  let minutes = 0;
  for (const segment of track.segments) for (const batch of segment.batches) minutes += batch.max;
  return minutes;
}

const longestTrack = (tracks: readonly LaneTrack[]): number => Math.max(0, ...tracks.map(trackMinutes));

/** A region's lanes under `widths`: what each may have down at once, and how to build its track. */
function laneDemands(
  parts: RegionParts,
  chains: ReadonlyMap<string, number>,
  ctx: RegionContext,
  widths: LaneWidths,
): { demands: LaneDemand[]; builders: Array<(cap: (s: number) => number) => LaneTrack>; setLanes: number } {
  const demands: LaneDemand[] = [];
  const builders: Array<(cap: (s: number) => number) => LaneTrack> = [];
  if (parts.zones.length > 0) {
    const widest = Math.max(...parts.zones.map(([, list]) => batchCap(ctx, list.length, widths.zone)));
    demands.push({ items: parts.zones.map(([, list]) => list), concurrency: widest });
    builders.push((cap) => zoneTrack(parts, ctx, cap, widths.zone));
  }
  const { standalone } = parts;
  const standaloneDemand: LaneDemand | null =
    standalone.length > 0
      ? { items: [standalone], concurrency: batchCap(ctx, standalone.length, widths.standalone) }
      : null;
  const room = MAX_REGION_ATTEMPTS - widthOf(standaloneDemand ? [...demands, standaloneDemand] : demands);
  const setLanes = setLaneDemands(parts, chains, room);
  for (const demand of setLanes) {
    demands.push(demand);
    builders.push((cap) => setTrack(parts, demand.names, ctx, cap));
  }
  if (standaloneDemand) {
    demands.push(standaloneDemand);
    builders.push((cap) => standaloneTrack(parts, ctx, cap, widths.standalone));
  }
  return { demands, builders, setLanes: setLanes.length };
}

/** The batch of `total` machines under the disruption budget, at most `width`. */
function batchCap(ctx: RegionContext, total: number, width: number): number {
  return Math.min(budgetCap(ctx.disruptionBudget, total), width);
}

/** What the width choice reads (set-lanes.ts): each group's minutes, slowest first, with its cap. */
function widthInput(parts: RegionParts, ctx: RegionContext): WidthInput {
  const { machines, minutes } = ctx;
  const slowest = (list: readonly number[]) => {
    const out = Float64Array.from(list, (i) => minutes[i]).sort();
    return out.reverse();
  };
  const sets = new Map<string, { uds: Map<number, CappedGroup>; noUd: number }>();
  for (const [name, list] of parts.sets) {
    const cap = availabilitySetCap(list.length);
    const byUd = new Map<number, number[]>();
    let noUd = 0;
    for (const i of list) {
      const ud = machines[i].updateDomain;
      if (ud === undefined) noUd += minutes[i];
      else push(byUd, ud, i);
    }
    const uds = new Map([...byUd].map(([ud, items]) => [ud, { slowest: slowest(items), cap }]));
    sets.set(name, { uds, noUd });
  }
  const { standalone } = parts;
  return {
    zones: parts.zones.map(([, list]) => ({
      slowest: slowest(list),
      cap: batchCap(ctx, list.length, Infinity),
    })),
    standalone:
      standalone.length > 0
        ? { slowest: slowest(standalone), cap: batchCap(ctx, standalone.length, Infinity) }
        : null,
    sets,
  };
}

function packer(ctx: RegionContext, serviceCap: (s: number) => number) {
  return (
    list: readonly number[],
    sizeCap: number,
    groups?: readonly number[],
    groupCaps?: readonly number[],
  ) =>
    pack({
      items: list,
      sizeCap: Math.min(sizeCap, MAX_BATCH_MACHINES),
      groups: groups ?? null,
      groupCaps: groupCaps ?? null,
      serviceOf: ctx.serviceOf,
      serviceCap,
      minutes: ctx.minutes,
    });
}

function trackOf(ctx: RegionContext): LaneTrack & { add(info: SegmentInfo, batches: number[][]): void } {
  const segments: Track = [];
  const infos: SegmentInfo[] = [];
  return {
    segments,
    infos,
    add(info, batches) {
      segments.push({
        batches: batches.map((list) => ({ items: list, max: maxMinutes(list, ctx.minutes) })),
      });
      infos.push(info);
    },
  };
}

/** The zones one after another, each in batches under its own disruption budget (and at most `width`). */
function zoneTrack(
  parts: RegionParts,
  ctx: RegionContext,
  serviceCap: (s: number) => number,
  width: number,
): LaneTrack {
  const track = trackOf(ctx);
  const packed = packer(ctx, serviceCap);
  for (const [zone, list] of parts.zones)
    track.add({ kind: 'zone', label: `zone ${zone}`, zone }, packed(list, batchCap(ctx, list.length, width)));
  return track;
}

/** The sets `names` together: one update domain at a time, each set under its own cap; then the machines without one. */
function setTrack(
  parts: RegionParts,
  names: readonly string[],
  ctx: RegionContext,
  serviceCap: (s: number) => number,
): LaneTrack {
  const track = trackOf(ctx);
  const packed = packer(ctx, serviceCap);
  const caps: number[] = [];
  const byUd = new Map<number, UdGroup>();
  const noUd: UdGroup = { items: [], groups: [], sets: new Set() };
  names.forEach((name, g) => {
    const list = parts.sets.get(name)!;
    caps.push(availabilitySetCap(list.length));
    for (const i of list) {
      const ud = ctx.machines[i].updateDomain;
      const group = ud === undefined ? noUd : (byUd.get(ud) ?? newGroup(byUd, ud));
      group.items.push(i);
      group.groups.push(g);
      group.sets.add(g);
    }
  });
  const setsLabel = (group: UdGroup): string =>
    group.sets.size === 1 ? `set ${names[group.sets.values().next().value!]}` : `${group.sets.size} sets`;
  for (const ud of [...byUd.keys()].sort((a, b) => a - b)) {
    const group = byUd.get(ud)!;
    const label = `update domain ${ud} (${setsLabel(group)})`;
    track.add(
      { kind: 'availabilitySet', label, updateDomain: ud },
      packed(group.items, Infinity, group.groups, caps),
    );
  }
  if (noUd.items.length > 0)
    track.add(
      { kind: 'availabilitySet', label: `no update domain (${setsLabel(noUd)})` },
      packed(
        noUd.items,
        Infinity,
        noUd.groups,
        caps.map(() => 1),
      ),
    );
  return track;
}

/** The standalone machines in batches under the region's standalone budget (and at most `width`), subscriptions spread. */
function standaloneTrack(
  parts: RegionParts,
  ctx: RegionContext,
  serviceCap: (s: number) => number,
  width: number,
): LaneTrack {
  const track = trackOf(ctx);
  const { standalone } = parts;
  if (standalone.length === 0) return track;
  const budget = batchCap(ctx, standalone.length, width);
  // Not all of one subscription's machines at once (subscriptions.ts).
  const spread = subscriptionGroups(
    standalone.map((i) => ctx.machines[i].subscription),
    budget,
  );
  track.add(
    { kind: 'standalone', label: 'standalone' },
    packer(ctx, serviceCap)(standalone, budget, spread?.groups, spread?.caps),
  );
  return track;
}

/**
 * The region's chains (bounds.ts): its zones in a row, each set, its standalone machines; and the
 * longest of them, which no schedule of the region beats.
 */
function regionChains(
  parts: RegionParts,
  ctx: RegionContext,
): { longest: number; sets: Map<string, number> } {
  const { machines, minutes } = ctx;
  const statsOf = (list: readonly number[]): ChainStats => {
    const stats = new ChainStats();
    for (const i of list) stats.add(minutes[i]);
    return stats;
  };
  let zoneChain = 0;
  for (const [, list] of parts.zones)
    zoneChain += chainBound(statsOf(list), budgetCap(ctx.disruptionBudget, list.length));
  let setChain = 0;
  const sets = new Map<string, number>();
  for (const [name, list] of parts.sets) {
    const cap = availabilitySetCap(list.length);
    const udStats = new Map<number, ChainStats>();
    let chain = 0;
    for (const i of list) {
      const ud = machines[i].updateDomain;
      if (ud === undefined) {
        chain += minutes[i];
        continue;
      }
      let stats = udStats.get(ud);
      if (!stats) udStats.set(ud, (stats = new ChainStats()));
      stats.add(minutes[i]);
    }
    for (const stats of udStats.values()) chain += chainBound(stats, cap);
    sets.set(name, chain);
    if (chain > setChain) setChain = chain;
  }
  const standaloneChain =
    parts.standalone.length > 0
      ? chainBound(statsOf(parts.standalone), budgetCap(ctx.disruptionBudget, parts.standalone.length))
      : 0;
  return { longest: Math.max(zoneChain, setChain, standaloneChain), sets };
}

/**
 * Plan steps from merged steps. A part's label is its segment's, with "batch j/n" when the segment
 * spans several steps; a step's label joins its parts' with " + ". A step's kind is its first part's
 * (zone, then availability set, then standalone); `zone` and `updateDomain` are set whenever a part has
 * them.
 */
function toPlanSteps(
  merged: readonly MergedStep[],
  infos: readonly SegmentInfo[][],
  laneOf: readonly number[],
  ctx: RegionContext,
): PlanStep[] {
  const { names: nameOf, minutes } = ctx;
  const pieces = infos.map((list) => new Int32Array(list.length));
  for (const step of merged) for (const part of step.parts) pieces[part.track][part.segment]++;
  const seen = infos.map((list) => new Int32Array(list.length));
  return merged.map((step, index) => {
    const labels: string[] = [];
    let zone: string | undefined;
    let updateDomain: number | undefined;
    for (const part of step.parts) {
      const info = infos[part.track][part.segment];
      const n = pieces[part.track][part.segment];
      const j = ++seen[part.track][part.segment];
      labels.push(n === 1 ? info.label : `${info.label} batch ${j}/${n}`);
      if (info.zone !== undefined) zone = info.zone;
      if (info.updateDomain !== undefined) updateDomain = info.updateDomain;
    }
    const all = inFleetOrder(step.parts.map((part) => part.items));
    const kind = infos[step.parts[0].track][step.parts[0].segment].kind;
    const label = labels.join(' + ');
    const names = new Array<string>(all.length);
    let estimateMinutes = 0;
    for (let k = 0; k < all.length; k++) {
      const i = all[k];
      names[k] = nameOf[i];
      if (minutes[i] > estimateMinutes) estimateMinutes = minutes[i];
      ctx.stepOf[i] = index;
    }
    // Built field by field so that every step's JSON lists its fields in the same order.
    return {
      index,
      lane: laneOf[index],
      kind,
      label,
      ...(zone !== undefined ? { zone } : {}),
      ...(updateDomain !== undefined ? { updateDomain } : {}),
      machines: names,
      estimateMinutes,
    };
  });
}

/** Merges lists already in fleet order (at most one per track) into one. */
function inFleetOrder(lists: readonly number[][]): readonly number[] {
  if (lists.length === 1) return lists[0];
  let size = 0;
  for (const list of lists) size += list.length;
  const out = new Array<number>(size);
  const at = lists.map(() => 0);
  for (let k = 0; k < size; k++) {
    let best = -1;
    for (let t = 0; t < lists.length; t++)
      if (at[t] < lists[t].length && (best < 0 || lists[t][at[t]] < lists[best][at[best]])) best = t;
    out[k] = lists[best][at[best]++];
  }
  return out;
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function newGroup(map: Map<number, UdGroup>, ud: number): UdGroup {
  const group: UdGroup = { items: [], groups: [], sets: new Set() };
  map.set(ud, group);
  return group;
}
