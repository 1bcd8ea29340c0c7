import fc from 'fast-check';
import { fleetArb, policyArb, REGIONS, SERVICE_TAG } from './fleet-arbitraries';

/**
 * Fleet and policy documents as a YAML or JSON parser hands them over (plain data, `__proto__` as an
 * own key), mostly valid and then broken on purpose: the crash classes of issue 15 (off-peak start equal
 * to end, months before 1970, prototype names, 1e308 timers), gates beyond the last phase, windows too
 * short for an install, script paths with spaces, huge and non-finite numbers, control characters,
 * wrong types, and duplicate names by the thousand.
 */

type Doc = Record<string, unknown>;

/** Sets `key` as an own property, `__proto__` included, the way JSON.parse and YAML parsers do. */
function setOwn(target: unknown, key: string, value: unknown): void {
  if (typeof target !== 'object' || target === null) return; // an earlier mutation replaced it
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'prototype',
  'valueOf',
];

const HUGE_NUMBERS = [1e308, -1e308, Infinity, -Infinity, NaN, 2 ** 53, 2 ** 31, -1, -0, 1e-320, 0.5, 1e6];

const controlString = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\u0000', '\u001b', '\n', '\r', '\t', '\u007f', '\u009b', '\u2028', ' '),
    fc.constantFrom('a', 'Z', '9', '-', '/'),
  ),
  maxLength: 30,
});

/** Any value a document could hold where a field is expected, weighted toward the ones that broke things. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HUGE_NUMBERS),
  fc.constantFrom(...PROTOTYPE_NAMES),
  controlString,
  fc.constantFrom('', 'x'.repeat(10_000), '1969-12', '0000-01', '9999-12', '00:00', '24:00', 'all', 'UTC'),
  fc.constantFrom(null, true, false, [], {}, [1, 2], { nested: { deep: 1 } }),
  fc.integer({ min: -5, max: 200 }),
  fc.anything({ maxDepth: 2 }),
);

const MACHINE_FIELDS = [
  'name',
  'region',
  'zone',
  'availabilitySet',
  'updateDomain',
  'faultDomain',
  'os',
  'patchMode',
  'timeZone',
  'maintenanceConfiguration',
  'site',
  'tags',
  'driver',
  'durations',
  'simulation',
  'image',
  'ssh',
  'unknownField',
];

const TIME_ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'W. Europe Standard Time',
  'Mars/Olympus',
  'constructor',
];

/** A maintenance configuration, valid or nearly so, its fields sometimes hostile. */
const configArb: fc.Arbitrary<Doc> = fc
  .record({
    startDateTime: fc.constantFrom(
      '2026-01-03 22:00',
      '1970-01-01 00:00',
      '1969-12-31 23:00',
      '2999-12-31 23:59',
      '2026-02-30 01:00',
      'soon',
    ),
    duration: fc.constantFrom('01:30', '02:00', '03:55', '00:10', '04:00', '99:99'),
    timeZone: fc.constantFrom(...TIME_ZONES),
    recurEvery: fc.constantFrom(
      'Day',
      '2Weeks Saturday,Sunday',
      'Month Second Tuesday Offset2',
      '12Months day31',
      'Month day29',
      '99Days',
      'Sometimes',
    ),
    expirationDateTime: fc.option(
      fc.constantFrom('2027-01-01 00:00', '2025-01-01 00:00', '1969-01-01 00:00'),
      { nil: undefined },
    ),
    preScript: fc.option(
      fc.oneof(
        fc.constantFrom(
          '/opt/patch/drain.sh',
          '/opt/my tools/drain.sh',
          '/opt/drain.sh --now',
          'relative.sh',
          '/opt/../etc/x',
          '#!/bin/sh\nexit 0\n',
          '#!/usr/bin/python\n',
        ),
        fc.record({
          path: fc.constantFrom('/opt/drain.sh', '/opt/a b'),
          args: fc.array(fc.oneof(fc.string({ maxLength: 8 }), controlString), { maxLength: 3 }),
        }),
        hostileValue,
      ),
      { nil: undefined, freq: 2 },
    ),
    extra: fc.option(fc.tuple(fc.constantFrom(...MACHINE_FIELDS, 'duration'), hostileValue), {
      nil: undefined,
      freq: 4,
    }),
  })
  .map(({ extra, ...config }) => {
    const out: Doc = {};
    for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = v;
    if (extra) setOwn(out, extra[0], extra[1]);
    return out;
  });

type FleetMutation = (doc: Doc, machines: Doc[]) => void;

const pick = <T>(list: readonly T[], n: number): T => list[Math.abs(n) % list.length];

/** One way to break a fleet document; `n` picks the machine (or entry) it applies to. */
const fleetMutation: fc.Arbitrary<FleetMutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...MACHINE_FIELDS), hostileValue).map(
      ([n, field, value]): FleetMutation =>
        (_doc, ms) =>
          setOwn(pick(ms, n), field, value),
    ),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('weekly', 'short', ...PROTOTYPE_NAMES),
        configArb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
      )
      .map(([name, config, targets]): FleetMutation => (doc, ms) => {
        const configs = (doc.maintenanceConfigurations ??= {}) as Doc;
        setOwn(configs, name, config);
        for (const n of targets) pick(ms, n).maintenanceConfiguration = name;
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constantFrom(...HUGE_NUMBERS)),
        fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constantFrom(...HUGE_NUMBERS)),
      )
      .map(([n, installMinutes, rebootMinutes]): FleetMutation => (_doc, ms) => {
        pick(ms, n).durations = { installMinutes, rebootMinutes };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.nat(),
        fc.constantFrom(
          'installSeconds',
          'rebootSeconds',
          'failInstall',
          'pendingPatches',
          'unreachable',
          'seed',
        ),
        fc.oneof(fc.constantFrom(...HUGE_NUMBERS), fc.boolean(), fc.nat(5)),
      )
      .map(([n, field, value]): FleetMutation => (_doc, ms) => {
        pick(ms, n).simulation = { [field]: value };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(), fc.constantFrom(...PROTOTYPE_NAMES), fc.constantFrom(...PROTOTYPE_NAMES))
      .map(([n, key, value]): FleetMutation => (_doc, ms) => {
        const tags: Doc = {};
        setOwn(tags, key, value);
        pick(ms, n).tags = tags;
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...PROTOTYPE_NAMES, 'onprem-c', 'eastus'),
        fc.oneof(fc.constantFrom(null, 'westus', 'onprem-c'), hostileValue),
        fc.nat(),
      )
      .map(([region, pair, n]): FleetMutation => (doc, ms) => {
        setOwn(doc.regionPairs as Doc, region, pair);
        pick(ms, n).region = region;
      }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.nat(), fc.nat()).map(([a, b]): FleetMutation => (_doc, ms) => {
      pick(ms, a).name = pick(ms, b).name;
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(), fc.constantFrom(...TIME_ZONES))
      .map(([n, tz]): FleetMutation => (_doc, ms) => {
        pick(ms, n).timeZone = tz;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...MACHINE_FIELDS, 'machines', 'regionPairs', 'maintenanceConfigurations'),
        hostileValue,
      )
      .map(
        ([key, value]): FleetMutation =>
          (doc) =>
            setOwn(doc, key, value),
      ),
  },
);

/** Three documents in five stay as generated (valid), two get one to three breakages. */
const mutationsOf = <T>(mutation: fc.Arbitrary<T>): fc.Arbitrary<T[]> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant<T[]>([]) },
    { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
  );

/** The same machine written thousands of times (once in a while: parsing 3,000 machines takes a while). */
const duplicatesArb = fc.integer({ min: 1000, max: 3000 });

export const fleetDocumentArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 200,
    arbitrary: fc.tuple(fleetArb, mutationsOf(fleetMutation)).map(([fleet, mutations]) => {
      const machines = fleet.machines.map((m) => structuredClone(m) as unknown as Doc);
      const doc: Doc = { machines, regionPairs: { ...fleet.regionPairs } };
      for (const mutate of mutations) mutate(doc, machines);
      return doc;
    }),
  },
  {
    weight: 1,
    arbitrary: duplicatesArb.map((n) => ({
      machines: Array.from({ length: n }, () => ({ name: 'same', region: 'eastus', os: 'Linux' })),
    })),
  },
  { weight: 1, arbitrary: hostileValue },
);

type PolicyMutation = (doc: Doc) => void;

const approvalsOf = (doc: Doc): Doc => {
  if (typeof doc.approvals !== 'object' || doc.approvals === null) doc.approvals = {};
  return doc.approvals as Doc;
};

const policyMutation: fc.Arbitrary<PolicyMutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('00:00', '02:00', '22:00', '23:59', '24:00', '2:00'),
        fc.constantFrom('00:00', '02:00', '06:00', '22:10', '02:00'),
      )
      .map(([start, end]): PolicyMutation => (doc) => {
        doc.offPeak = { start, end };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('1969-12', '0000-01', '1970-01', '2026-11', '2999-12', '9999-12', '2026-13')
      .map((month): PolicyMutation => (doc) => {
        doc.month = month;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom('1969-02', '2026-02', 'x'), { maxLength: 3 })
      .map((months): PolicyMutation => (doc) => {
        doc.unplannedBaselineMonths = months;
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(fc.constantFrom(...HUGE_NUMBERS), fc.integer({ min: 1, max: 100_000 }))
      .map((v): PolicyMutation => (doc) => {
        approvalsOf(doc).expireAfterMinutes = v;
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constant('all' as unknown),
        fc.array(fc.oneof(fc.nat(4), fc.constantFrom(99, -1, 1e308, 0.5)), { maxLength: 3 }),
      )
      .map((v): PolicyMutation => (doc) => {
        approvalsOf(doc).beforePhases = v;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom('alice', 'bob', '<svg onload=x>', '', 'a b'), controlString), {
        maxLength: 3,
      })
      .map((v): PolicyMutation => (doc) => {
        approvalsOf(doc).approvers = v;
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(SERVICE_TAG, ...PROTOTYPE_NAMES),
        fc.oneof(fc.nat(5), fc.constantFrom('50%', '100%', '101%', 1e308)),
      )
      .map(([tag, minAvailable]): PolicyMutation => (doc) => {
        doc.serviceCapacity = { tag, minAvailable };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.array(fc.constantFrom(...REGIONS, 'nowhere', ...PROTOTYPE_NAMES), { minLength: 1, maxLength: 3 }),
        { minLength: 1, maxLength: 4 },
      )
      .map((phases): PolicyMutation => (doc) => {
        doc.phases = phases;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('Never', 'Always', 'Sometimes').map((v): PolicyMutation => (doc) => {
      doc.rebootSetting = v;
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('always', 'offPeak').map((v): PolicyMutation => (doc) => {
      doc.windows = v;
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'simulationSpeed',
          'errorBudget',
          'disruptionBudget',
          'maxAttempts',
          'deadlineDays',
          'classifications',
          'kbNumbersToInclude',
          'month',
          'extra',
          ...PROTOTYPE_NAMES,
        ),
        hostileValue,
      )
      .map(
        ([key, value]): PolicyMutation =>
          (doc) =>
            setOwn(doc, key, value),
      ),
  },
);

export const policyDocumentArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.tuple(policyArb, mutationsOf(policyMutation)).map(([policy, mutations]) => {
      const doc = structuredClone(policy) as unknown as Doc;
      for (const mutate of mutations) mutate(doc);
      return doc;
    }),
  },
  { weight: 1, arbitrary: hostileValue },
);
