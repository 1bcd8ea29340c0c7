import type { CountOrPercent } from '../../domain/budget';
import type { Fleet, Machine } from '../../domain/fleet';
import type { Plan } from '../../domain/plan';
import { type Policy, policySchema } from '../../domain/policy';
import { formatPlanTable, MAX_BATCH_MACHINES, MAX_REGION_ATTEMPTS, planRollout } from '../../domain/planner';
import { machine, type MachineExtra, regionAtOnce } from '../support/machines';

type Extra = MachineExtra;
const vm = machine;

function fleetOf(machines: Machine[], regionPairs: Fleet['regionPairs'] = {}): Fleet {
  return { machines, regionPairs, maintenanceConfigurations: {} };
}

function policy(input: Record<string, unknown> = {}): Policy {
  return policySchema.parse(input);
}

function plan(fleet: Fleet, p: Policy = policy()): Plan {
  const result = planRollout(fleet, p);
  if (!result.ok) throw new Error(result.problems.map((x) => `${x.path}: ${x.message}`).join('\n'));
  return result.value;
}

function many(
  prefix: string,
  count: number,
  region: string,
  extra: Extra | ((i: number) => Extra) = {},
): Machine[] {
  return Array.from({ length: count }, (_, i) =>
    vm(`${prefix}${i}`, region, typeof extra === 'function' ? extra(i) : extra),
  );
}

function steps(p: Plan, region: string): [string, string[]][] {
  return p.regions.find((r) => r.region === region)!.steps.map((s) => [s.label, s.machines]);
}

describe('eligibility', () => {
  it('patches AutomaticByPlatform only and lists every machine once, in fleet order', () => {
    const p = plan(
      fleetOf([
        vm('os', 'eastus', { patchMode: 'AutomaticByOS', os: 'Windows' }),
        vm('platform', 'eastus'),
        vm('image', 'eastus', { patchMode: 'ImageDefault' }),
        vm('manual', 'eastus', { patchMode: 'Manual' }),
      ]),
    );
    expect(p.machines.map((m) => [m.name, m.excluded?.reason ?? `step ${m.step}`])).toEqual([
      ['os', 'LeftToOS'],
      ['platform', 'step 0'],
      ['image', 'LeftToOS'],
      ['manual', 'ManualPatchMode'],
    ]);
    expect(p.machines[0].excluded!.detail).toBe(
      'patch mode AutomaticByOS: the operating system patches itself',
    );
    expect(p.machines[1]).toEqual({
      name: 'platform',
      region: 'eastus',
      phase: 0,
      step: 0,
      stepLabel: 'standalone',
    });
  });

  it('excludes machines of regions the explicit phases leave out, and drops regions without eligible machines', () => {
    const p = plan(
      fleetOf([vm('a', 'eastus'), vm('b', 'northeurope'), vm('c', 'westeurope', { patchMode: 'Manual' })]),
      policy({ phases: [['westeurope'], ['eastus']] }),
    );
    // westeurope has nothing to patch: its phase stays, empty, so that eastus keeps index 1.
    expect(p.phases).toEqual([
      { index: 0, regions: [], estimateMinutes: 0 },
      { index: 1, regions: ['eastus'], estimateMinutes: 20 },
    ]);
    expect(p.regions.map((r) => [r.region, r.phase])).toEqual([['eastus', 1]]);
    expect(p.machines[0]).toMatchObject({ name: 'a', phase: 1 });
    expect(p.machines.map((m) => m.excluded?.reason)).toEqual([
      undefined,
      'RegionNotInPhases',
      'ManualPatchMode',
    ]);
    expect(p.machines[1].excluded!.detail).toBe('region "northeurope" is in none of the policy\'s phases');
  });

  it('keeps an explicit phase left without machines, so later phases and approval gates keep their index', () => {
    const p = plan(
      fleetOf([
        vm('a', 'eastus'),
        vm('w', 'westeurope', { patchMode: 'Manual' }),
        vm('n', 'northeurope', { os: 'Windows' }),
      ]),
      policy({ phases: [['eastus'], ['westeurope'], ['northeurope']], approvals: { beforePhases: [2] } }),
    );
    expect(p.phases).toEqual([
      { index: 0, regions: ['eastus'], estimateMinutes: 20 },
      { index: 1, regions: [], estimateMinutes: 0 },
      { index: 2, regions: ['northeurope'], estimateMinutes: 40 },
    ]);
    expect(p.regions.map((r) => [r.region, r.phase])).toEqual([
      ['eastus', 0],
      ['northeurope', 2],
    ]);
    expect(p.machines.map((m) => m.phase)).toEqual([0, undefined, 2]);
    expect(p.estimateMinutes).toBe(60);
    expect(p.lowerBoundMinutes).toBe(60);
    expect(formatPlanTable(p)).toContain(
      '\nPhase 1: no machines to patch (estimate 0m)\n\nPhase 2: northeurope',
    );
  });

  it('plans nothing, successfully, when no machine is eligible', () => {
    const p = plan(fleetOf([vm('m', 'eastus', { patchMode: 'Manual' })]));
    expect(p).toMatchObject({ phases: [], regions: [], estimateMinutes: 0, lowerBoundMinutes: 0 });
  });
});

describe('phases', () => {
  it('starts with the smallest region and grows greedily, never pairing geo-pairs', () => {
    const counts: [string, number][] = [
      ['japanwest', 7],
      ['westeurope', 5],
      ['eastus', 2],
      ['centralus', 1],
      ['westus', 3],
      ['japaneast', 6],
      ['northeurope', 4],
    ];
    const p = plan(fleetOf(counts.flatMap(([region, n]) => many(`${region}-`, n, region))));
    expect(p.phases.map((ph) => ph.regions)).toEqual([
      ['centralus'],
      ['eastus', 'northeurope'],
      ['westus', 'westeurope', 'japaneast'],
      ['japanwest'],
    ]);
    expect(p.regions.map((r) => [r.region, r.phase])).toEqual([
      ['centralus', 0],
      ['eastus', 1],
      ['northeurope', 1],
      ['westus', 2],
      ['westeurope', 2],
      ['japaneast', 2],
      ['japanwest', 3],
    ]);
  });

  it('breaks ties of size by region name', () => {
    const p = plan(fleetOf([vm('a', 'westeurope'), vm('b', 'eastus'), vm('c', 'centralus')]));
    expect(p.phases.map((ph) => ph.regions)).toEqual([['centralus'], ['eastus', 'westeurope']]);
  });

  it('keeps a service in no more regions of a phase than its allowance', () => {
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([
        vm('a', 'centralus', db),
        vm('b', 'eastus', db),
        vm('c', 'northeurope', db),
        vm('d', 'swedencentral', db),
      ]),
      policy({ serviceCapacity: { tag: 'service', minAvailable: 2 } }),
    );
    // Allowance 2: phase 1 could hold two regions, and does.
    expect(p.phases.map((ph) => ph.regions)).toEqual([
      ['centralus'],
      ['eastus', 'northeurope'],
      ['swedencentral'],
    ]);
    const strict = plan(
      fleetOf([
        vm('a', 'centralus', db),
        vm('b', 'eastus', db),
        vm('c', 'northeurope', db),
        vm('d', 'swedencentral', db),
      ]),
      policy({ serviceCapacity: { tag: 'service', minAvailable: 3 } }),
    );
    expect(strict.phases.map((ph) => ph.regions)).toEqual([
      ['centralus'],
      ['eastus'],
      ['northeurope'],
      ['swedencentral'],
    ]);
  });

  it('rejects explicit phases with geo-pairs, repeated regions and regions outside the fleet, all at once', () => {
    const fleet = fleetOf(
      [vm('a', 'eastus'), vm('b', 'westus'), vm('c', 'centralus'), vm('d', 'onprem-a'), vm('e', 'onprem-b')],
      {
        'onprem-a': 'onprem-b',
      },
    );
    const result = planRollout(
      fleet,
      policy({
        phases: [['centralus'], ['eastus', 'westus'], ['mars', 'centralus'], ['onprem-b', 'onprem-a']],
      }),
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: 'phases[1]', message: '"eastus" and "westus" are geo-paired and cannot share a phase' },
        { path: 'phases[2][0]', message: 'no machine of the fleet is in region "mars"' },
        { path: 'phases[2][1]', message: '"centralus" is already in phases[0]' },
        { path: 'phases[3]', message: '"onprem-b" and "onprem-a" are geo-paired and cannot share a phase' },
      ],
    });
  });

  it("treats Microsoft's directional pairs as undirected", () => {
    const fleet = fleetOf([vm('a', 'westindia'), vm('b', 'southindia'), vm('c', 'centralindia')]);
    const pairOf = (regions: string[]) => planRollout(fleet, policy({ phases: [regions] })).ok;
    expect(pairOf(['southindia', 'westindia'])).toBe(false);
    expect(pairOf(['centralindia', 'southindia'])).toBe(false);
    expect(pairOf(['westindia', 'centralindia'])).toBe(true);
  });

  it('rejects explicit phases that put a service in more regions than its allowance', () => {
    const db = { tags: { service: 'db' } };
    const result = planRollout(
      fleetOf([vm('a', 'eastus', db), vm('b', 'northeurope', db), vm('c', 'northeurope')]),
      policy({ phases: [['eastus', 'northeurope']], serviceCapacity: { tag: 'service', minAvailable: 1 } }),
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          path: 'phases[0]',
          message:
            'service "db" may have only 1 machine down at once but has machines in 2 regions of this phase ' +
            '("eastus", "northeurope"); put them in different phases',
        },
      ],
    });
  });

  it('reads the service tag as data: a tag named like an Object property is still just a tag', () => {
    const p = plan(
      fleetOf([
        vm('a', 'eastus'),
        vm('b', 'eastus', { tags: { constructor: 'db' } }),
        vm('c', 'eastus', { tags: { constructor: 'db' } }),
      ]),
      policy({ disruptionBudget: '100%', serviceCapacity: { tag: 'constructor', minAvailable: 1 } }),
    );
    expect(steps(p, 'eastus')).toEqual([
      ['standalone batch 1/2', ['a', 'b']],
      ['standalone batch 2/2', ['c']],
    ]);
  });

  it('names every service with nothing to patch', () => {
    const result = planRollout(
      fleetOf([
        vm('a', 'eastus', { tags: { service: 'db' } }),
        vm('b', 'eastus', { tags: { service: 'db' } }),
        vm('c', 'eastus', { tags: { service: 'web' } }),
        vm('d', 'eastus', { tags: { service: 'web' } }),
        vm('e', 'eastus', { tags: { service: 'web' } }),
      ]),
      policy({ serviceCapacity: { tag: 'service', minAvailable: 2 } }),
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          path: 'serviceCapacity',
          message: 'service "db" has 2 machines and minAvailable 2 leaves none to patch',
        },
      ],
    });
  });
});

describe('steps inside a region', () => {
  it('runs zones fewest machines first, in budget batches, in a lane beside the standalone lane', () => {
    const p = plan(
      fleetOf([
        ...many('z1-', 3, 'eastus', { zone: '1' }),
        ...many('z3-', 3, 'eastus', { zone: '3' }),
        ...many('s-', 3, 'eastus'),
        vm('z2-0', 'eastus', { zone: '2' }),
      ]),
      policy({ disruptionBudget: 2 }),
    );
    expect(steps(p, 'eastus')).toEqual([
      ['zone 2', ['z2-0']],
      ['zone 1 batch 1/2', ['z1-0', 'z1-1']],
      ['zone 1 batch 2/2', ['z1-2']],
      ['zone 3 batch 1/2', ['z3-0', 'z3-1']],
      ['zone 3 batch 2/2', ['z3-2']],
      ['standalone batch 1/2', ['s-0', 's-1']],
      ['standalone batch 2/2', ['s-2']],
    ]);
    // Steps are listed lane by lane: the zone lane, then the standalone lane.
    expect(p.regions[0].steps.map((s) => [s.index, s.lane, s.kind, s.zone])).toEqual([
      [0, 0, 'zone', '2'],
      [1, 0, 'zone', '1'],
      [2, 0, 'zone', '1'],
      [3, 0, 'zone', '3'],
      [4, 0, 'zone', '3'],
      [5, 1, 'standalone', undefined],
      [6, 1, 'standalone', undefined],
    ]);
    // The region lasts as long as its longest lane: 5 zone steps of 20 minutes.
    expect(p.regions[0].estimateMinutes).toBe(100);
  });

  it('runs each availability set in its own lane, one update domain at a time, 20% of the set at once', () => {
    const p = plan(
      fleetOf([
        ...many('a', 12, 'eastus', (i) => ({ availabilitySet: 'big', updateDomain: i % 2 })),
        ...many('b', 3, 'eastus', (i) => ({ availabilitySet: 'small', updateDomain: i === 2 ? 1 : 0 })),
        vm('c', 'eastus', { availabilitySet: 'small' }),
      ]),
    );
    expect(steps(p, 'eastus')).toEqual([
      ['update domain 0 (set big) batch 1/3', ['a0', 'a2']],
      ['update domain 0 (set big) batch 2/3', ['a4', 'a6']],
      ['update domain 0 (set big) batch 3/3', ['a8', 'a10']],
      ['update domain 1 (set big) batch 1/3', ['a1', 'a3']],
      ['update domain 1 (set big) batch 2/3', ['a5', 'a7']],
      ['update domain 1 (set big) batch 3/3', ['a9', 'a11']],
      ['update domain 0 (set small) batch 1/2', ['b0']],
      ['update domain 0 (set small) batch 2/2', ['b1']],
      ['update domain 1 (set small)', ['b2']],
      ['no update domain (set small)', ['c']],
    ]);
    const region = p.regions[0];
    expect(region.steps.map((s) => s.lane)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(region.steps.map((s) => s.updateDomain)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 1, undefined]);
    expect(region.estimateMinutes).toBe(120);
  });

  it('runs the zone lane, a lane per set and the standalone lane side by side', () => {
    const p = plan(
      fleetOf([
        ...many('z', 4, 'eastus', { zone: '1' }),
        ...many('a', 2, 'eastus', (i) => ({ availabilitySet: 'as-a', updateDomain: i })),
        ...many('b', 2, 'eastus', (i) => ({ availabilitySet: 'as-b', updateDomain: i })),
        ...many('s', 6, 'eastus'),
      ]),
      policy({ disruptionBudget: 2 }),
    );
    expect(p.regions[0].steps.map((s) => [s.lane, s.label, s.machines])).toEqual([
      [0, 'zone 1 batch 1/2', ['z0', 'z1']],
      [0, 'zone 1 batch 2/2', ['z2', 'z3']],
      [1, 'update domain 0 (set as-a)', ['a0']],
      [1, 'update domain 1 (set as-a)', ['a1']],
      [2, 'update domain 0 (set as-b)', ['b0']],
      [2, 'update domain 1 (set as-b)', ['b1']],
      [3, 'standalone batch 1/3', ['s0', 's1']],
      [3, 'standalone batch 2/3', ['s2', 's3']],
      [3, 'standalone batch 3/3', ['s4', 's5']],
    ]);
    expect(p.regions[0].estimateMinutes).toBe(60);
  });

  it('puts sets of like length together beyond 32 set lanes, each set in one lane', () => {
    // 40 sets of 2 machines (update domains 0 and 1): 8 slow ones (60 minutes) and 32 fast ones.
    const machines = Array.from({ length: 40 }, (_, k) =>
      many(`s${String(k).padStart(2, '0')}-`, 2, 'eastus', (i) => ({
        availabilitySet: `as-${String(k).padStart(2, '0')}`,
        updateDomain: i,
        durations: { installMinutes: k % 5 === 0 ? 60 : 10, rebootMinutes: 0 },
      })),
    ).flat();
    const region = plan(fleetOf(machines)).regions[0];
    const lanes = new Map<number, Set<string>>();
    for (const step of region.steps)
      for (const name of step.machines) {
        const set = `as-${name.slice(1, 3)}`;
        lanes.set(step.lane, (lanes.get(step.lane) ?? new Set()).add(set));
      }
    expect(lanes.size).toBe(32);
    // Every set in exactly one lane; the 8 slow sets share 4 lanes, two by two, apart from fast ones.
    const all = [...lanes.values()].flatMap((sets) => [...sets]);
    expect(new Set(all).size).toBe(40);
    expect(all).toHaveLength(40);
    const slow = (set: string) => Number(set.slice(3)) % 5 === 0;
    const mixed = [...lanes.values()].filter((sets) => [...sets].some(slow) && ![...sets].every(slow));
    expect(mixed).toEqual([]);
    // A lane of two sets walks their update domains together: domain 0, then 1.
    for (const lane of lanes.keys())
      expect(region.steps.filter((s) => s.lane === lane).map((s) => s.updateDomain)).toEqual([0, 1]);
    expect(region.estimateMinutes).toBe(120);
  });

  it("splits a service's share between the lanes that hold it, in proportion to what each can use", () => {
    // db may have 4 machines down: the zone lane could use 3 at once, the set lane 1 (a set of 6
    // machines goes one at a time): 3 + 1 fit, so each lane gets what it can use.
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([
        ...many('z', 6, 'eastus', { ...db, zone: '1' }),
        ...many('a', 6, 'eastus', (i) => ({ ...db, availabilitySet: 'as', updateDomain: i % 3 })),
        ...many('keep', 8, 'westus', db),
      ]),
      policy({
        phases: [['eastus'], ['westus']],
        disruptionBudget: '50%',
        serviceCapacity: { tag: 'service', minAvailable: 16 },
      }),
    );
    const region = p.regions[0];
    const peak = (lane: number) =>
      Math.max(...region.steps.filter((s) => s.lane === lane).map((s) => s.machines.length));
    expect([peak(0), peak(1)]).toEqual([3, 1]);
  });

  it('lays the tracks into one lane when a service has fewer places than lanes hold it', () => {
    // db may have 2 machines down in eastus, but three lanes hold it: one lane, whose steps each hold
    // one batch of the zone, the set and the standalone track (slow batches on slow steps) and at most
    // 2 db machines.
    const win = { os: 'Windows' as const };
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([
        ...many('w', 2, 'eastus', { ...win, ...db, zone: '1' }),
        ...many('l', 2, 'eastus', { ...db, zone: '1' }),
        ...many('a', 2, 'eastus', (i) => ({ ...win, ...db, availabilitySet: 'as', updateDomain: i })),
        vm('s', 'eastus', db),
        ...many('k', 6, 'westus', db),
      ]),
      policy({ disruptionBudget: 1, serviceCapacity: { tag: 'service', minAvailable: 11 } }),
    );
    const region = p.regions.find((r) => r.region === 'eastus')!;
    expect(region.steps.map((s) => [s.lane, s.label, s.estimateMinutes, s.machines])).toEqual([
      [0, 'zone 1 batch 1/4 + update domain 0 (set as)', 40, ['w0', 'a0']],
      [0, 'zone 1 batch 2/4 + update domain 1 (set as)', 40, ['w1', 'a1']],
      [0, 'zone 1 batch 3/4 + standalone', 20, ['l0', 's']],
      [0, 'zone 1 batch 4/4', 20, ['l1']],
    ]);
    expect(region.steps.map((s) => [s.kind, s.zone, s.updateDomain])).toEqual([
      ['zone', '1', 0],
      ['zone', '1', 1],
      ['zone', '1', undefined],
      ['zone', '1', undefined],
    ]);
    expect(region.estimateMinutes).toBe(120);
  });

  it("shares a service's allowance between the tracks of a step of one lane", () => {
    // db may have one machine down: the zonal and the set db machine never share a step; the untagged
    // set machine does join the zonal one.
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([
        ...many('z', 2, 'eastus', { ...db, zone: '1' }),
        vm('a0', 'eastus', { ...db, availabilitySet: 'as', updateDomain: 0 }),
        vm('a1', 'eastus', { availabilitySet: 'as', updateDomain: 0 }),
        vm('keep', 'eastus', db),
      ]),
      policy({ disruptionBudget: '100%', serviceCapacity: { tag: 'service', minAvailable: 3 } }),
    );
    const region = p.regions[0];
    for (const step of region.steps)
      expect(step.machines.filter((m) => m !== 'a1' && m !== 'z1').length).toBeLessThanOrEqual(1);
    expect(region.steps.map((s) => s.machines)).toEqual([['z0', 'a1'], ['z1'], ['a0'], ['keep']]);
    expect(region.steps.every((s) => s.lane === 0)).toBe(true);
  });

  it.each(Array.from({ length: 25 }, (_, i) => i + 1))(
    'a set of %i machines in one update domain goes one at a time below 10, else floor(20%%) at a time',
    (size) => {
      const p = plan(fleetOf(many('m', size, 'eastus', { availabilitySet: 'as', updateDomain: 0 })));
      const sizes = p.regions[0].steps.map((s) => s.machines.length);
      const cap = size < 10 ? 1 : Math.floor(size / 5);
      expect(Math.max(...sizes)).toBe(cap);
      expect(sizes).toHaveLength(Math.ceil(size / cap));
    },
  );

  const budgets: [CountOrPercent, number, number][] = [
    ['20%', 1, 1],
    ['20%', 6, 2],
    ['20%', 10, 2],
    ['25%', 9, 3],
    ['50%', 3, 2],
    [0, 5, 1],
    [3, 2, 2],
    [3, 10, 3],
    ['100%', 7, 7],
  ];
  it.each(budgets)(
    'disruption budget %s of %i standalone machines lets %i go at once',
    (budget, n, atOnce) => {
      const p = plan(fleetOf(many('s', n, 'eastus')), policy({ disruptionBudget: budget }));
      expect(Math.max(...p.regions[0].steps.map((s) => s.machines.length))).toBe(atOnce);
      expect(p.regions[0].steps).toHaveLength(Math.ceil(n / atOnce));
    },
  );

  it('splits a service allowance across the concurrent regions of a phase, in proportion', () => {
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([...many('e', 12, 'eastus', db), ...many('n', 4, 'northeurope', db)]),
      policy({
        phases: [['eastus', 'northeurope']],
        disruptionBudget: '100%',
        serviceCapacity: { tag: 'service', minAvailable: '50%' },
      }),
    );
    // Allowance 16 - 8 = 8: one each, then 6 in proportion 12:4, i.e. 4.5 and 1.5: floors 4 and 1, the
    // remainder tie goes to the earlier region. eastus 1 + 4 + 1 = 6, northeurope 1 + 1 = 2.
    const peak = (region: string) =>
      Math.max(...p.regions.find((r) => r.region === region)!.steps.map((s) => s.machines.length));
    expect(peak('eastus')).toBe(6);
    expect(peak('northeurope')).toBe(2);
  });
});

describe('estimates', () => {
  it('adds steps (slowest machine each) per lane, takes the longest lane per region and the slowest region per phase, adds phases', () => {
    const p = plan(
      fleetOf([
        vm('a', 'eastus', { zone: '1' }),
        vm('b', 'eastus', { zone: '1', os: 'Windows' }),
        vm('c', 'eastus', { durations: { installMinutes: 10, rebootMinutes: 5 } }),
        vm('d', 'northeurope'),
      ]),
      policy({ phases: [['eastus', 'northeurope']], disruptionBudget: '100%' }),
    );
    // eastus: zone 1 (20 and 40 minutes) in one lane, the standalone machine (15) in another.
    expect(
      p.regions.map((r) => [r.region, r.steps.map((s) => s.estimateMinutes), r.estimateMinutes]),
    ).toEqual([
      ['eastus', [40, 15], 40],
      ['northeurope', [20], 20],
    ]);
    expect(p.regions[0].steps.map((s) => [s.lane, s.label])).toEqual([
      [0, 'zone 1'],
      [1, 'standalone'],
    ]);
    expect(p.phases[0].estimateMinutes).toBe(40);
    expect(p.estimateMinutes).toBe(40);
    // zone 1: slowest 40; standalone: 15; the zone chain dominates.
    expect(p.lowerBoundMinutes).toBe(40);
  });

  const d = (installMinutes: number) => ({ durations: { installMinutes, rebootMinutes: 0 } });

  it('bounds a budget-limited chain by its machine-minutes per slot, rounded down to hundredths', () => {
    // 10.001 is no whole number of hundredths, so only machine-minutes per slot apply: 31.001 / 3.
    const p = plan(
      fleetOf([
        vm('a', 'eastus', d(10.001)),
        vm('b', 'eastus', d(10)),
        vm('c', 'eastus', d(10)),
        vm('e', 'eastus', d(1)),
      ]),
      policy({ disruptionBudget: 3 }),
    );
    expect(p.estimateMinutes).toBe(11.001);
    expect(p.lowerBoundMinutes).toBe(10.33);
  });

  it('bounds a chain of whole minutes by whole lanes: 31 minutes on 3 lanes need 11', () => {
    const p = plan(
      fleetOf([
        vm('a', 'eastus', d(10)),
        vm('b', 'eastus', d(10)),
        vm('c', 'eastus', d(10)),
        vm('e', 'eastus', d(1)),
      ]),
      policy({ disruptionBudget: 3 }),
    );
    expect(p.estimateMinutes).toBe(11);
    expect(p.lowerBoundMinutes).toBe(11);
  });

  it('bounds durations of a common divisor by whole multiples of it: 3 x 40 + 5 x 20 minutes, 2 at a time', () => {
    // 220 machine-minutes on 2 lanes, each lane a multiple of 20 minutes: 120, not 110.
    const p = plan(
      fleetOf([
        ...many('w', 3, 'eastus', { os: 'Windows', zone: '1' }),
        ...many('l', 5, 'eastus', { zone: '1' }),
      ]),
      policy({ disruptionBudget: 2 }),
    );
    expect(p.lowerBoundMinutes).toBe(120);
    expect(p.estimateMinutes).toBe(120);
  });

  it('bounds by rounds of the fastest machine: 3 machines, 2 at a time, take two rounds', () => {
    const p = plan(fleetOf(many('s', 3, 'eastus')), policy({ disruptionBudget: 2 }));
    expect(p.estimateMinutes).toBe(40);
    expect(p.lowerBoundMinutes).toBe(40);
  });

  it('bounds a phase by the service chain across its concurrent regions', () => {
    const db = { tags: { service: 'db' } };
    const p = plan(
      fleetOf([
        ...many('e', 2, 'eastus', db),
        ...many('n', 2, 'northeurope', db),
        ...many('x', 4, 'westeurope', db),
      ]),
      policy({
        phases: [['eastus', 'northeurope'], ['westeurope']],
        disruptionBudget: '100%',
        serviceCapacity: { tag: 'service', minAvailable: 6 },
      }),
    );
    // 8 db machines, allowance 2. Phase 0: 4 machines, 2 at a time -> 40; phase 1: 4 machines, 2 at a time -> 40.
    expect(p.phases.map((ph) => ph.estimateMinutes)).toEqual([40, 40]);
    expect(p.lowerBoundMinutes).toBe(80);
  });
});

describe('formatPlanTable', () => {
  it('explains phases, regions, steps, exclusions and the estimate', () => {
    const p = plan(
      fleetOf([
        ...many('z', 2, 'eastus', { zone: '1' }),
        vm('s', 'eastus'),
        vm('n', 'northeurope', { os: 'Windows' }),
        vm('os', 'northeurope', { patchMode: 'AutomaticByOS' }),
        vm('m', 'northeurope', { patchMode: 'Manual' }),
        vm('m2', 'eastus', { patchMode: 'Manual' }),
      ]),
      policy({ disruptionBudget: '100%' }),
    );
    expect(formatPlanTable(p)).toBe(
      [
        'Rollout plan: 2 phases, 2 regions, 4 machines to patch, 3 excluded',
        'Patching time only: 1h 00m (lower bound 1h 00m); no windows, approvals or retries',
        '',
        'Phase 0: northeurope (estimate 40m)',
        '  northeurope: 1 machine in 1 step, estimate 40m',
        '    step  label       lane  machines  estimate',
        '       0  standalone     0         1       40m',
        '',
        'Phase 1: eastus (estimate 20m)',
        '  eastus: 3 machines in 2 steps (2 lanes side by side), estimate 20m',
        '    step  label       lane  machines  estimate',
        '       0  zone 1         0         2       20m',
        '       1  standalone     1         1       20m',
        '',
        'Excluded: 3 machines',
        '  LeftToOS                   1  the OS patches them (AutomaticByOS, ImageDefault)',
        '  ManualPatchMode            2  patch mode Manual (explicit schedules and on-demand runs only)',
        '',
      ].join('\n'),
    );
  });

  it('summarises the steps beyond the limit', () => {
    const p = plan(fleetOf(many('s', 5, 'eastus')), policy({ disruptionBudget: 1 }));
    const text = formatPlanTable(p, { maxStepsPerRegion: 2 });
    expect(text).toContain('standalone batch 2/5');
    expect(text).not.toContain('standalone batch 3/5');
    expect(text).toContain('    ... 3 more steps: 3 machines, 1h 00m');
  });
});

describe('the batch limit', () => {
  // A budget that allows more than a batch holds still gives batches of at most MAX_BATCH_MACHINES: a step's
  // machines are one workflow task's children, one lease request and one slice (docs/planner.md, section 3).
  const largest = (p: Plan) => Math.max(...p.regions.flatMap((r) => r.steps.map((s) => s.machines.length)));

  it.each<[string, CountOrPercent]>([
    ['100%', '100%'],
    ['a count above the limit', 5000],
  ])('standalone machines and a zone under a budget of %s', (_, budget) => {
    const fleet = fleetOf([...many('s', 1200, 'eastus'), ...many('z', 1200, 'westus', { zone: '1' })]);
    const p = plan(fleet, policy({ disruptionBudget: budget }));
    expect(largest(p)).toBe(MAX_BATCH_MACHINES);
    expect(steps(p, 'eastus').map(([, m]) => m.length)).toEqual([500, 500, 200]);
    expect(steps(p, 'westus').map(([label, m]) => [label, m.length])).toEqual([
      ['zone 1 batch 1/3', 500],
      ['zone 1 batch 2/3', 500],
      ['zone 1 batch 3/3', 200],
    ]);
  });

  it("an availability set's 20% and the update domains of many sets walked together", () => {
    // One set of 5,000 machines (20% is 1,000), and 40 sets of 100 in one region (more than MAX_SET_LANES:
    // sets share lanes, and a lane's update domain 0 holds about 20 machines of each of its sets).
    const big = many('b', 5000, 'eastus', (i) => ({ availabilitySet: 'big', updateDomain: i % 2 }));
    const small = Array.from({ length: 40 }, (_, k) =>
      many(`set${k}-`, 100, 'westus', { availabilitySet: `s${k}`, updateDomain: 0 }),
    ).flat();
    const p = plan(fleetOf([...big, ...small]));
    expect(largest(p)).toBeLessThanOrEqual(MAX_BATCH_MACHINES);
    expect(steps(p, 'eastus')[0][1]).toHaveLength(MAX_BATCH_MACHINES);
  });

  // Temporal lets a workflow have at most 2,000 children running: a region's lanes side by side must not
  // together run more than MAX_REGION_ATTEMPTS machines at once, or its next start fails its workflow task.
  const atOnce = (p: Plan, region: string) => regionAtOnce(p.regions.find((r) => r.region === region)!);
  const crowded = (sets: number) => [
    ...many('z', 500, 'eastus', { zone: '1' }),
    ...Array.from({ length: sets }, (_, k) =>
      many(`a${k}-`, 200, 'eastus', (i) => ({ availabilitySet: `set-${k}`, updateDomain: i % 5 })),
    ).flat(),
    ...many('n', 500, 'eastus'),
  ];

  it('a region whose sets would share lanes takes narrower zone and standalone batches when that is shorter', () => {
    // Zone 1 and the standalone machines 500 each under 100%, 32 sets of 200 (40 at once each): 2,280
    // in 34 lanes. At the budgets' widths the zone and standalone lanes leave 500, and the 32 sets walk
    // together in one lane, three steps an update domain (300 minutes). In batches of 100 every set keeps
    // a lane of its own: 1,480 at once, five steps in every lane, the region's bound.
    const p = plan(fleetOf(crowded(32)), policy({ disruptionBudget: '100%' }));
    expect(atOnce(p, 'eastus')).toEqual({ lanes: 34, machines: 1480 });
    const labels = steps(p, 'eastus').map(([label, names]) => `${label}: ${names.length}`);
    expect(labels.slice(0, 2)).toEqual(['zone 1 batch 1/5: 100', 'zone 1 batch 2/5: 100']);
    expect(labels).toContain('standalone batch 5/5: 100');
    expect(p.regions[0].estimateMinutes).toBe(p.lowerBoundMinutes);
    expect(p.regions[0].steps.flatMap((s) => s.machines)).toHaveLength(500 + 32 * 200 + 500);
  });

  it("keeps the budgets' widths, and fewer set lanes, where narrower zone batches would only be longer", () => {
    // A zone of 10,000 under 100% takes 20 steps of 500 (400 minutes): longer than the 32 sets walking
    // together in one lane (300 minutes), and narrower zone batches would only lengthen it.
    const fleet = [...many('y', 9500, 'eastus', { zone: '1' }), ...crowded(32)];
    const p = plan(fleetOf(fleet), policy({ disruptionBudget: '100%' }));
    expect(atOnce(p, 'eastus')).toEqual({ lanes: 3, machines: MAX_REGION_ATTEMPTS });
    const labels = steps(p, 'eastus').map(([label, names]) => `${label}: ${names.length}`);
    expect(labels[0]).toBe('zone 1 batch 1/20: 500');
    expect(labels).toContain('update domain 0 (32 sets) batch 1/3: 500');
    expect(p.regions[0].estimateMinutes).toBe(400);
  });

  it('keeps as many set lanes as fit', () => {
    // 20 sets of 500 (100 at once each): 2,000 in 20 lanes. Sets share lanes, each lane's steps at most
    // a batch: 3 lanes (7, 7 and 6 sets) run 1,500 at once; 4 would run 2,000.
    const fleet = Array.from({ length: 20 }, (_, k) =>
      many(`a${k}-`, 500, 'eastus', (i) => ({ availabilitySet: `set-${k}`, updateDomain: i % 5 })),
    ).flat();
    const p = plan(fleetOf(fleet), policy({}));
    expect(atOnce(p, 'eastus')).toEqual({ lanes: 3, machines: MAX_REGION_ATTEMPTS });
    expect(steps(p, 'eastus')[0][0]).toBe('update domain 0 (7 sets) batch 1/2');
  });

  it('keeps its lanes side by side while they stay within it', () => {
    // 12 sets: 500 + 12 × 40 + 500 = 1,480 at once, in 14 lanes.
    const p = plan(fleetOf(crowded(12)), policy({ disruptionBudget: '100%' }));
    expect(atOnce(p, 'eastus')).toEqual({ lanes: 14, machines: 1480 });
  });
});
