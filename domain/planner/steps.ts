import { type CountOrPercent, resolveBudget } from '../budget';
import type { Machine } from '../fleet';
import type { PlanStep, StepKind } from '../plan';
import { ChainStats, chainBound } from './bounds';
import { type MergedStep, maxMinutes, mergeTracks, type Track } from './merge';
import { laneServiceCaps, type LaneDemand } from './lanes';
import { pack } from './pack';
import { subscriptionGroups } from './subscriptions';

export interface RegionContext {
  machines: readonly Machine[];
  /** Per fleet machine: install + reboot minutes. */
  minutes: Float64Array;
  disruptionBudget: CountOrPercent;
  /** Per fleet machine: service id or -1; null without serviceCapacity. */
  serviceOf: Int32Array | null;
  /** This region's share of a service's allowance. */
  serviceCap: (service: number) => number;
  /** Filled in: per fleet machine, the index and label of its step. */
  stepOf: Int32Array;
  labelOf: string[];
}

export interface RegionSteps {
  steps: PlanStep[];
  /** The longest chain any valid schedule of this region must run through (see bounds.ts). */
  lowerBoundMinutes: number;
}

/**
 * The most machines one batch holds, whatever the budget allows: a step's machines are started in one
 * workflow task, asked for in one lease request and read in one slice of specs, each bounded by Temporal
 * (2 MB a payload, a few MB a request, a history's events). 500 machine specs are about 200 KB of JSON
 * (spec-slices.ts); a step laid into one lane holds one batch per track, so at most three times this.
 */
export const MAX_BATCH_MACHINES = 500;

/**
 * The most machine attempts a region runs at once: its lanes' widest steps together. Temporal lets a
 * workflow have at most 2,000 children running (a region's next start fails its workflow task until
 * some end), and a region's run holds every lane's first step (workflows/region.ts), about 5 events an
 * attempt, under the 10,240 at which Temporal warns. A step laid into one lane is never wider.
 */
export const MAX_REGION_ATTEMPTS = 3 * MAX_BATCH_MACHINES;

/** A budget (`disruptionBudget`) resolved against `total` machines, at least 1, at most a batch's limit. */
export function budgetCap(budget: CountOrPercent, total: number): number {
  return Math.min(resolveBudget(budget, total, true), MAX_BATCH_MACHINES);
}

/**
 * Azure: within one update domain at most 20% of the set at once, one at a time below 10 machines (and
 * never more than a batch holds).
 */
export function availabilitySetCap(size: number): number {
  return size < 10 ? 1 : Math.min(Math.floor(size / 5), MAX_BATCH_MACHINES);
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
  const zoneItems = parts.zones.map(([, list]) => list);
  const demands: LaneDemand[] = [];
  const builders: Array<(cap: (s: number) => number) => LaneTrack> = [];
  if (zoneItems.length > 0) {
    const budgets = parts.zones.map(([, list]) => budgetCap(ctx.disruptionBudget, list.length));
    demands.push({ items: zoneItems, concurrency: Math.max(...budgets) });
    builders.push((cap) => zoneTrack(parts, ctx, cap));
  }
  const standaloneDemand: LaneDemand | null =
    standalone.length > 0
      ? { items: [standalone], concurrency: budgetCap(ctx.disruptionBudget, standalone.length) }
      : null;
  const room = MAX_REGION_ATTEMPTS - widthOf(standaloneDemand ? [...demands, standaloneDemand] : demands);
  for (const demand of setLaneDemands(parts, chains.sets, room)) {
    demands.push(demand);
    builders.push((cap) => setTrack(parts, demand.names, ctx, cap));
  }
  if (standaloneDemand) {
    demands.push(standaloneDemand);
    builders.push((cap) => standaloneTrack(parts, ctx, cap));
  }
  // Lanes side by side unless a service's share forbids them.
  const caps = laneServiceCaps(demands, ctx.serviceOf, ctx.serviceCap);

  if (caps) {
    const lanes = builders.map((build, l) => build(caps[l]));
    const merged: MergedStep[] = [];
    const laneOf: number[] = [];
    lanes.forEach((lane, l) =>
      lane.segments.forEach((segment, g) => {
        for (const batch of segment.batches) {
          merged.push({ parts: [{ track: l, segment: g, items: batch.items }], max: batch.max });
          laneOf.push(l);
        }
      }),
    );
    const infos = lanes.map((lane) => lane.infos);
    return { steps: toPlanSteps(merged, infos, laneOf, ctx), lowerBoundMinutes };
  }

  // One lane (services forbid lanes): the three tracks laid into common steps.
  const whole = [
    zoneTrack(parts, ctx, ctx.serviceCap),
    setTrack(parts, parts.setNames, ctx, ctx.serviceCap),
    standaloneTrack(parts, ctx, ctx.serviceCap),
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

/** The zones one after another, each in batches under its own disruption budget. */
function zoneTrack(parts: RegionParts, ctx: RegionContext, serviceCap: (s: number) => number): LaneTrack {
  const track = trackOf(ctx);
  const packed = packer(ctx, serviceCap);
  for (const [zone, list] of parts.zones)
    track.add(
      { kind: 'zone', label: `zone ${zone}`, zone },
      packed(list, budgetCap(ctx.disruptionBudget, list.length)),
    );
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

/** The standalone machines in batches under the region's standalone budget, subscriptions spread. */
function standaloneTrack(
  parts: RegionParts,
  ctx: RegionContext,
  serviceCap: (s: number) => number,
): LaneTrack {
  const track = trackOf(ctx);
  const { standalone } = parts;
  if (standalone.length === 0) return track;
  const budget = budgetCap(ctx.disruptionBudget, standalone.length);
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

/** A region's set lanes at most: beyond, sets of like chains share a lane and walk their update domains together. */
export const MAX_SET_LANES = 32;

/** The most machines lanes have down at once together: each lane's concurrency, at most a batch. */
function widthOf(lanes: readonly LaneDemand[]): number {
  return lanes.reduce((n, lane) => n + Math.min(lane.concurrency, MAX_BATCH_MACHINES), 0);
}

/**
 * The set lanes: one set per lane when there are at most `MAX_SET_LANES` sets and they fit in `room`
 * (the most machines they may have down at once together); otherwise the sets by their chain (longest
 * first, ties by name) cut into runs of consecutive sets, so that sets of like length walk together:
 * `MAX_SET_LANES` runs, then fewer while they do not fit. One lane always fits: its steps hold at most
 * a batch, and `room` is at least one.
 */
function setLaneDemands(
  parts: RegionParts,
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
  const { machines, minutes } = ctx;
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
      names[k] = machines[i].name;
      if (minutes[i] > estimateMinutes) estimateMinutes = minutes[i];
      ctx.stepOf[i] = index;
      ctx.labelOf[i] = label;
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
