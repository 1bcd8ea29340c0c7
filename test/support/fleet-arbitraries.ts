import fc from 'fast-check';
import type { Fleet, Machine, PatchMode } from '../../domain/fleet';
import { type Policy, policySchema } from '../../domain/policy';

/**
 * Random fleets for the planner's property tests, built as Fleet objects directly (not through
 * parseFleet) but within its rules: unique names, zone XOR availability set, update domains only in
 * sets, known or declared regions.
 */

/** Real Azure regions, with pairs among them (eastus/westus, northeurope/westeurope, japaneast/japanwest, centralus/eastus2), and declared ones. */
export const REGIONS = [
  'eastus',
  'westus',
  'northeurope',
  'westeurope',
  'centralus',
  'eastus2',
  'japaneast',
  'japanwest',
  'swedencentral',
  'onprem-a',
  'onprem-b',
  'edge-1',
] as const;

/** Declared pairs for the regions Azure does not know: onprem-a <-> onprem-b; edge-1 has none. */
export const EXTRA_PAIRS: Fleet['regionPairs'] = { 'onprem-a': 'onprem-b', 'edge-1': null };

export const SERVICE_TAG = 'service';
const SERVICES = ['web', 'db', 'cache', 'queue', 'auth'] as const;
const SETS = ['as-a', 'as-b', 'as-c'] as const;

type Draft = Omit<Machine, 'name'>;

const patchModeArb: fc.Arbitrary<PatchMode> = fc.oneof(
  { weight: 7, arbitrary: fc.constant('AutomaticByPlatform' as const) },
  { weight: 1, arbitrary: fc.constant('AutomaticByOS' as const) },
  { weight: 1, arbitrary: fc.constant('ImageDefault' as const) },
  { weight: 1, arbitrary: fc.constant('Manual' as const) },
);

const durationsArb = fc.option(
  fc.record({
    installMinutes: fc.integer({ min: 1, max: 60 }),
    rebootMinutes: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(2.5)),
  }),
  { nil: undefined, freq: 2 },
);

const tagsArb = fc
  .option(fc.constantFrom(...SERVICES), { nil: undefined, freq: 4 })
  .map((service): Record<string, string> => (service === undefined ? {} : { [SERVICE_TAG]: service }));

type Placement = { zone?: '1' | '2' | '3'; availabilitySet?: string; updateDomain?: number };

const placementArb: fc.Arbitrary<Placement> = fc.oneof(
  fc.record({ zone: fc.constantFrom('1' as const, '2' as const, '3' as const) }),
  fc.record(
    { availabilitySet: fc.constantFrom(...SETS), updateDomain: fc.integer({ min: 0, max: 19 }) },
    { requiredKeys: ['availabilitySet'] },
  ),
  fc.constant({}),
);

/** Three subscriptions, or none, so that standalone machines of one subscription meet in a region. */
export const SUBSCRIPTIONS = [
  '00000000-0000-4000-8000-000000000001',
  '00000000-0000-4000-8000-000000000002',
  '00000000-0000-4000-8000-000000000003',
] as const;
const subscriptionArb = fc.option(fc.constantFrom(...SUBSCRIPTIONS), { nil: undefined, freq: 3 });

function machineArb(regions: readonly string[]): fc.Arbitrary<Draft> {
  return fc
    .record({
      region: fc.constantFrom(...regions),
      placement: placementArb,
      os: fc.constantFrom('Linux' as const, 'Windows' as const),
      patchMode: patchModeArb,
      durations: durationsArb,
      tags: tagsArb,
      subscription: subscriptionArb,
    })
    .map(({ placement, durations, subscription, ...rest }) => ({
      ...rest,
      ...placement,
      ...(durations ? { durations } : {}),
      ...(subscription ? { subscription } : {}),
      timeZone: 'UTC',
      driver: 'simulated' as const,
    }));
}

/** A big availability set (10..40 machines over 1..5 update domains), so the 20% rule bites. */
function bigSetArb(regions: readonly string[]): fc.Arbitrary<Draft[]> {
  return fc
    .record({
      region: fc.constantFrom(...regions),
      size: fc.integer({ min: 10, max: 40 }),
      domains: fc.integer({ min: 1, max: 5 }),
      tagged: fc.boolean(),
    })
    .map(({ region, size, domains, tagged }) =>
      Array.from({ length: size }, (_, k) => ({
        region,
        availabilitySet: 'as-big',
        updateDomain: k % domains,
        os: 'Linux' as const,
        patchMode: 'AutomaticByPlatform' as const,
        timeZone: 'UTC',
        driver: 'simulated' as const,
        tags: (tagged ? { [SERVICE_TAG]: SERVICES[k % 3] } : {}) as Record<string, string>,
      })),
    );
}

/** One service ("spread") with 6..40 eligible machines over the regions, so its allowance must be shared. */
function spreadServiceArb(regions: readonly string[]): fc.Arbitrary<Draft[]> {
  return fc.array(
    fc
      .record({ region: fc.constantFrom(...regions), placement: placementArb })
      .map(({ region, placement }) => ({
        region,
        ...placement,
        os: 'Linux' as const,
        patchMode: 'AutomaticByPlatform' as const,
        timeZone: 'UTC',
        driver: 'simulated' as const,
        tags: { [SERVICE_TAG]: 'spread' } as Record<string, string>,
      })),
    { minLength: 6, maxLength: 40 },
  );
}

/** 4..30 standalone machines of one region over 1..3 subscriptions, so batches must spread them. */
function standaloneCrowdArb(regions: readonly string[]): fc.Arbitrary<Draft[]> {
  return fc
    .record({
      region: fc.constantFrom(...regions),
      subscriptions: fc.array(fc.constantFrom(...SUBSCRIPTIONS), { minLength: 4, maxLength: 30 }),
    })
    .map(({ region, subscriptions }) =>
      subscriptions.map((subscription) => ({
        region,
        subscription,
        os: 'Linux' as const,
        patchMode: 'AutomaticByPlatform' as const,
        timeZone: 'UTC',
        driver: 'simulated' as const,
        tags: {},
      })),
    );
}

/**
 * A fleet over a random subset of REGIONS: 1..120 random machines, possibly one big availability set,
 * possibly one service spread over the regions, possibly a crowd of standalone machines, shuffled
 * together.
 */
export const fleetArb: fc.Arbitrary<Fleet> = fc
  .subarray([...REGIONS], { minLength: 1 })
  .chain((regions) =>
    fc
      .tuple(
        fc.array(machineArb(regions), { minLength: 1, maxLength: 120 }),
        fc.option(bigSetArb(regions), { nil: undefined }),
        fc.option(spreadServiceArb(regions), { nil: undefined }),
        fc.option(standaloneCrowdArb(regions), { nil: undefined }),
      )
      .chain(([drafts, big, spread, crowd]) => {
        const all = [...drafts, ...(big ?? []), ...(spread ?? []), ...(crowd ?? [])];
        return fc.shuffledSubarray(all, { minLength: all.length });
      }),
  )
  .map((drafts) => ({
    machines: drafts.map((d, i) => ({ name: `vm-${String(i).padStart(3, '0')}`, ...d })),
    regionPairs: { ...EXTRA_PAIRS },
    maintenanceConfigurations: {},
  }));

const countOrPercentArb = (maxCount: number, maxPercent: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: maxCount }),
    fc.integer({ min: 0, max: maxPercent / 5 }).map((k) => `${k * 5}%` as const),
  );

/** Policies without explicit phases: random disruption budget and, often, a service capacity. */
export const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    disruptionBudget: fc.oneof(countOrPercentArb(6, 100), fc.constant('100%' as const)),
    serviceCapacity: fc.option(
      fc.record({
        tag: fc.constant(SERVICE_TAG),
        minAvailable: fc.oneof(
          countOrPercentArb(3, 80),
          fc.constantFrom('50%' as const, '60%' as const, '75%' as const),
        ),
      }),
      { nil: undefined, freq: 4 },
    ),
  })
  .map((input) => policySchema.parse(input));
