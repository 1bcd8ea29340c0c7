import { type CountOrPercent, resolveBudget } from '../budget';
import type { Machine } from '../fleet';
import type { PlanStep, StepKind } from '../plan';
import { ChainStats, chainBound } from './bounds';
import { pack } from './pack';

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

/**
 * The steps of one region: its zones one after another (fewest machines first, ties by zone id), each
 * in batches under the disruption budget of the zone; then its availability sets, one update domain at
 * a time across all sets (update domain 0 first), then the set machines without an update domain; then
 * its standalone machines in batches under the disruption budget of the region's standalone machines.
 * `items` are the region's eligible machines in fleet order.
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

  const steps: PlanStep[] = [];
  const add = (
    kind: StepKind,
    base: string,
    batches: number[][],
    zone?: string,
    updateDomain?: number,
  ): void => {
    batches.forEach((batch, j) => {
      const index = steps.length;
      const label = batches.length === 1 ? base : `${base} batch ${j + 1}/${batches.length}`;
      const names = new Array<string>(batch.length);
      let estimateMinutes = 0;
      for (let k = 0; k < batch.length; k++) {
        const i = batch[k];
        names[k] = machines[i].name;
        if (minutes[i] > estimateMinutes) estimateMinutes = minutes[i];
        ctx.stepOf[i] = index;
        ctx.labelOf[i] = label;
      }
      // Built field by field so that every step's JSON lists its fields in the same order.
      const step: PlanStep =
        zone !== undefined
          ? { index, kind, label, zone, machines: names, estimateMinutes }
          : updateDomain !== undefined
            ? { index, kind, label, updateDomain, machines: names, estimateMinutes }
            : { index, kind, label, machines: names, estimateMinutes };
      steps.push(step);
    });
  };
  const packed = (
    list: readonly number[],
    sizeCap: number,
    groups?: UdGroup,
    groupCaps?: readonly number[],
  ) =>
    pack({
      items: list,
      sizeCap,
      groups: groups ? groups.groups : null,
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
    add('zone', `zone ${zone}`, packed(list, budget), zone);
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
    add(
      'availabilitySet',
      `update domain ${ud} (${setsLabel(group)})`,
      packed(group.items, Infinity, group, caps),
      undefined,
      ud,
    );
  }
  if (noUd.items.length > 0)
    add(
      'availabilitySet',
      `no update domain (${setsLabel(noUd)})`,
      packed(
        noUd.items,
        Infinity,
        noUd,
        caps.map(() => 1),
      ),
    );

  let standaloneChain = 0;
  if (standalone.length > 0) {
    const budget = resolveBudget(ctx.disruptionBudget, standalone.length, true);
    add('standalone', 'standalone', packed(standalone, budget));
    standaloneChain = chainBound(statsOf(standalone), budget);
  }

  return { steps, lowerBoundMinutes: Math.max(zoneChain, setChain, standaloneChain) };
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
