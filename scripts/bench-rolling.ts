/**
 * What a machine-by-machine schedule would reach against the window-aware bound (a prototype, not what
 * the workflows run): `node dist/scripts/bench-rolling.js` (after `npm run build`). For each bench shape
 * and seed it prints the forecast's duration over the bound's (the steps the workflows run) beside a
 * schedule in which each zone, update domain and standalone group keeps `cap` slots and a slot takes the
 * group's next machine as soon as it frees (longest first, or in fleet order with `ROLLING_ORDER=fleet`),
 * attempts as the workflows run them (docs/planner.md, section 6). Zones one after another (fewest
 * machines first), update domains in order; each set on its own (no lanes shared); service capacity
 * ignored. Phases one after another, each from the end of the one before. docs/planner.md, section 7.
 *
 * `ROLLING_UNIT_ORDER=fit` adds a row per shape: the same two figures with a window-aware order of each
 * set's update domains and each region's zones (in the prototype), and of each lane's zone or update
 * domain blocks (in a copy of the plan, measured by the forecast itself); `=best` also tries every
 * order of chains of at most six groups. `ROLLING_DETAIL=<shape>:<seed>` prints, for that fleet, each
 * phase's bound and, per phase, the chains that end last, each from the bound's start of the phase.
 */
import { forecastRollout, planRollout, availabilitySetCap } from '../domain/planner';
import { lanesOf } from '../domain/planner/forecast';
import { resolveBudget } from '../domain/budget';
import type { Fleet, Machine } from '../domain/fleet';
import type { Plan, PlanStep } from '../domain/plan';
import { type Policy, policySchema } from '../domain/policy';
import { scheduleFor } from '../domain/rollout-spec';
import {
  nextWindow,
  REBOOT_MIN_REMAINING_MS,
  INSTALL_MIN_REMAINING_MS,
  type TimeWindow,
} from '../domain/windows';
import { DEFAULT_MINUTES } from '../domain/planner';
import { SHAPES, syntheticFleet } from './bench-planner';

const START = Date.parse('2026-11-10T00:00:00Z');
const DEADLINE = Date.parse('2026-12-10T23:59:59Z');
const MINUTE_MS = 60_000;
const SEEDS = [7, 1, 2, 3, 4, 5];
const longestFirst = process.env.ROLLING_ORDER !== 'fleet';
const unitOrder = process.env.ROLLING_UNIT_ORDER;
const detail = process.env.ROLLING_DETAIL;

interface Item {
  installMs: number;
  rebootMs: number;
  reserveMs: number;
  windows: readonly TimeWindow[];
}

/** A zone or an update domain: at most `cap` of its machines down at once. */
interface Group {
  label: string;
  cap: number;
  items: Item[];
}

/** Groups one after another: a region's zones, a set's update domains, a region's standalone machines. */
interface Chain {
  label: string;
  groups: Group[];
}

interface Attempt {
  start: number;
  finish: number;
  leftMs: number;
  windowEnd: number;
}

/** One attempt: from `ready`, in the first window with the start reserve left; what is left waits. */
function attempt(ready: number, leftMs: number, m: Item): Attempt {
  for (const w of m.windows) {
    const start = Math.max(ready, w.start);
    if (start > w.end - INSTALL_MIN_REMAINING_MS) continue;
    const done = Math.max(0, Math.min(start + leftMs, w.end - m.reserveMs) - start);
    return { start, finish: start + done + m.rebootMs, leftMs: leftMs - done, windowEnd: w.end };
  }
  return { start: Infinity, finish: Infinity, leftMs: 0, windowEnd: Infinity };
}

/** A group from `from`, machine by machine on its `cap` slots: when its first starts and its last is up. */
function runGroup(g: Group, from: number): { start: number; end: number; cut: boolean } {
  const items = longestFirst
    ? [...g.items].sort((a, b) => b.installMs + b.rebootMs - (a.installMs + a.rebootMs))
    : g.items;
  const slots = new Array<number>(Math.min(g.cap, items.length)).fill(from);
  const queue = items.map((m) => ({ m, leftMs: m.installMs, notBefore: from }));
  let start = Infinity;
  let end = from;
  let cut = false;
  for (let next = queue.shift(); next; next = queue.shift()) {
    const k = slots.indexOf(Math.min(...slots));
    const a = attempt(Math.max(slots[k], next.notBefore), next.leftMs, next.m);
    slots[k] = a.finish;
    start = Math.min(start, a.start);
    end = Math.max(end, a.finish);
    if (a.leftMs > 0) {
      cut = true;
      queue.push({ m: next.m, leftMs: a.leftMs, notBefore: a.windowEnd });
    }
  }
  return { start, end, cut };
}

/** Groups one after another; when the last is up again. */
function runChain(groups: readonly Group[], from: number): number {
  let t = from;
  for (const g of groups) t = runGroup(g, t).end;
  return t;
}

/**
 * A lane of steps as the forecast walks it (forecast.ts `runLane`), with the prototype's attempts: each
 * step until its last machine is up, then the machines a window cut, round after round.
 */
function runSteps(
  steps: readonly Item[][],
  from: number,
  maxAttempts: number,
): { end: number; cut: boolean } {
  let t = from;
  let cut = false;
  let due = steps.map((items) => items.map((m) => ({ m, leftMs: m.installMs, notBefore: from })));
  for (let round = 1; round <= maxAttempts && due.some((d) => d.length > 0); round++) {
    const next: typeof due = [];
    for (const entries of due) {
      if (entries.length === 0) continue;
      const left: (typeof due)[number] = [];
      let finish = t;
      for (const e of entries) {
        const a = attempt(Math.max(t, e.notBefore), e.leftMs, e.m);
        finish = Math.max(finish, a.finish);
        if (a.leftMs > 0) left.push({ m: e.m, leftMs: a.leftMs, notBefore: a.windowEnd });
      }
      if (left.length > 0) cut = true;
      next.push(left);
      t = finish;
    }
    due = next;
  }
  return { end: t, cut };
}

/** The end of the window open at `t` or, between windows, of the next one. */
function windowEndAfter(windows: readonly TimeWindow[], t: number): number {
  return windows.find((w) => w.end > t)?.end ?? Infinity;
}

/**
 * A window-aware order of a chain's units (zones, update domains): of the planned order, the longest
 * unit first, a greedy one (from the chain's time, the longest unit that still ends inside the night it
 * starts in, uncut; when none does, the longest), and the first two with the unit whose downtime runs
 * longest past its installs moved last (its reboots may end after the install cut), the one whose chain
 * ends first; ties keep the earlier candidate, the planned order first. `best` also tries every order
 * of up to six units.
 */
function chooseOrder<U>(
  units: readonly U[],
  from: number,
  chainEnd: (order: readonly U[], from: number) => number,
  alone: (unit: U, from: number) => { end: number; fits: boolean },
  size: (unit: U) => number,
  tail: (unit: U) => number,
): readonly U[] {
  if (units.length < 2) return units;
  const longest = [...units].sort((a, b) => size(b) - size(a));
  // The unit whose downtime runs longest past its installs: last, its reboots past the install cut.
  let last = units[0];
  for (const u of units) if (tail(u) > tail(last)) last = u;
  const lastOf = (order: readonly U[]) => [...order.filter((u) => u !== last), last];
  const greedy: U[] = [];
  const left = [...units];
  for (let t = from; left.length > 0;) {
    const runs = left.map((u) => alone(u, t));
    let k = -1;
    for (let j = 0; j < left.length; j++) if (runs[j].fits && (k < 0 || runs[j].end > runs[k].end)) k = j;
    if (k < 0) for (let j = 0; j < left.length; j++) if (k < 0 || size(left[j]) > size(left[k])) k = j;
    greedy.push(left[k]);
    t = runs[k].end;
    left.splice(k, 1);
  }
  const candidates: (readonly U[])[] = [units, longest, greedy, lastOf(units), lastOf(longest)];
  if (unitOrder === 'best' && units.length <= 6) candidates.push(...permutations(units));
  let best = units;
  let bestEnd = Infinity;
  for (const order of candidates) {
    const end = chainEnd(order, from);
    if (end < bestEnd) [best, bestEnd] = [order, end];
  }
  return best;
}

function permutations<U>(units: readonly U[]): U[][] {
  if (units.length <= 1) return [[...units]];
  return units.flatMap((u, k) =>
    permutations([...units.slice(0, k), ...units.slice(k + 1)]).map((rest) => [u, ...rest]),
  );
}

/** A unit's work on its own, without windows: its downtime over its cap, at least its longest machine. */
function workOf(items: readonly Item[], cap: number, reboots = true): number {
  let sum = 0;
  let max = 0;
  for (const m of items) {
    const ms = m.installMs + (reboots ? m.rebootMs : 0);
    sum += ms;
    max = Math.max(max, ms);
  }
  return Math.max(sum / cap, max);
}

/** How far a unit's downtime figure runs past its installs' figure: what may lie past the install cut. */
function tailOf(items: readonly Item[], cap: number): number {
  return workOf(items, cap) - workOf(items, cap, false);
}

function fitsTonight(items: readonly Item[], from: number, run: { end: number; cut: boolean }): boolean {
  const maxReboot = Math.max(...items.map((m) => m.rebootMs));
  return !run.cut && run.end <= windowEndAfter(items[0].windows, from) + maxReboot;
}

function chooseGroups(groups: readonly Group[], from: number): readonly Group[] {
  return chooseOrder(
    groups,
    from,
    runChain,
    (g, t) => {
      const run = runGroup(g, t);
      return { end: run.end, fits: fitsTonight(g.items, t, run) };
    },
    (g) => workOf(g.items, g.cap),
    (g) => tailOf(g.items, g.cap),
  );
}

const byKey = <K>(indices: readonly number[], key: (i: number) => K) => {
  const groups = new Map<K, number[]>();
  for (const i of indices) {
    const list = groups.get(key(i));
    if (list) list.push(i);
    else groups.set(key(i), [i]);
  }
  return groups;
};

/** The fleet as the prototype sees it: each machine's windows and durations. */
function itemsOf(fleet: Fleet, policy: Policy): (i: number) => Item {
  const windows = new Map<string, TimeWindow[]>();
  const items = new Map<number, Item>();
  const item = (m: Machine): Item => {
    let list = windows.get(m.timeZone);
    if (!list) {
      const schedule = scheduleFor(m, fleet, policy).schedule;
      list = [];
      for (let t = START - 86_400_000, k = 0; schedule && k < 60; k++) {
        const w = nextWindow(schedule, t);
        if (!w) break;
        list.push(w);
        t = w.end;
      }
      windows.set(m.timeZone, list);
    }
    const d = m.durations ?? DEFAULT_MINUTES[m.os];
    const rebootMinutes = policy.rebootSetting === 'Never' ? 0 : d.rebootMinutes;
    return {
      installMs: d.installMinutes * MINUTE_MS,
      rebootMs: rebootMinutes * MINUTE_MS,
      reserveMs: REBOOT_MIN_REMAINING_MS[m.os],
      windows: list,
    };
  };
  return (i) => {
    let it = items.get(i);
    if (!it) items.set(i, (it = item(fleet.machines[i])));
    return it;
  };
}

/** A phase's chains, region by region: its zones, each set's update domains, its standalone machines. */
function chainsOf(
  fleet: Fleet,
  policy: Policy,
  plan: Plan,
  phase: number,
  item: (i: number) => Item,
): Chain[] {
  const chains: Chain[] = [];
  const ms = fleet.machines;
  for (const region of plan.regions) {
    if (region.phase !== phase) continue;
    const here: number[] = [];
    plan.machines.forEach((pm, i) => pm.phase !== undefined && pm.region === region.region && here.push(i));
    const zonal = here.filter((i) => ms[i].zone !== undefined);
    const alone = here.filter((i) => ms[i].zone === undefined && ms[i].availabilitySet === undefined);
    const zones = [...byKey(zonal, (i) => ms[i].zone!)].sort((a, b) => a[1].length - b[1].length);
    const budget = (list: number[]) => resolveBudget(policy.disruptionBudget, list.length, true);
    chains.push({
      label: `${region.region} zones`,
      groups: zones.map(([zone, list]) => ({
        label: `zone ${zone}`,
        cap: budget(list),
        items: list.map(item),
      })),
    });
    chains.push({
      label: `${region.region} standalone`,
      groups: [{ label: 'standalone', cap: budget(alone), items: alone.map(item) }],
    });
    const sets = byKey(
      here.filter((i) => ms[i].availabilitySet !== undefined),
      (i) => ms[i].availabilitySet!,
    );
    for (const [set, list] of sets) {
      const domains = [...byKey(list, (i) => ms[i].updateDomain ?? Infinity)].sort((a, b) => a[0] - b[0]);
      chains.push({
        label: `${region.region} set ${set}`,
        groups: domains.map(([ud, members]) => ({
          label: `ud ${ud}`,
          cap: ud === Infinity ? 1 : availabilitySetCap(list.length),
          items: members.map(item),
        })),
      });
    }
  }
  return chains.filter((c) => c.groups.some((g) => g.items.length > 0));
}

/** The prototype's finish: phases one after another, its chains side by side from the phase's start. */
function rollingFinish(fleet: Fleet, policy: Policy, plan: Plan, ordered: boolean): number {
  const item = itemsOf(fleet, policy);
  let t = START;
  for (const phase of plan.phases) {
    let finish = t;
    for (const chain of chainsOf(fleet, policy, plan, phase.index, item)) {
      const groups = ordered ? chooseGroups(chain.groups, t) : chain.groups;
      finish = Math.max(finish, runChain(groups, t));
    }
    t = finish;
  }
  return t;
}

function forecastOf(fleet: Fleet, policy: Policy, plan: Plan, startAt = START) {
  return forecastRollout(fleet, policy, plan, { startAt, deadline: DEADLINE, approvalMinutes: 0 }).forecast;
}

/**
 * A copy of the plan whose lanes walk their zone and update domain blocks (a lane's consecutive steps of
 * one zone or update domain) in a window-aware order, chosen phase by phase from the forecast's start of
 * the phase (with the prototype's attempts); the steps inside a block keep their order.
 */
function reorderedPlan(fleet: Fleet, policy: Policy, plan: Plan): Plan {
  const item = itemsOf(fleet, policy);
  const copy: Plan = { ...plan, regions: [...plan.regions], machines: [...plan.machines] };
  const members: number[][][] = plan.regions.map((r) => r.steps.map(() => []));
  const regionIndex = new Map(plan.regions.map((r, k) => [r.region, k]));
  plan.machines.forEach((pm, i) => {
    if (pm.phase !== undefined) members[regionIndex.get(pm.region)!][pm.step!].push(i);
  });
  let t = START;
  for (const phase of plan.phases) {
    plan.regions.forEach((region, r) => {
      if (region.phase !== phase.index) return;
      const order: number[] = [];
      for (const lane of lanesOf(region.steps)) {
        const blocks: number[][] = [];
        const keyOf = (s: PlanStep) => `${s.kind}:${s.zone ?? ''}:${s.updateDomain ?? ''}`;
        lane.forEach((s, k) => {
          if (k > 0 && keyOf(region.steps[s]) === keyOf(region.steps[lane[k - 1]]))
            blocks[blocks.length - 1].push(s);
          else blocks.push([s]);
        });
        const stepsOf = (block: readonly number[]) => block.map((s) => members[r][s].map(item));
        const chosen = chooseOrder(
          blocks,
          t,
          (o, from) => runSteps(o.flatMap(stepsOf), from, policy.maxAttempts).end,
          (block, from) => {
            const items = stepsOf(block);
            const run = runSteps(items, from, 1);
            return { end: run.end, fits: fitsTonight(items.flat(), from, run) };
          },
          (block) => stepsOf(block).reduce((n, items) => n + workOf(items, items.length), 0),
          (block) => {
            const items = stepsOf(block).at(-1)!;
            return tailOf(items, items.length);
          },
        );
        order.push(...chosen.flat());
      }
      const steps = order.map((s, index) => ({ ...region.steps[s], index }));
      const newIndex = new Map(order.map((s, index) => [s, index]));
      copy.regions[r] = { ...region, steps };
      for (const [s, list] of members[r].entries())
        for (const i of list) copy.machines[i] = { ...plan.machines[i], step: newIndex.get(s)! };
    });
    // The next phase starts where the forecast of the reordered phases so far ends this one.
    t = Date.parse(
      forecastOf(fleet, policy, { ...copy, phases: copy.phases.slice(0, phase.index + 1) }).finishAt,
    );
  }
  return copy;
}

interface Ratios {
  forecast: number;
  rolling: number;
}

function ratios(fleet: Fleet, policy: Policy, ordered: boolean): Ratios | undefined {
  const planned = planRollout(fleet, policy);
  if (!planned.ok) return undefined;
  const plan = ordered ? reorderedPlan(fleet, policy, planned.value) : planned.value;
  const f = forecastOf(fleet, policy, plan);
  const bound = Date.parse(f.lowerBoundFinishAt) - START;
  return {
    forecast: (Date.parse(f.finishAt) - START) / bound,
    rolling: (rollingFinish(fleet, policy, planned.value, ordered) - START) / bound,
  };
}

const clock = (t: number) => new Date(t).toISOString().slice(5, 16).replace('T', ' ');

/** The bound of machines `keep` of `phase` alone, from `from` (a copy of the plan without the others). */
function boundOf(fleet: Fleet, policy: Policy, plan: Plan, phase: number, keep: Set<number>, from: number) {
  const only: Plan = {
    ...plan,
    phases: plan.phases.filter((p) => p.index === phase),
    machines: plan.machines.map((pm, i) => (keep.has(i) ? pm : { ...pm, phase: undefined })),
  };
  return Date.parse(forecastOf(fleet, policy, only, from).lowerBoundFinishAt);
}

/**
 * For a chain that waits a night its bound does not: how many minutes longer its windows would have to
 * be (each window's end later) for the prototype to end in the night it starts in, up to two hours.
 */
function minutesShort(groups: readonly Group[], from: number, bound: number): number | undefined {
  if (runChain(groups, from) - bound < 3_600_000) return undefined;
  for (let x = 1; x <= 120; x++) {
    const longer = new Map<readonly TimeWindow[], TimeWindow[]>();
    const widen = (ws: readonly TimeWindow[]) => {
      let list = longer.get(ws);
      if (!list) longer.set(ws, (list = ws.map((w) => ({ ...w, end: w.end + x * MINUTE_MS }))));
      return list;
    };
    const wider = groups.map((g) => ({
      ...g,
      items: g.items.map((m) => ({ ...m, windows: widen(m.windows) })),
    }));
    if (runChain(wider, from) - bound < 3_600_000) return x;
  }
  return undefined;
}

/** `ROLLING_DETAIL`: per phase, its bound and the prototype's chains that end last, from the bound's start. */
function printDetail(name: string, fleet: Fleet, policy: Policy): void {
  const planned = planRollout(fleet, policy);
  if (!planned.ok) return;
  const plan = planned.value;
  const item = itemsOf(fleet, policy);
  const indexOf = new Map<Item, number[]>();
  plan.machines.forEach((pm, i) => {
    if (pm.phase === undefined) return;
    const list = indexOf.get(item(i));
    if (list) list.push(i);
    else indexOf.set(item(i), [i]);
  });
  // A chain's machines, found back by their items (one per machine).
  const keepOf = (chain: Chain) => {
    const keep = new Set<number>();
    for (const g of chain.groups)
      for (const it of g.items) for (const i of indexOf.get(it) ?? []) keep.add(i);
    return keep;
  };
  console.log(`\n${name}: per phase, from the bound's start of it (UTC)`);
  let from = START;
  for (const phase of plan.phases) {
    const bound = Date.parse(
      forecastOf(fleet, policy, { ...plan, phases: plan.phases.slice(0, phase.index + 1) })
        .lowerBoundFinishAt,
    );
    const runs = chainsOf(fleet, policy, plan, phase.index, item).map((chain) => ({
      chain,
      end: runChain(chain.groups, from),
      order: chooseGroups(chain.groups, from),
    }));
    runs.sort((a, b) => b.end - a.end);
    console.log(
      `phase ${phase.index}: from ${clock(from)}, bound ${clock(bound)}, prototype ${clock(runs[0]?.end ?? from)}`,
    );
    for (const { chain, end, order } of runs.slice(0, 4)) {
      const fit = `${order.map((g) => g.label).join(', ')}: ${clock(runChain(order, from))}`;
      const own = boundOf(fleet, policy, plan, phase.index, keepOf(chain), from);
      const short = minutesShort(chain.groups, from, own);
      const shortText = short === undefined ? '' : `, ${short} minutes short of its night`;
      console.log(
        `  ${chain.label}: ends ${clock(end)} (window-aware order ${fit}), its bound ${clock(own)}${shortText}`,
      );
      let t = from;
      for (const g of chain.groups) {
        const run = runGroup(g, t);
        const w = windowEndAfter(g.items[0].windows, run.start);
        console.log(
          `    ${g.label} (${g.items.length} machines, cap ${g.cap}, work ${Math.round(workOf(g.items, g.cap) / MINUTE_MS)}m, ` +
            `installs ${Math.round(workOf(g.items, g.cap, false) / MINUTE_MS)}m): ` +
            `${clock(run.start)}-${clock(run.end)}${run.cut ? ' cut' : ''}, window ends ${clock(w)}`,
        );
        t = run.end;
      }
    }
    from = bound;
  }
}

if (detail) {
  const [shapeName, seed] = detail.split(':');
  const entry = SHAPES.find(([name]) => name.startsWith(shapeName));
  if (entry)
    printDetail(
      entry[0],
      syntheticFleet(20_000, entry[1], Number(seed)),
      policySchema.parse({ disruptionBudget: '20%', ...entry[2] }),
    );
} else {
  console.log(
    `forecast/bound and machine by machine/bound (${longestFirst ? 'longest first' : 'fleet order'}), 20,000 machines, seeds ${SEEDS.join(', ')}`,
  );
  for (const [name, shape, input] of SHAPES) {
    const policy = policySchema.parse({ disruptionBudget: '20%', ...input });
    const rows = unitOrder ? [false, true] : [false];
    for (const ordered of rows) {
      const cells = SEEDS.map((seed) => {
        const r = ratios(syntheticFleet(20_000, shape, seed), policy, ordered);
        return r ? `${r.forecast.toFixed(3)}/${r.rolling.toFixed(3)}` : 'rejected';
      });
      const label = ordered ? `  window-aware order (${unitOrder})` : name;
      console.log(`${label.padEnd(36)} ${cells.map((c) => c.padStart(12)).join(' ')}`);
    }
  }
}
