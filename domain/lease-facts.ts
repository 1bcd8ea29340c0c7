import type { Fleet, Machine } from './fleet';
import type { LeaseFacts } from './lease-book';
import type { Policy } from './policy';
import { serviceAllowance } from './planner/capacity';
import { RegionConflicts } from './regions';

export type { LeaseFacts };

/**
 * The guard's facts of every machine of the fleet (keyed by machine name: docs/fleet-guard.md). Sets
 * and services count the machines `counted` says join (a rollout: those its plan does not exclude), as
 * the planner and the availability check count them.
 */
export function leaseFactsOf(
  fleet: Fleet,
  policy: Pick<Policy, 'serviceCapacity'>,
  counted: (m: Machine) => boolean,
): Map<string, LeaseFacts> {
  const list = leaseFactsByIndex(fleet, policy, counted);
  return new Map(fleet.machines.map((m, i) => [m.name, list[i]]));
}

/** The same facts, per machine of the fleet in fleet order. */
export function leaseFactsByIndex(
  fleet: Fleet,
  policy: Pick<Policy, 'serviceCapacity'>,
  counted: (m: Machine, i: number) => boolean,
): LeaseFacts[] {
  const conflicts = new RegionConflicts(fleet.regionPairs);
  const sets = new Map<string, number>();
  const services = new Map<string, number>();
  const capacity = policy.serviceCapacity;
  const serviceOf = (m: Machine) =>
    capacity && Object.hasOwn(m.tags, capacity.tag) ? m.tags[capacity.tag] : undefined;
  const setOf = (m: Machine) => `${m.region}/${m.availabilitySet}`;
  fleet.machines.forEach((m, i) => {
    if (!counted(m, i)) return;
    if (m.availabilitySet !== undefined) sets.set(setOf(m), (sets.get(setOf(m)) ?? 0) + 1);
    const s = serviceOf(m);
    if (s !== undefined) services.set(s, (services.get(s) ?? 0) + 1);
  });
  const facts: LeaseFacts[] = [];
  // A region's pairs once, shared by its machines' facts (they are only read).
  const pairsOf = new Map<string, string[]>();
  for (const m of fleet.machines) {
    let pairs = pairsOf.get(m.region);
    if (!pairs) pairsOf.set(m.region, (pairs = [...conflicts.neighbours(m.region)].sort()));
    const f: LeaseFacts = { pairs };
    if (m.availabilitySet !== undefined) f.setSize = Math.max(1, sets.get(setOf(m)) ?? 0);
    const s = serviceOf(m);
    if (s !== undefined && capacity) {
      f.service = s;
      f.serviceAllowance = serviceAllowance(capacity.minAvailable, Math.max(1, services.get(s) ?? 0));
    }
    facts.push(f);
  }
  return facts;
}
