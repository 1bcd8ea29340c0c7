import type { Fleet } from '../fleet';
import type { Plan } from '../plan';
import type { Policy } from '../policy';
import { REBOOT_MIN_REMAINING_MS } from '../windows';
import { earliestFinish, type ModelArrays, type ModelMachine } from './attempt-model';
import { unsplitMeasure } from './bounds';
import { serviceAllowance } from './capacity';
import { availabilitySetCap, budgetCap } from './limits';
import { placeInUnion, type WindowTrack } from './window-track';

/** Windows a chain's whole installs are followed through (beyond, the fluid figure stands). */
const MAX_NIGHTS = 366;

/** A chain's machines of one track and OS: where their installs and their downtime may lie. */
interface ChainPart {
  track: WindowTrack;
  /** The OS's reboot reserve: an install ends by the window's end less it. */
  reserveMs: number;
  /** The longest reboot of these machines: downtime ends by the window's end less the reserve plus it. */
  maxRebootMs: number;
}

/** A chain's machines that share one cap (a zone, an update domain, a service): their sums and maxima. */
interface CapGroup {
  cap: number;
  installMs: number;
  downMs: number;
  maxInstallMs: number;
  maxDownMs: number;
  /** Its machines' profiles, for the figures of installs in one piece (`unsplitMeasure`). */
  members: ModelMachine[];
}

/**
 * A chain (bounds.ts): groups of machines (a zone, an update domain) of which at most one group, and at
 * most `cap` machines of it, may be down at once. A group's machines are installing during at least
 * `max(sum of installs / cap, longest install)` of the chain's time, inside their usable windows (an
 * install ends by the window's end less the reboot reserve); down during at least the same figure of
 * install + reboot, inside their windows stretched by how far a reboot started at the last moment runs
 * past the reserve, and anywhere. Groups are down one after another, so their figures add up.
 */
class WindowChain {
  minRebootMs = Infinity;
  private readonly groups = new Map<string | number, CapGroup>();
  private lastGroup: { key: string | number; group: CapGroup } | undefined;
  private readonly parts = new Map<WindowTrack, Map<number, ChainPart>>();
  private last: { profile: ModelMachine; part: ChainPart } | undefined;

  /** Machine `i` in the chain's group `key`, of which at most `cap` machines may be down at once. */
  add(model: ModelArrays, i: number, cap: number, key: string | number = 0): void {
    const m = model.machine(i);
    const group = this.groupOf(key, cap);
    group.members.push(m);
    const downMs = m.installMs + m.rebootMs;
    group.installMs += m.installMs;
    group.downMs += downMs;
    if (m.installMs > group.maxInstallMs) group.maxInstallMs = m.installMs;
    if (downMs > group.maxDownMs) group.maxDownMs = downMs;
    if (m.rebootMs < this.minRebootMs) this.minRebootMs = m.rebootMs;
    const part = this.partOf(m);
    if (m.rebootMs > part.maxRebootMs) part.maxRebootMs = m.rebootMs;
  }

  private groupOf(key: string | number, cap: number): CapGroup {
    const last = this.lastGroup;
    if (last && last.key === key) return last.group;
    let group = this.groups.get(key);
    if (!group)
      this.groups.set(
        key,
        (group = { cap, installMs: 0, downMs: 0, maxInstallMs: 0, maxDownMs: 0, members: [] }),
      );
    this.lastGroup = { key, group };
    return group;
  }

  private partOf(m: ModelMachine): ChainPart {
    const last = this.last;
    if (last && last.profile.track === m.track && last.profile.os === m.os) return last.part;
    const reserveMs = REBOOT_MIN_REMAINING_MS[m.os];
    let byReserve = this.parts.get(m.track);
    if (!byReserve) this.parts.set(m.track, (byReserve = new Map()));
    let part = byReserve.get(reserveMs);
    if (!part) byReserve.set(reserveMs, (part = { track: m.track, reserveMs, maxRebootMs: 0 }));
    this.last = { profile: m, part };
    return part;
  }

  /** What the fluid figure left for `whole`: the chain's windows and where its installs end. */
  private fluidRun: { from: number; fluid: number; installEnd: number; parts: ChainPart[] } | undefined;

  /**
   * No schedule finishes the chain earlier, starting at `from` (Infinity: its windows run out): its
   * groups' figures placed into its windows, installs split at will.
   */
  fluid(from: number): number {
    let installMs = 0;
    let downMs = 0;
    for (const g of this.groups.values()) {
      installMs += Math.max(g.installMs / g.cap, g.maxInstallMs);
      downMs += Math.max(g.downMs / g.cap, g.maxDownMs);
    }
    if (downMs === 0) return from;
    const parts = [...this.parts.values()].flatMap((byReserve) => [...byReserve.values()]);
    const installEnd = placeInUnion(installsOf(parts), from, installMs);
    const fluid = Math.max(
      from + downMs,
      installEnd + this.minRebootMs,
      placeInUnion(downtimeOf(parts), from, downMs),
    );
    this.fluidRun = { from, fluid, installEnd, parts };
    return fluid;
  }

  /**
   * The same, tighter where installs are whole (docs/planner.md, section 7): either every install ends
   * before any could have been split, each in one piece inside its first window, or one ends in a later
   * window. After `fluid(from)`; `atLeast` is a finish already known for the phase: when this figure
   * cannot pass it, the fluid one is returned without the work (it decides nothing).
   */
  whole(from: number, atLeast: number): number {
    const run = this.fluidRun;
    if (!run || run.from !== from || !Number.isFinite(run.fluid)) return run?.fluid ?? from;
    const { fluid, installEnd, parts } = run;
    let crowded = false;
    for (const g of this.groups.values()) if (g.members.length > g.cap) crowded = true;
    // No group has more machines than its cap: whole installs give the same figures.
    if (!crowded) return fluid;
    const track = parts[0].track;
    if (!track.alwaysOpen && parts.every((p) => p.track === track))
      return this.nightByNight(from, fluid, parts, track, Math.max(atLeast, fluid));
    const { splitAt, downEnd } = firstWindows(parts, from);
    // Some install ends after `splitAt`, in a later window: the chain's last reboot ends later still.
    const spilled = splitAt + this.minRebootMs;
    // The figure is at most max(fluid, spilled); and past `splitAt` already, the fluid one decides.
    if (spilled <= atLeast || spilled <= fluid || installEnd > splitAt) return fluid;
    let wholeInstallMs = 0;
    let wholeDownMs = 0;
    for (const g of this.groups.values()) {
      if (g.members.length > g.cap) {
        wholeInstallMs += unsplitMeasure(installsOfMembers(g.members), g.cap);
        wholeDownMs += unsplitMeasure(downsOf(g.members), g.cap);
      } else {
        wholeInstallMs += Math.max(g.installMs / g.cap, g.maxInstallMs);
        wholeDownMs += Math.max(g.downMs / g.cap, g.maxDownMs);
      }
    }
    const wholeInstallEnd = placeInUnion(installsOf(parts), from, wholeInstallMs);
    const wholeDownEnd = placeInUnion(downtimeOf(parts), from, wholeDownMs);
    // Every install ends by `splitAt`, in one piece in its first window, and every downtime by `downEnd`.
    const whole =
      wholeInstallEnd > splitAt || wholeDownEnd > downEnd
        ? Infinity
        : Math.max(from + wholeDownMs, wholeInstallEnd + this.minRebootMs, wholeDownEnd);
    // Infinity: no schedule finishes it; the fluid figure is then kept, as for machines that bound nothing.
    const bound = Math.max(fluid, Math.min(whole, spilled));
    return Number.isFinite(bound) ? bound : fluid;
  }
  /**
   * Whole installs, night by night, for a chain whose machines share one schedule (docs/planner.md,
   * section 7): an install is cut only at its window's end less its reserve, and the machines installing
   * at that instant are down together, so of one group. So when the chain's installs all end in its
   * first `n` windows, at most `P·(n - 1)` groups (P: the chain's reboot reserves) have a split install;
   * every other group is down in whole runs of install + reboot, and adds its gain over the fluid figure.
   * The first `n` whose figures fit decides. (Installs alone keep their fluid figure: sorting them too
   * costs a second sort of the machines and moved no bench figure.)
   */
  private nightByNight(
    from: number,
    fluid: number,
    parts: readonly ChainPart[],
    track: WindowTrack,
    atLeast: number,
  ): number {
    let installMs = 0;
    let downMs = 0;
    let downUpper = 0;
    for (const g of this.groups.values()) {
      installMs += Math.max(g.installMs / g.cap, g.maxInstallMs);
      const fluidDown = Math.max(g.downMs / g.cap, g.maxDownMs);
      downMs += fluidDown;
      // Whole, at most what a list schedule takes: the sum over the cap plus the longest.
      if (g.members.length > g.cap) downUpper += g.downMs / g.cap + g.maxDownMs - fluidDown;
    }
    const installs = installsOf(parts);
    const downtime = downtimeOf(parts);
    const reboot = this.minRebootMs;
    // With every group whole at most, the figures end by `upperEnd`, so this one is at most `upperEnd` plus
    // a reboot (below): when the phase already needs that, it decides nothing.
    const installDone = placeInUnion(installs, from, installMs);
    const upperEnd = Math.max(installDone, placeInUnion(downtime, from, downMs + downUpper));
    if (upperEnd + reboot <= atLeast) return fluid;
    const gains: number[] = [];
    for (const g of this.groups.values())
      if (g.members.length > g.cap)
        gains.push(unsplitMeasure(downsOf(g.members), g.cap) - Math.max(g.downMs / g.cap, g.maxDownMs));
    gains.sort((a, b) => b - a);
    const downAll = downMs + largest(gains, gains.length);
    const minReserve = Math.min(...parts.map((p) => p.reserveMs));
    const maxStretch = Math.max(...parts.map((p) => p.maxRebootMs - p.reserveMs));
    // The chain's windows from `from`: the first with time for an install, then each after it.
    let index = track.firstEndingAfter(from);
    if (index < 0) return fluid;
    let w = track.at(index);
    while (w && w.end - minReserve <= Math.max(w.start, from)) w = track.at(++index);
    for (let n = 1; w && n <= MAX_NIGHTS; n++, w = track.at(++index)) {
      const needDown = downAll - largest(gains, parts.length * (n - 1));
      const downDone = placeInUnion(downtime, from, needDown);
      // Not inside the first n windows: the chain's last install ends in a later one.
      if (installDone > w.end - minReserve || downDone > w.end + maxStretch) continue;
      const inWindow = Math.max(
        Math.max(w.start, from) + reboot,
        from + needDown,
        installDone + reboot,
        downDone,
      );
      const next = track.at(index + 1);
      const bound = Math.max(fluid, Math.min(inWindow, next ? next.start + reboot : Infinity));
      return Number.isFinite(bound) ? bound : fluid;
    }
    return fluid;
  }
}

/** The most `count` of `gains` (sorted largest first) add up to. */
function largest(gains: readonly number[], count: number): number {
  let sum = 0;
  for (let j = 0; j < Math.min(count, gains.length); j++) sum += gains[j];
  return sum;
}

/** Where a chain's installs may lie: each part's windows less its OS's reboot reserve. */
function installsOf(parts: readonly ChainPart[]): { track: WindowTrack; endReserveMs: number }[] {
  return parts.map((p) => ({ track: p.track, endReserveMs: p.reserveMs }));
}

/** Where its downtime may lie: each part's windows to their end less the reserve plus its longest reboot. */
function downtimeOf(parts: readonly ChainPart[]): { track: WindowTrack; endReserveMs: number }[] {
  return parts.map((p) => ({ track: p.track, endReserveMs: p.reserveMs - p.maxRebootMs }));
}

/** A group's installs, for `unsplitMeasure`. */
function installsOfMembers(members: readonly ModelMachine[]): Float64Array {
  const installs = new Float64Array(members.length);
  for (let j = 0; j < members.length; j++) installs[j] = members[j].installMs;
  return installs;
}

/** A group's downtimes (install + reboot), for `unsplitMeasure`. */
function downsOf(members: readonly ModelMachine[]): Float64Array {
  const downs = new Float64Array(members.length);
  for (let j = 0; j < members.length; j++) downs[j] = members[j].installMs + members[j].rebootMs;
  return downs;
}

/**
 * Each part's first window with time for an install after `from`. `splitAt`: the earliest start of a
 * part's next window, before which no install started at `from` or later can have been split (a window's
 * end cuts it, and its rest runs in a later window); Infinity when no part has a next window (always
 * open parts are never cut). `downEnd`: the latest end of those first windows less the reserve plus
 * the longest reboot, by which a machine installed in its first window is up again.
 */
function firstWindows(parts: readonly ChainPart[], from: number): { splitAt: number; downEnd: number } {
  let splitAt = Infinity;
  let downEnd = -Infinity;
  for (const { track, reserveMs, maxRebootMs } of parts) {
    if (track.alwaysOpen) {
      // Never cut, and up again whenever: it splits nothing and ends anywhere.
      downEnd = Infinity;
      continue;
    }
    let k = track.firstEndingAfter(from);
    let first = k < 0 ? undefined : track.at(k);
    while (first && first.end - reserveMs <= Math.max(first.start, from)) first = track.at(++k);
    if (!first) continue;
    downEnd = Math.max(downEnd, first.end - reserveMs + maxRebootMs);
    const next = track.at(k + 1);
    if (next && next.start < splitAt) splitAt = next.start;
  }
  return { splitAt, downEnd };
}

/**
 * The window-aware lower bound (docs/planner.md, section 7): an instant before
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
  // Each service's allowance, over its machines in the rollout (capacity.ts).
  const serviceOf: (string | undefined)[] = new Array<string | undefined>(machines.length);
  const allowance = new Map<string, number>();
  if (capacity) {
    for (let i = 0; i < machines.length; i++) {
      const tags = machines[i].tags;
      if (plan.machines[i].phase === undefined || !Object.hasOwn(tags, capacity.tag)) continue;
      const s = tags[capacity.tag];
      serviceOf[i] = s;
      allowance.set(s, (allowance.get(s) ?? 0) + 1);
    }
    for (const [s, total] of allowance) allowance.set(s, serviceAllowance(capacity.minAvailable, total));
  }

  let t = options.startAt;
  for (const phase of plan.phases) {
    const from = t + options.phaseGapMs(phase.index);
    let bound = from;
    const services = new Map<string, WindowChain>();
    const phaseChains: WindowChain[] = [];
    // Machines of one profile (track, OS, durations) have the same earliest finish.
    const alone = new Set<ModelMachine>();
    plan.regions.forEach((region, r) => {
      if (region.phase !== phase.index) return;
      const zonal: number[] = [];
      const standalone: number[] = [];
      const sets = new Map<string, number[]>();
      for (const step of stepItems[r])
        for (const i of step) {
          const m = machines[i];
          if (m.zone !== undefined) zonal.push(i);
          else if (m.availabilitySet !== undefined) {
            const list = sets.get(m.availabilitySet);
            if (list) list.push(i);
            else sets.set(m.availabilitySet, [i]);
          } else standalone.push(i);
          const profile = model.machine(i);
          if (!alone.has(profile)) {
            alone.add(profile);
            bound = maxFinite(bound, earliestFinish(profile, from, policy.maxAttempts));
          }
          const s = serviceOf[i];
          if (s !== undefined) {
            let chain = services.get(s);
            if (!chain) services.set(s, (chain = new WindowChain()));
            chain.add(model, i, allowance.get(s)!);
          }
        }
      const chains: WindowChain[] = [];
      // Zones: one at a time, each under its own budget.
      const zones = new Map<string, number>();
      for (const i of zonal) zones.set(machines[i].zone!, (zones.get(machines[i].zone!) ?? 0) + 1);
      const zoneCaps = new Map(
        [...zones].map(([zone, count]) => [zone, budgetCap(policy.disruptionBudget, count)]),
      );
      const zoneChain = new WindowChain();
      for (const i of zonal) zoneChain.add(model, i, zoneCaps.get(machines[i].zone!)!, machines[i].zone!);
      chains.push(zoneChain);
      // A set: one update domain at a time under its 20% rule; machines without one, one at a time.
      for (const list of sets.values()) {
        const chain = new WindowChain();
        const cap = availabilitySetCap(list.length);
        for (const i of list) {
          const ud = machines[i].updateDomain;
          // Machines without an update domain: one at a time (one group of cap 1).
          chain.add(model, i, ud === undefined ? 1 : cap, ud ?? -1);
        }
        chains.push(chain);
      }
      const standaloneChain = new WindowChain();
      const budget = budgetCap(policy.disruptionBudget, standalone.length);
      for (const i of standalone) standaloneChain.add(model, i, budget);
      chains.push(standaloneChain);
      for (const chain of chains) bound = maxFinite(bound, chain.fluid(from));
      phaseChains.push(...chains);
    });
    for (const chain of services.values()) {
      bound = maxFinite(bound, chain.fluid(from));
      phaseChains.push(chain);
    }
    // Then whole installs, once the phase's fluid figure is known: most chains cannot pass it.
    for (const chain of phaseChains) bound = maxFinite(bound, chain.whole(from, bound));
    t = bound;
  }
  return t;
}

function maxFinite(a: number, b: number): number {
  return Number.isFinite(b) && b > a ? b : a;
}
