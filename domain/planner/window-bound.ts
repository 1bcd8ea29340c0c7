import { resolveBudget } from '../budget';
import type { Fleet } from '../fleet';
import type { Plan } from '../plan';
import type { Policy } from '../policy';
import { REBOOT_MIN_REMAINING_MS } from '../windows';
import { earliestFinish, type ModelArrays } from './attempt-model';
import { serviceAllowance } from './capacity';
import { availabilitySetCap } from './steps';
import { placeInUnion, type WindowTrack } from './window-track';

/**
 * A chain (bounds.ts): machines of which at most `cap` may be down at once. Here each machine counts
 * with its share of the chain's time: `installMs / cap` must lie inside the machines' usable windows,
 * `(installMs + rebootMs) / cap` anywhere.
 */
class WindowChain {
  installMs = 0;
  downMs = 0;
  minRebootMs = Infinity;
  readonly parts = new Map<WindowTrack, Map<number, { track: WindowTrack; endReserveMs: number }>>();

  add(model: ModelArrays, i: number, cap: number): void {
    const m = model.machine(i);
    this.installMs += m.installMs / cap;
    this.downMs += (m.installMs + m.rebootMs) / cap;
    if (m.rebootMs < this.minRebootMs) this.minRebootMs = m.rebootMs;
    const reserve = REBOOT_MIN_REMAINING_MS[m.os];
    let byReserve = this.parts.get(m.track);
    if (!byReserve) this.parts.set(m.track, (byReserve = new Map()));
    if (!byReserve.has(reserve)) byReserve.set(reserve, { track: m.track, endReserveMs: reserve });
  }

  /** No schedule finishes the chain earlier, starting at `from` (Infinity: its windows run out). */
  finish(from: number): number {
    if (this.downMs === 0) return from;
    const parts = [...this.parts.values()].flatMap((byReserve) => [...byReserve.values()]);
    const windowed = placeInUnion(parts, from, this.installMs) + this.minRebootMs;
    return Math.max(from + this.downMs, windowed);
  }
}

/**
 * The window-aware lower bound (docs/planner.md, "The window-aware lower bound"): an instant before
 * which no schedule obeying the rules and the machines' windows can have patched every machine, under
 * the same assumptions as the forecast (gates and bake time between phases). Per phase, from the
 * earliest instant it can start: every chain (a region's zones, each availability set, a region's
 * standalone machines, each service across the phase) placed into its machines' windows, and every
 * machine alone. Machines that cannot be patched at all (Infinity) bound nothing.
 */
export function windowAwareBound(
  fleet: Fleet,
  policy: Policy,
  plan: Plan,
  stepItems: readonly number[][][],
  model: ModelArrays,
  options: { startAt: number; phaseGapMs: (phase: number) => number },
): number {
  const machines = fleet.machines;
  const capacity = policy.serviceCapacity;
  const serviceTotals = new Map<string, number>();
  if (capacity)
    plan.machines.forEach((pm, i) => {
      const s = pm.phase === undefined ? undefined : machines[i].tags[capacity.tag];
      if (s !== undefined && Object.hasOwn(machines[i].tags, capacity.tag))
        serviceTotals.set(s, (serviceTotals.get(s) ?? 0) + 1);
    });

  let t = options.startAt;
  for (const phase of plan.phases) {
    const from = t + options.phaseGapMs(phase.index);
    let bound = from;
    const services = new Map<string, WindowChain>();
    plan.regions.forEach((region, r) => {
      if (region.phase !== phase.index) return;
      const items = stepItems[r].flat();
      const zonal: number[] = [];
      const standalone: number[] = [];
      const sets = new Map<string, number[]>();
      for (const i of items) {
        const m = machines[i];
        if (m.zone !== undefined) zonal.push(i);
        else if (m.availabilitySet !== undefined) {
          const list = sets.get(m.availabilitySet);
          if (list) list.push(i);
          else sets.set(m.availabilitySet, [i]);
        } else standalone.push(i);
        const e = earliestFinish(model.machine(i), from, policy.maxAttempts);
        if (Number.isFinite(e) && e > bound) bound = e;
        if (capacity && Object.hasOwn(m.tags, capacity.tag)) {
          const s = m.tags[capacity.tag];
          let chain = services.get(s);
          if (!chain) services.set(s, (chain = new WindowChain()));
          chain.add(model, i, serviceAllowance(capacity.minAvailable, serviceTotals.get(s)!));
        }
      }
      const chains: WindowChain[] = [];
      // Zones: one at a time, each under its own budget.
      const zones = new Map<string, number>();
      for (const i of zonal) zones.set(machines[i].zone!, (zones.get(machines[i].zone!) ?? 0) + 1);
      const zoneChain = new WindowChain();
      for (const i of zonal)
        zoneChain.add(model, i, resolveBudget(policy.disruptionBudget, zones.get(machines[i].zone!)!, true));
      chains.push(zoneChain);
      // A set: one update domain at a time under its 20% rule; machines without one, one at a time.
      for (const list of sets.values()) {
        const chain = new WindowChain();
        const cap = availabilitySetCap(list.length);
        for (const i of list) chain.add(model, i, machines[i].updateDomain === undefined ? 1 : cap);
        chains.push(chain);
      }
      const standaloneChain = new WindowChain();
      const budget = resolveBudget(policy.disruptionBudget, standalone.length, true);
      for (const i of standalone) standaloneChain.add(model, i, budget);
      chains.push(standaloneChain);
      for (const chain of chains) bound = maxFinite(bound, chain.finish(from));
    });
    for (const chain of services.values()) bound = maxFinite(bound, chain.finish(from));
    t = bound;
  }
  return t;
}

function maxFinite(a: number, b: number): number {
  return Number.isFinite(b) && b > a ? b : a;
}
