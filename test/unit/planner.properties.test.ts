import fc from 'fast-check';
import type { CountOrPercent } from '../../domain/budget';
import type { Fleet, Machine } from '../../domain/fleet';
import type { ExclusionReason, Plan } from '../../domain/plan';
import type { Policy } from '../../domain/policy';
import { RegionConflicts } from '../../domain/regions';
import { planRollout } from '../../domain/planner';
import { fleetArb, policyArb, REGIONS, SERVICE_TAG } from '../support/fleet-arbitraries';

/*
 * Every check here is computed from the fleet, the policy and the plan alone, with its own arithmetic:
 * nothing from the planner's modules except planRollout itself.
 */

const RUNS = { numRuns: 100 };

/** ceil(p% of n) for the percentages the arbitraries produce (multiples of 5), in integers. */
function percentOf(value: `${number}%`, n: number): number {
  const p = Number(value.slice(0, -1));
  return Math.floor((p * n + 99) / 100);
}

function budgetOf(budget: CountOrPercent, n: number): number {
  const raw = typeof budget === 'number' ? Math.min(budget, n) : percentOf(budget, n);
  return Math.max(1, raw);
}

function maxDownOf(minAvailable: CountOrPercent, n: number): number {
  const keep = typeof minAvailable === 'number' ? Math.min(minAvailable, n) : percentOf(minAvailable, n);
  return n - keep;
}

function expectedReason(m: Machine, policy: Policy): ExclusionReason | undefined {
  if (m.patchMode === 'Manual') return 'ManualPatchMode';
  if (m.patchMode !== 'AutomaticByPlatform') return 'LeftToOS';
  if (policy.phases && !policy.phases.some((phase) => phase.includes(m.region))) return 'RegionNotInPhases';
  return undefined;
}

function minutesOf(m: Machine): number {
  if (m.durations) return m.durations.installMinutes + m.durations.rebootMinutes;
  return m.os === 'Windows' ? 40 : 20;
}

function eligibleOf(fleet: Fleet, policy: Policy): Machine[] {
  return fleet.machines.filter((m) => expectedReason(m, policy) === undefined);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

/** Services whose minAvailable leaves nothing to patch. */
function blockedServices(fleet: Fleet, policy: Policy): string[] {
  const capacity = policy.serviceCapacity;
  if (!capacity) return [];
  const counts = countBy(
    eligibleOf(fleet, policy).filter((m) => m.tags[capacity.tag] !== undefined),
    (m) => m.tags[capacity.tag],
  );
  return [...counts].filter(([, n]) => maxDownOf(capacity.minAvailable, n) === 0).map(([s]) => s);
}

/** Asserts every rule of docs/planner.md on a successful plan. */
function verify(fleet: Fleet, policy: Policy, plan: Plan): void {
  const byName = new Map(fleet.machines.map((m) => [m.name, m]));
  const eligible = eligibleOf(fleet, policy);
  const conflicts = new RegionConflicts(fleet.regionPairs);

  // Every machine exactly once, in fleet order, with the right exclusion.
  expect(plan.machines.map((m) => m.name)).toEqual(fleet.machines.map((m) => m.name));
  plan.machines.forEach((pm, i) => {
    const m = fleet.machines[i];
    expect(pm.region).toBe(m.region);
    expect(pm.excluded?.reason).toBe(expectedReason(m, policy));
  });

  // Steps: each eligible machine in exactly one step, matching its PlannedMachine.
  const seen = new Map<string, { region: string; phase: number; step: number; label: string }>();
  for (const region of plan.regions)
    region.steps.forEach((step, index) => {
      expect(step.index).toBe(index);
      for (const name of step.machines) {
        expect(seen.has(name)).toBe(false);
        seen.set(name, { region: region.region, phase: region.phase, step: index, label: step.label });
        expect(byName.get(name)!.region).toBe(region.region);
      }
    });
  expect(seen.size).toBe(eligible.length);
  plan.machines.forEach((pm) => {
    const where = seen.get(pm.name);
    if (pm.excluded) expect(where).toBeUndefined();
    else
      expect({ phase: pm.phase, step: pm.step, label: pm.stepLabel }).toEqual({
        phase: where!.phase,
        step: where!.step,
        label: where!.label,
      });
  });

  // Phases: every region with eligible machines in exactly one phase, no geo-pair inside a phase.
  const eligibleRegions = countBy(eligible, (m) => m.region);
  expect(plan.regions.map((r) => r.region).sort()).toEqual([...eligibleRegions.keys()].sort());
  plan.phases.forEach((phase, p) => {
    expect(phase.index).toBe(p);
    expect(phase.regions.length).toBeGreaterThan(0);
    for (const a of phase.regions) {
      expect(plan.regions.find((r) => r.region === a)!.phase).toBe(p);
      for (const b of phase.regions) if (a !== b) expect(conflicts.conflict(a, b)).toBe(false);
    }
  });
  expect(plan.phases.flatMap((p) => p.regions).sort()).toEqual([...eligibleRegions.keys()].sort());

  // Inside each region: kinds, zones, update domains, the 20% rule, disruption budgets, order.
  for (const region of plan.regions) {
    const here = eligible.filter((m) => m.region === region.region);
    const zoneSizes = countBy(
      here.filter((m) => m.zone !== undefined),
      (m) => m.zone!,
    );
    const setSizes = countBy(
      here.filter((m) => m.zone === undefined && m.availabilitySet),
      (m) => m.availabilitySet!,
    );
    const standalone = here.filter((m) => m.zone === undefined && m.availabilitySet === undefined).length;
    const kindOrder: string[] = [];
    for (const step of region.steps) {
      const ms = step.machines.map((name) => byName.get(name)!);
      expect(ms.length).toBeGreaterThan(0);
      expect(step.estimateMinutes).toBe(Math.max(...ms.map(minutesOf)));
      if (kindOrder[kindOrder.length - 1] !== step.kind) kindOrder.push(step.kind);
      if (step.kind === 'zone') {
        for (const m of ms) expect(m.zone).toBe(step.zone);
        expect(ms.length).toBeLessThanOrEqual(budgetOf(policy.disruptionBudget, zoneSizes.get(step.zone!)!));
      } else if (step.kind === 'availabilitySet') {
        const perSet = new Map<string, Machine[]>();
        for (const m of ms) {
          expect(m.zone).toBeUndefined();
          expect(m.availabilitySet).toBeDefined();
          if (step.updateDomain !== undefined) expect(m.updateDomain).toBe(step.updateDomain);
          perSet.set(m.availabilitySet!, [...(perSet.get(m.availabilitySet!) ?? []), m]);
        }
        for (const [set, members] of perSet) {
          expect(new Set(members.map((m) => m.updateDomain)).size).toBe(1);
          if (members[0].updateDomain === undefined) expect(members.length).toBe(1);
          const size = setSizes.get(set)!;
          expect(members.length).toBeLessThanOrEqual(size < 10 ? 1 : Math.floor(size * 0.2));
        }
      } else {
        for (const m of ms) expect(m.zone ?? m.availabilitySet).toBeUndefined();
        expect(ms.length).toBeLessThanOrEqual(budgetOf(policy.disruptionBudget, standalone));
      }
    }
    // Zones first, then availability sets, then standalone machines; each kind in one run.
    expect(kindOrder).toEqual(['zone', 'availabilitySet', 'standalone'].filter((k) => kindOrder.includes(k)));
    // One zone at a time, fewest machines first (ties by zone id).
    const zoneRuns = region.steps.filter((s) => s.kind === 'zone').map((s) => s.zone!);
    const zoneOrder = zoneRuns.filter((z, i) => i === 0 || zoneRuns[i - 1] !== z);
    expect(new Set(zoneOrder).size).toBe(zoneOrder.length);
    expect(zoneOrder).toEqual(
      [...zoneSizes.keys()].sort((a, b) => zoneSizes.get(a)! - zoneSizes.get(b)! || (a < b ? -1 : 1)),
    );
    // One update domain at a time: a set never returns to an update domain it has left.
    const setRuns = new Map<string, (number | undefined)[]>();
    for (const step of region.steps.filter((s) => s.kind === 'availabilitySet'))
      for (const name of step.machines) {
        const m = byName.get(name)!;
        const runs = setRuns.get(m.availabilitySet!) ?? [];
        if (runs.length === 0 || runs[runs.length - 1] !== m.updateDomain) runs.push(m.updateDomain);
        setRuns.set(m.availabilitySet!, runs);
      }
    for (const runs of setRuns.values()) expect(new Set(runs).size).toBe(runs.length);
  }

  // Service capacity: per step, and summed over the concurrent regions of a phase.
  const capacity = policy.serviceCapacity;
  if (capacity) {
    const totals = countBy(
      eligible.filter((m) => m.tags[capacity.tag] !== undefined),
      (m) => m.tags[capacity.tag],
    );
    plan.phases.forEach((phase) => {
      const peakSum = new Map<string, number>();
      for (const regionName of phase.regions) {
        const peak = new Map<string, number>();
        for (const step of plan.regions.find((r) => r.region === regionName)!.steps) {
          const inStep = countBy(
            step.machines.map((n) => byName.get(n)!).filter((m) => m.tags[capacity.tag] !== undefined),
            (m) => m.tags[capacity.tag],
          );
          for (const [s, k] of inStep) {
            expect(k).toBeLessThanOrEqual(maxDownOf(capacity.minAvailable, totals.get(s)!));
            peak.set(s, Math.max(peak.get(s) ?? 0, k));
          }
        }
        for (const [s, k] of peak) peakSum.set(s, (peakSum.get(s) ?? 0) + k);
      }
      for (const [s, k] of peakSum)
        expect(k).toBeLessThanOrEqual(maxDownOf(capacity.minAvailable, totals.get(s)!));
    });
  }

  // Estimates add up as documented and never beat the lower bound, which is at least the slowest machine per phase.
  let total = 0;
  let slowestPerPhase = 0;
  for (const phase of plan.phases) {
    const regions = plan.regions.filter((r) => r.phase === phase.index);
    for (const r of regions)
      expect(r.estimateMinutes).toBeCloseTo(
        r.steps.reduce((sum, s) => sum + s.estimateMinutes, 0),
        9,
      );
    expect(phase.estimateMinutes).toBe(Math.max(...regions.map((r) => r.estimateMinutes)));
    total += phase.estimateMinutes;
    slowestPerPhase += Math.max(...regions.flatMap((r) => r.steps.map((s) => s.estimateMinutes)));
  }
  expect(plan.estimateMinutes).toBeCloseTo(total, 9);
  expect(plan.estimateMinutes + 1e-6).toBeGreaterThanOrEqual(plan.lowerBoundMinutes);
  expect(plan.lowerBoundMinutes + 0.01).toBeGreaterThanOrEqual(slowestPerPhase);
}

describe('planRollout properties', () => {
  it('plans every fleet within the rules, or rejects exactly the services with nothing to patch', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (fleet, policy) => {
        const result = planRollout(fleet, policy);
        const blocked = blockedServices(fleet, policy);
        if (!result.ok) {
          expect(blocked.length).toBeGreaterThan(0);
          expect(result.problems.map((p) => p.path)).toEqual(blocked.map(() => 'serviceCapacity'));
          for (const s of blocked)
            expect(result.problems.some((p) => p.message.startsWith(`service "${s}" `))).toBe(true);
          return;
        }
        expect(blocked).toEqual([]);
        verify(fleet, policy, result.value);
      }),
      RUNS,
    );
  });

  it('builds default phases canary first: one smallest region, then phases of at most 2, 4, 8 regions', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (fleet, policy) => {
        const result = planRollout(fleet, policy);
        fc.pre(result.ok && result.value.phases.length > 0);
        if (!result.ok) return;
        const counts = countBy(eligibleOf(fleet, policy), (m) => m.region);
        const smallest = [...counts].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0][0];
        expect(result.value.phases[0].regions).toEqual([smallest]);
        result.value.phases.forEach((phase, p) => expect(phase.regions.length).toBeLessThanOrEqual(2 ** p));
      }),
      RUNS,
    );
  });

  it('is deterministic: the same inputs give byte-identical JSON', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (fleet, policy) => {
        const first = JSON.stringify(planRollout(fleet, policy));
        const again = JSON.stringify(planRollout(structuredClone(fleet), structuredClone(policy)));
        expect(again).toBe(first);
      }),
      RUNS,
    );
  });

  it('follows explicit phases of one region each, excluding the regions they leave out', () => {
    const explicitArb = fleetArb.chain((fleet) =>
      fc.tuple(
        fc.constant(fleet),
        fc.shuffledSubarray([...new Set(fleet.machines.map((m) => m.region))], { minLength: 1 }),
        policyArb,
      ),
    );
    fc.assert(
      fc.property(explicitArb, ([fleet, order, base]) => {
        const policy: Policy = { ...base, phases: order.map((r) => [r]) };
        const result = planRollout(fleet, policy);
        fc.pre(result.ok);
        if (!result.ok) return;
        const withEligible = new Set(eligibleOf(fleet, policy).map((m) => m.region));
        expect(result.value.phases.map((p) => p.regions)).toEqual(
          order.filter((r) => withEligible.has(r)).map((r) => [r]),
        );
        verify(fleet, policy, result.value);
      }),
      RUNS,
    );
  });

  it('uses every declared region kind of the arbitraries', () => {
    // Guards the generator itself: the properties above only mean something if fleets span the pool.
    const regions = new Set(fc.sample(fleetArb, 200).flatMap((f) => f.machines.map((m) => m.region)));
    expect([...regions].sort()).toEqual([...REGIONS].sort());
    const tagged = fc
      .sample(fleetArb, 50)
      .some((f) => f.machines.some((m) => m.tags[SERVICE_TAG] !== undefined));
    expect(tagged).toBe(true);
  });
});
