/**
 * What a machine-by-machine schedule would reach against the window-aware bound (a prototype, not what
 * the workflows run): `node dist/scripts/bench-rolling.js` (after `npm run build`). For each bench shape
 * and seed it prints the forecast's duration over the bound's (the steps the workflows run) beside a
 * schedule in which each zone, update domain and standalone group keeps `cap` slots and a slot takes the
 * group's next machine as soon as it frees (longest first, or in fleet order with `ROLLING_ORDER=fleet`),
 * attempts as the workflows run them (docs/planner.md, section 6). Zones one after another (fewest
 * machines first), update domains in order; each set on its own (no lanes shared); service capacity
 * ignored. Phases one after another, each from the end of the one before. docs/planner.md, section 7.
 */
import { forecastRollout, planRollout, availabilitySetCap } from '../domain/planner';
import { resolveBudget } from '../domain/budget';
import type { Fleet, Machine } from '../domain/fleet';
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

interface Item {
  installMs: number;
  rebootMs: number;
  reserveMs: number;
  windows: readonly TimeWindow[];
}

/** One attempt: from `ready`, in the first window with the start reserve left; what is left waits. */
function attempt(
  ready: number,
  leftMs: number,
  m: Item,
): { finish: number; leftMs: number; windowEnd: number } {
  for (const w of m.windows) {
    const start = Math.max(ready, w.start);
    if (start > w.end - INSTALL_MIN_REMAINING_MS) continue;
    const done = Math.max(0, Math.min(start + leftMs, w.end - m.reserveMs) - start);
    return { finish: start + done + m.rebootMs, leftMs: leftMs - done, windowEnd: w.end };
  }
  return { finish: Infinity, leftMs: 0, windowEnd: Infinity };
}

/** Groups one after another, each machine by machine on `cap` slots; when the last is up again. */
function runChain(groups: ReadonlyArray<{ cap: number; items: Item[] }>, from: number): number {
  let t = from;
  for (const g of groups) {
    const items = longestFirst
      ? [...g.items].sort((a, b) => b.installMs + b.rebootMs - (a.installMs + a.rebootMs))
      : g.items;
    const slots = new Array<number>(Math.min(g.cap, items.length)).fill(t);
    const queue = items.map((m) => ({ m, leftMs: m.installMs, notBefore: t }));
    let end = t;
    for (let next = queue.shift(); next; next = queue.shift()) {
      const k = slots.indexOf(Math.min(...slots));
      const a = attempt(Math.max(slots[k], next.notBefore), next.leftMs, next.m);
      slots[k] = a.finish;
      end = Math.max(end, a.finish);
      if (a.leftMs > 0) queue.push({ m: next.m, leftMs: a.leftMs, notBefore: a.windowEnd });
    }
    t = end;
  }
  return t;
}

function rollingFinish(fleet: Fleet, policy: Policy): { forecast: number; rolling: number } | undefined {
  const planned = planRollout(fleet, policy);
  if (!planned.ok) return undefined;
  const plan = planned.value;
  const f = forecastRollout(fleet, policy, plan, {
    startAt: START,
    deadline: DEADLINE,
    approvalMinutes: 0,
  }).forecast;
  const windows = new Map<string, TimeWindow[]>();
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
  const byKey = <K>(indices: number[], key: (i: number) => K) => {
    const groups = new Map<K, number[]>();
    for (const i of indices) {
      const list = groups.get(key(i));
      if (list) list.push(i);
      else groups.set(key(i), [i]);
    }
    return groups;
  };
  let t = START;
  for (const phase of plan.phases) {
    let finish = t;
    for (const region of plan.regions) {
      if (region.phase !== phase.index) continue;
      const here: number[] = [];
      plan.machines.forEach((pm, i) => pm.phase !== undefined && pm.region === region.region && here.push(i));
      const ms = fleet.machines;
      const zonal = here.filter((i) => ms[i].zone !== undefined);
      const alone = here.filter((i) => ms[i].zone === undefined && ms[i].availabilitySet === undefined);
      const zones = [...byKey(zonal, (i) => ms[i].zone!).values()].sort((a, b) => a.length - b.length);
      const budget = (list: number[]) => resolveBudget(policy.disruptionBudget, list.length, true);
      const chains = [
        zones.map((list) => ({ cap: budget(list), items: list.map((i) => item(ms[i])) })),
        [{ cap: budget(alone), items: alone.map((i) => item(ms[i])) }],
      ];
      const sets = byKey(
        here.filter((i) => ms[i].availabilitySet !== undefined),
        (i) => ms[i].availabilitySet!,
      );
      for (const list of sets.values()) {
        const domains = [...byKey(list, (i) => ms[i].updateDomain ?? Infinity)].sort((a, b) => a[0] - b[0]);
        chains.push(
          domains.map(([ud, members]) => ({
            cap: ud === Infinity ? 1 : availabilitySetCap(list.length),
            items: members.map((i) => item(ms[i])),
          })),
        );
      }
      for (const chain of chains) finish = Math.max(finish, runChain(chain, t));
    }
    t = finish;
  }
  const bound = Date.parse(f.lowerBoundFinishAt) - START;
  return { forecast: (Date.parse(f.finishAt) - START) / bound, rolling: (t - START) / bound };
}

console.log(
  `forecast/bound and machine by machine/bound (${longestFirst ? 'longest first' : 'fleet order'}), 20,000 machines, seeds ${SEEDS.join(', ')}`,
);
for (const [name, shape, input] of SHAPES) {
  const policy = policySchema.parse({ disruptionBudget: '20%', ...input });
  const cells = SEEDS.map((seed) => {
    const r = rollingFinish(syntheticFleet(20_000, shape, seed), policy);
    return r ? `${r.forecast.toFixed(3)}/${r.rolling.toFixed(3)}` : 'rejected';
  });
  console.log(`${name.padEnd(36)} ${cells.map((c) => c.padStart(12)).join(' ')}`);
}
