import { installInput } from '../../client/commands/install';
import { leaseProblems } from '../../domain/lease-book';
import { leaseRequestOf } from '../../domain/lease-request';
import type { MachineSpec } from '../../domain/machine-spec';
import type { RolloutInput } from '../../domain/rollout-spec';
import { fleetOf, policyOf, rolloutInputOf } from '../support/rollouts';

const doc = {
  machines: [
    ...[1, 2, 3, 4].map((i) => ({
      name: `db-${i}`,
      region: 'eastus',
      os: 'Linux',
      patchMode: i === 4 ? 'Manual' : 'AutomaticByPlatform',
      availabilitySet: 'db',
      updateDomain: i % 2,
      tags: { service: 'db' },
    })),
    { name: 'web-1', region: 'westus', os: 'Linux', patchMode: 'AutomaticByPlatform' },
  ],
};
const policy = { windows: 'always', serviceCapacity: { tag: 'service', minAvailable: 1 } };

const specs = (input: RolloutInput): MachineSpec[] =>
  input.regions.flatMap((r) => r.slices.flatMap((s) => ('inline' in s ? s.inline.machines : [])));

test("a rollout's machine specs carry the guard's facts: geo-pairs, set size and service allowance", () => {
  const input = rolloutInputOf({ rolloutId: 'r', fleet: doc, policy, now: new Date('2026-11-12T00:00:00Z') });
  const byName = new Map(specs(input).map((m) => [m.name, m]));
  // db-4 is Manual: the rollout leaves it out, and counts the set and the service without it.
  expect(byName.get('db-1')!.lease).toEqual({
    pairs: ['westus', 'westus3'],
    setSize: 3,
    service: 'db',
    serviceAllowance: 2,
  });
  expect(byName.get('web-1')!.lease).toEqual({ pairs: ['eastus'] });
  expect(input.settings.unsafe).toBeUndefined();
});

test('an unsafe install is recorded as unsafe and still carries every fact, service capacity included', () => {
  const input = installInput(
    fleetOf(doc),
    policyOf(policy),
    { rolloutId: 'i', by: 'carol', machines: ['db-1', 'db-2'], unsafe: true },
    new Date('2026-11-12T00:00:00Z'),
  );
  expect(input.settings.unsafe).toBe(true);
  const machines = specs(input).sort((a, b) => a.name.localeCompare(b.name));
  // An install counts the whole fleet file: the Manual db-4 too.
  expect(machines.map((m) => [m.name, m.lease])).toEqual([
    ['db-1', { pairs: ['westus', 'westus3'], setSize: 4, service: 'db', serviceAllowance: 3 }],
    ['db-2', { pairs: ['westus', 'westus3'], setSize: 4, service: 'db', serviceAllowance: 3 }],
  ]);
  // Both in one step (two update domains at once): allowed only because the request is unsafe.
  const holder = { workflowId: 'w', rolloutId: 'i', region: 'eastus', step: 'UNSAFE' };
  expect(leaseProblems(leaseRequestOf('l', holder, true, machines))).toEqual([]);
  expect(leaseProblems(leaseRequestOf('l', holder, false, machines)).map((p) => p.message)).toEqual([
    'set eastus/db: update domains 1, 0 in one lease',
    'set eastus/db: 2 machines, at most 1 at once',
  ]);
});
