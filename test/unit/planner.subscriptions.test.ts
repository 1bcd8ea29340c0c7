import type { Fleet, Machine } from '../../domain/fleet';
import { policySchema } from '../../domain/policy';
import { planRollout } from '../../domain/planner';
import { subscriptionGroups } from '../../domain/planner/subscriptions';
import { machine } from '../support/machines';

/** Standalone machines are batched so that not all of one subscription's machines update at once. */

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe('subscriptionGroups', () => {
  test.each([
    [
      'more than one batch: ceil(k / batches) each',
      [A, A, A, B, B, B],
      3,
      { groups: [0, 0, 0, 1, 1, 1], caps: [2, 2] },
    ],
    [
      'machines without a subscription are not limited',
      [A, undefined, A, undefined],
      2,
      { groups: [0, -1, 0, -1], caps: [1] },
    ],
    ['a subscription of one machine', [A, B, B, B], 2, { groups: [0, 1, 1, 1], caps: [1, 2] }],
    ['one batch holds them all: nothing to spread', [A, A, A], 3, null],
    ['no subscription at all', [undefined, undefined, undefined], 1, null],
  ])('%s', (_, subscriptions, budget, expected) => {
    expect(subscriptionGroups(subscriptions, budget)).toEqual(expected);
  });

  test('never lets a subscription of two or more machines fit whole in one batch when there are several', () => {
    const failures: string[] = [];
    for (let n = 2; n <= 30; n++)
      for (let budget = 1; budget < n; budget++)
        for (let k = 2; k <= n; k++) {
          const subs = Array.from({ length: n }, (_, i) => (i < k ? A : B));
          const cap = subscriptionGroups(subs, budget)!.caps[0];
          if (cap >= k || cap > budget) failures.push(`n=${n} budget=${budget} k=${k}: cap ${cap}`);
        }
    expect(failures).toEqual([]);
  });
});

describe('planRollout spreads a subscription over the standalone batches', () => {
  const fleetOf = (machines: Machine[]): Fleet => ({
    machines,
    regionPairs: {},
    maintenanceConfigurations: {},
  });
  const stepsOf = (fleet: Fleet, disruptionBudget: number) => {
    const result = planRollout(fleet, policySchema.parse({ disruptionBudget }));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.value.regions[0].steps.map((s) => [s.label, s.machines]);
  };
  const six = (subscription?: (i: number) => string) =>
    fleetOf(
      Array.from({ length: 6 }, (_, i) =>
        machine(`vm-${i}`, 'eastus', subscription ? { subscription: subscription(i) } : {}),
      ),
    );

  test('two subscriptions of three machines, three at a time: neither goes whole', () => {
    expect(
      stepsOf(
        six((i) => (i < 3 ? A : B)),
        3,
      ),
    ).toEqual([
      ['standalone batch 1/2', ['vm-0', 'vm-1', 'vm-3']],
      ['standalone batch 2/2', ['vm-2', 'vm-4', 'vm-5']],
    ]);
    // Without subscriptions the same fleet patches all of the first three at once.
    expect(stepsOf(six(), 3)[0]).toEqual(['standalone batch 1/2', ['vm-0', 'vm-1', 'vm-2']]);
  });

  test('one subscription: spread evenly, no more batches than the budget needs', () => {
    expect(
      stepsOf(
        six(() => A),
        4,
      ),
    ).toEqual([
      ['standalone batch 1/2', ['vm-0', 'vm-1', 'vm-2']],
      ['standalone batch 2/2', ['vm-3', 'vm-4', 'vm-5']],
    ]);
  });

  test('one batch holds the region: the rule has nothing to spread', () => {
    expect(
      stepsOf(
        six(() => A),
        6,
      ),
    ).toEqual([['standalone', ['vm-0', 'vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5']]]);
  });

  test('zones and availability sets keep their own rules: only standalone machines are spread', () => {
    const fleet = fleetOf([
      ...Array.from({ length: 4 }, (_, i) => machine(`z-${i}`, 'eastus', { zone: '1', subscription: A })),
    ]);
    expect(stepsOf(fleet, 4)).toEqual([['zone 1', ['z-0', 'z-1', 'z-2', 'z-3']]]);
  });
});
