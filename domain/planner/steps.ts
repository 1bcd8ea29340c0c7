import { type CountOrPercent, resolveBudget } from '../budget';
import type { Machine } from '../fleet';
import type { PlanStep, StepKind } from '../plan';
import { ChainStats, chainBound } from './bounds';
import { type MergedStep, maxMinutes, mergeTracks, type Track } from './merge';
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

/** Azure: within one update domain at most 20% of the set at once, one at a time below 10 machines. */
export function availabilitySetCap(size: number): number {
  return size < 10 ? 1 : Math.floor(size / 5);
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

/**
 * The steps of one region. Three tracks run side by side (see merge.ts): its zones one after another
 * (fewest machines first, ties by zone id), each in batches under the disruption budget of the zone; its
 * availability sets, one update domain at a time across all sets (update domain 0 first), then the set
 * machines without an update domain; its standalone machines in batches under the disruption budget of
 * the region's standalone machines, one subscription's spread over them (subscriptions.ts). A step holds at most one batch of each track. `items` are the
 * region's eligible machines in fleet order.
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

  const tracks: Track[] = [[], [], []];
  const infos: SegmentInfo[][] = [[], [], []];
  const segment = (track: number, info: SegmentInfo, batches: number[][]): void => {
    tracks[track].push({ batches: batches.map((list) => ({ items: list, max: maxMinutes(list, minutes) })) });
    infos[track].push(info);
  };
  const packed = (
    list: readonly number[],
    sizeCap: number,
    groups?: readonly number[],
    groupCaps?: readonly number[],
  ) =>
    pack({
      items: list,
      sizeCap,
      groups: groups ?? null,
      groupCaps: groupCaps ?? null,
      serviceOf: ctx.serviceOf,
      serviceCap: ctx.serviceCap,
      minutes,
    });
  const statsOf = (list: readonly number[]): ChainStats => {
    const stats = new ChainStats();
    for (const i of list) stats.add(minutes[i]);
    return stats;
  };

  let zoneChain = 0;
  const zoneOrder = [...zones].sort((a, b) => a[1].length - b[1].length || byName(a[0], b[0]));
  for (const [zone, list] of zoneOrder) {
    const budget = resolveBudget(ctx.disruptionBudget, list.length, true);
    segment(0, { kind: 'zone', label: `zone ${zone}`, zone }, packed(list, budget));
    zoneChain += chainBound(statsOf(list), budget);
  }

  let setChain = 0;
  const setNames = [...sets.keys()].sort(byName);
  const caps: number[] = [];
  const byUd = new Map<number, UdGroup>();
  const noUd: UdGroup = { items: [], groups: [], sets: new Set() };
  setNames.forEach((name, g) => {
    const list = sets.get(name)!;
    const cap = availabilitySetCap(list.length);
    caps.push(cap);
    const udStats = new Map<number, ChainStats>();
    let chain = 0;
    for (const i of list) {
      const ud = machines[i].updateDomain;
      let group = noUd;
      if (ud === undefined) chain += minutes[i];
      else {
        group = byUd.get(ud) ?? newGroup(byUd, ud);
        let stats = udStats.get(ud);
        if (!stats) udStats.set(ud, (stats = new ChainStats()));
        stats.add(minutes[i]);
      }
      group.items.push(i);
      group.groups.push(g);
      group.sets.add(g);
    }
    for (const stats of udStats.values()) chain += chainBound(stats, cap);
    if (chain > setChain) setChain = chain;
  });
  const setsLabel = (group: UdGroup): string =>
    group.sets.size === 1 ? `set ${setNames[group.sets.values().next().value!]}` : `${group.sets.size} sets`;
  for (const ud of [...byUd.keys()].sort((a, b) => a - b)) {
    const group = byUd.get(ud)!;
    const label = `update domain ${ud} (${setsLabel(group)})`;
    segment(
      1,
      { kind: 'availabilitySet', label, updateDomain: ud },
      packed(group.items, Infinity, group.groups, caps),
    );
  }
  if (noUd.items.length > 0)
    segment(
      1,
      { kind: 'availabilitySet', label: `no update domain (${setsLabel(noUd)})` },
      packed(
        noUd.items,
        Infinity,
        noUd.groups,
        caps.map(() => 1),
      ),
    );

  let standaloneChain = 0;
  if (standalone.length > 0) {
    const budget = resolveBudget(ctx.disruptionBudget, standalone.length, true);
    // Not all of one subscription's machines at once (subscriptions.ts).
    const spread = subscriptionGroups(
      standalone.map((i) => machines[i].subscription),
      budget,
    );
    segment(
      2,
      { kind: 'standalone', label: 'standalone' },
      packed(standalone, budget, spread?.groups, spread?.caps),
    );
    standaloneChain = chainBound(statsOf(standalone), budget);
  }

  const merged = mergeTracks({ tracks, minutes, serviceOf: ctx.serviceOf, serviceCap: ctx.serviceCap });
  return {
    steps: toPlanSteps(merged, infos, ctx),
    lowerBoundMinutes: Math.max(zoneChain, setChain, standaloneChain),
  };
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
