import type { LeaseHolder, LeaseMachine, LeaseRequest } from './lease-book';
import type { MachineSpec } from './machine-spec';

/** A step's lease request, from its machines' specs (pure: the region workflow calls it). */
export function leaseRequestOf(
  leaseId: string,
  holder: LeaseHolder,
  unsafe: boolean,
  machines: readonly MachineSpec[],
): LeaseRequest {
  const pairs: Record<string, string[]> = {};
  const leased = machines.map((m): LeaseMachine => {
    if (m.lease) pairs[m.region] = m.lease.pairs;
    return {
      name: m.name,
      region: m.region,
      ...(m.zone !== undefined ? { zone: m.zone } : {}),
      ...(m.availabilitySet !== undefined
        ? { availabilitySet: m.availabilitySet, updateDomain: m.updateDomain, setSize: m.lease?.setSize }
        : {}),
      ...(m.lease?.service !== undefined
        ? { service: m.lease.service, serviceAllowance: m.lease.serviceAllowance }
        : {}),
    };
  });
  return { leaseId, holder, unsafe, pairs, machines: leased };
}
