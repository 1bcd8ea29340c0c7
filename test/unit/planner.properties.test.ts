import fc from 'fast-check';
import type { CountOrPercent } from '../../domain/budget';
import type { Fleet, Machine } from '../../domain/fleet';
import type { ExclusionReason, Plan } from '../../domain/plan';
import { type Policy, policySchema } from '../../domain/policy';
import { RegionConflicts } from '../../domain/regions';
import { MAX_REGION_ATTEMPTS, planRollout } from '../../domain/planner';
import { machine, regionAtOnce } from '../support/machines';
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

function policyFor(disruptionBudget: number): Policy {
  return policySchema.parse({ disruptionBudget });
}

/** Asserts every rule of docs/planner.md on a successful plan. */
function verify(fleet: Fleet, policy: Policy, plan: Plan): void {
  const byName = new Map(fleet.machines.map((m) => [m.name, m]));
  const fleetIndex = new Map(fleet.machines.map((m, i) => [m.name, i]));
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
  // Explicit phases keep the operator's indexes, even when a phase is left empty; default ones are never empty.
  if (policy.phases) expect(plan.phases).toHaveLength(policy.phases.length);
  plan.phases.forEach((phase, p) => {
    expect(phase.index).toBe(p);
    if (!policy.phases) expect(phase.regions.length).toBeGreaterThan(0);
    if (phase.regions.length === 0) expect(phase.estimateMinutes).toBe(0);
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
    // Lanes run side by side: steps are listed lane by lane, lanes numbered from 0 without gaps; the
    // zonal machines share one lane (one zone at a time), so do the standalone machines (their budget)
    // and each set's machines (one update domain at a time).
    const lanes = region.steps.map((s) => s.lane);
    expect(lanes).toEqual([...lanes].sort((a, b) => a - b));
    expect(new Set(lanes).size).toBe(lanes.length ? lanes[lanes.length - 1] + 1 : 0);
    const laneOf = new Map(region.steps.flatMap((s) => s.machines.map((n) => [n, s.lane] as const)));
    const lanesOf = (ms: Machine[]) => new Set(ms.map((m) => laneOf.get(m.name)));
    expect(lanesOf(here.filter((m) => m.zone !== undefined)).size).toBeLessThanOrEqual(1);
    expect(
      lanesOf(here.filter((m) => m.zone === undefined && m.availabilitySet === undefined)).size,
    ).toBeLessThanOrEqual(1);
    for (const set of setSizes.keys())
      expect(lanesOf(here.filter((m) => m.zone === undefined && m.availabilitySet === set)).size).toBe(1);
    for (const step of region.steps) {
      const ms = step.machines.map((name) => byName.get(name)!);
      expect(ms.length).toBeGreaterThan(0);
      expect(step.estimateMinutes).toBe(Math.max(...ms.map(minutesOf)));
      // Machines in fleet order.
      const order = ms.map((m) => fleetIndex.get(m.name)!);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      // A step may mix kinds, each within its own rules.
      const zonal = ms.filter((m) => m.zone !== undefined);
      const inSets = ms.filter((m) => m.zone === undefined && m.availabilitySet !== undefined);
      const alone = ms.filter((m) => m.zone === undefined && m.availabilitySet === undefined);
      // Its kind is that of its first part: zonal, then availability-set, then standalone machines.
      expect(step.kind).toBe(zonal.length ? 'zone' : inSets.length ? 'availabilitySet' : 'standalone');
      // At most one zone, within that zone's budget.
      expect(new Set(zonal.map((m) => m.zone)).size).toBeLessThanOrEqual(1);
      expect(step.zone).toBe(zonal[0]?.zone);
      if (zonal.length)
        expect(zonal.length).toBeLessThanOrEqual(
          budgetOf(policy.disruptionBudget, zoneSizes.get(step.zone!)!),
        );
      // Per set: one update domain, at most 20% of the set (one machine below 10 or without a domain).
      const perSet = new Map<string, Machine[]>();
      for (const m of inSets) {
        if (m.updateDomain !== undefined) expect(m.updateDomain).toBe(step.updateDomain);
        perSet.set(m.availabilitySet!, [...(perSet.get(m.availabilitySet!) ?? []), m]);
      }
      if (!inSets.some((m) => m.updateDomain !== undefined)) expect(step.updateDomain).toBeUndefined();
      for (const [set, members] of perSet) {
        expect(new Set(members.map((m) => m.updateDomain)).size).toBe(1);
        if (members[0].updateDomain === undefined) expect(members.length).toBe(1);
        const size = setSizes.get(set)!;
        expect(members.length).toBeLessThanOrEqual(size < 10 ? 1 : Math.floor(size * 0.2));
      }
      // Standalone machines within the region's standalone budget.
      expect(alone.length).toBeLessThanOrEqual(budgetOf(policy.disruptionBudget, standalone));
      // The label names every part.
      if (zonal.length) expect(step.label).toContain(`zone ${step.zone}`);
      if (inSets.length) expect(step.label).toMatch(/update domain|no update domain/);
      if (alone.length) expect(step.label).toContain('standalone');
    }
    // Standalone machines: when they need more than one batch, no step holds all of one
    // subscription's (of two or more).
    if (standalone > budgetOf(policy.disruptionBudget, standalone)) {
      const bySubscription = countBy(
        here.filter((m) => m.zone === undefined && m.availabilitySet === undefined && m.subscription),
        (m) => m.subscription!,
      );
      for (const [subscription, k] of bySubscription)
        if (k >= 2)
          for (const step of region.steps)
            expect(
              step.machines.filter((n) => {
                const m = byName.get(n)!;
                return (
                  m.zone === undefined && m.availabilitySet === undefined && m.subscription === subscription
                );
              }).length,
            ).toBeLessThan(k);
    }
    // One zone at a time, fewest machines first (ties by zone id).
    const zoneRuns = region.steps.filter((s) => s.zone !== undefined).map((s) => s.zone!);
    const zoneOrder = zoneRuns.filter((z, i) => i === 0 || zoneRuns[i - 1] !== z);
    expect(new Set(zoneOrder).size).toBe(zoneOrder.length);
    expect(zoneOrder).toEqual(
      [...zoneSizes.keys()].sort((a, b) => zoneSizes.get(a)! - zoneSizes.get(b)! || (a < b ? -1 : 1)),
    );
    // One update domain at a time: a set never returns to an update domain it has left, and goes
    // through its domains in ascending order, the machines without one last.
    const setRuns = new Map<string, (number | undefined)[]>();
    for (const step of region.steps)
      for (const name of step.machines) {
        const m = byName.get(name)!;
        if (m.zone !== undefined || m.availabilitySet === undefined) continue;
        const runs = setRuns.get(m.availabilitySet) ?? [];
        if (runs.length === 0 || runs[runs.length - 1] !== m.updateDomain) runs.push(m.updateDomain);
        setRuns.set(m.availabilitySet, runs);
      }
    for (const runs of setRuns.values()) {
      expect(new Set(runs).size).toBe(runs.length);
      const ranked = runs.map((ud) => ud ?? Infinity);
      expect(ranked).toEqual([...ranked].sort((a, b) => a - b));
    }
    // The sets of a lane move through update domains together: a lane's domains never go down.
    for (const lane of new Set(lanes)) {
      const domains = region.steps
        .filter((s) => s.lane === lane && s.updateDomain !== undefined)
        .map((s) => s.updateDomain!);
      expect(domains).toEqual([...domains].sort((a, b) => a - b));
    }
  }

  // Service capacity: per step, and summed over the concurrent lanes of a region and the concurrent
  // regions of a phase (a lane's steps run one after another: its peak is its largest step).
  const capacity = policy.serviceCapacity;
  if (capacity) {
    const totals = countBy(
      eligible.filter((m) => m.tags[capacity.tag] !== undefined),
      (m) => m.tags[capacity.tag],
    );
    plan.phases.forEach((phase) => {
      const peakSum = new Map<string, number>();
      for (const regionName of phase.regions) {
        const peaks = new Map<number, Map<string, number>>();
        for (const step of plan.regions.find((r) => r.region === regionName)!.steps) {
          const inStep = countBy(
            step.machines.map((n) => byName.get(n)!).filter((m) => m.tags[capacity.tag] !== undefined),
            (m) => m.tags[capacity.tag],
          );
          const peak = peaks.get(step.lane) ?? new Map<string, number>();
          peaks.set(step.lane, peak);
          for (const [s, k] of inStep) {
            expect(k).toBeLessThanOrEqual(maxDownOf(capacity.minAvailable, totals.get(s)!));
            peak.set(s, Math.max(peak.get(s) ?? 0, k));
          }
        }
        for (const peak of peaks.values())
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
    // A region lasts as long as its longest lane, a lane as long as its steps.
    for (const r of regions) {
      const laneMinutes = new Map<number, number>();
      for (const s of r.steps) laneMinutes.set(s.lane, (laneMinutes.get(s.lane) ?? 0) + s.estimateMinutes);
      expect(r.estimateMinutes).toBeCloseTo(Math.max(...laneMinutes.values()), 9);
    }
    if (regions.length === 0) continue;
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

  it('follows explicit phases of one region each, keeping their indexes, excluding the regions they leave out', () => {
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
          order.map((r) => (withEligible.has(r) ? [r] : [])),
        );
        verify(fleet, policy, result.value);
      }),
      RUNS,
    );
  });

  it('never bounds above the best schedule of a chain: at most `budget` of a zone down at once', () => {
    // Runs of which at most c overlap fit on c lanes, so the best schedule is the best split of the
    // durations over c lanes: brute force over every split of up to 7 machines.
    const caseArb = fc.record({
      durations: fc.array(
        fc.oneof(
          fc.integer({ min: 1, max: 12 }).map((k) => k * 5),
          fc.constantFrom(2.5, 7.25, 10.001, 13),
        ),
        { minLength: 1, maxLength: 7 },
      ),
      budget: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(caseArb, ({ durations, budget }) => {
        const fleet: Fleet = {
          machines: durations.map((installMinutes, i) => ({
            name: `vm-${i}`,
            region: 'eastus',
            zone: '1',
            os: 'Linux',
            patchMode: 'AutomaticByPlatform',
            timeZone: 'UTC',
            driver: 'simulated',
            tags: {},
            durations: { installMinutes, rebootMinutes: 0 },
          })),
          regionPairs: {},
          maintenanceConfigurations: {},
        };
        const result = planRollout(fleet, policyFor(budget));
        if (!result.ok) throw new Error('rejected');
        let best = Infinity;
        const lanes = new Array<number>(budget).fill(0);
        const place = (i: number): void => {
          if (i === durations.length) {
            best = Math.min(best, Math.max(...lanes));
            return;
          }
          for (let l = 0; l < budget; l++) {
            lanes[l] += durations[i];
            place(i + 1);
            lanes[l] -= durations[i];
          }
        };
        place(0);
        expect(result.value.lowerBoundMinutes).toBeLessThanOrEqual(best + 1e-9);
        expect(result.value.estimateMinutes + 1e-9).toBeGreaterThanOrEqual(best);
      }),
      RUNS,
    );
  });

  it('keeps every rule in regions whose lanes would run more than MAX_REGION_ATTEMPTS at once', () => {
    // Too large for the arbitraries: a zone, 13 sets of 200 and standalone machines under 100% (1,520
    // at once in 15 lanes), with and without a service in every lane. Without, narrower zone and
    // standalone batches give every set a lane of its own (set-lanes.ts): those batches are checked too.
    const crowded = [
      ...Array.from({ length: 500 }, (_, i) => machine(`z${i}`, 'eastus', { zone: '1' })),
      ...Array.from({ length: 13 * 200 }, (_, i) =>
        machine(`a${i}`, 'eastus', {
          availabilitySet: `set-${i % 13}`,
          updateDomain: Math.floor(i / 13) % 5,
        }),
      ),
      ...Array.from({ length: 500 }, (_, i) => machine(`n${i}`, 'eastus')),
    ];
    const tagged = crowded.map((m, i) => ({ ...m, tags: { [SERVICE_TAG]: `svc-${i % 7}` } }));
    const cases: Array<[Machine[], Record<string, unknown>]> = [
      [crowded, { disruptionBudget: '100%' }],
      [tagged, { disruptionBudget: '100%', serviceCapacity: { tag: SERVICE_TAG, minAvailable: '75%' } }],
    ];
    for (const [machines, input] of cases) {
      const fleet: Fleet = { machines, regionPairs: {}, maintenanceConfigurations: {} };
      const policy = policySchema.parse(input);
      const result = planRollout(fleet, policy);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      verify(fleet, policy, result.value);
      for (const region of result.value.regions) {
        const { lanes, machines: atOnce } = regionAtOnce(region);
        expect(atOnce).toBeLessThanOrEqual(MAX_REGION_ATTEMPTS);
        expect(lanes).toBeGreaterThan(1);
        if (machines === crowded) expect(lanes).toBe(15);
      }
    }
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
