import fc from 'fast-check';
import { MACHINE_FIELDS, parseFleet } from '../../domain/fleet';
import { FIELDS, fastMachine } from '../../domain/fleet-fast';
import { fleetDocumentArb, hostileValue } from '../support/hostile-documents';

/**
 * The fleet's fast path (domain/fleet-fast.ts) must give exactly what the schema gives: the same fleet,
 * field for field and in the same order, or the same problems, on any document.
 */

const NAMES = ['a'.repeat(100), 'a'.repeat(101), '-x', 'a.b_c-d', 'x\u0000', '', 'x y'];
const DURATIONS = [
  { installMinutes: 1440, rebootMinutes: 0 },
  { rebootMinutes: 5, installMinutes: 10 },
  { installMinutes: 0, rebootMinutes: 0 },
  { installMinutes: 10, rebootMinutes: 1441 },
  { installMinutes: 1441, rebootMinutes: 1 },
  { installMinutes: 0.5, rebootMinutes: -0 },
  { installMinutes: 5 },
  { installMinutes: 5, rebootMinutes: 1, other: 1 },
];
const TAGS = [
  { service: 'web', ['x'.repeat(512)]: 'y'.repeat(256) },
  { ['x'.repeat(513)]: 'y' },
  { t: 'y'.repeat(257) },
  { t: 'a\u001fb' },
  { '': 'v' },
  { t: 1 },
  Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, 'v'])),
  Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v'])),
];

/** Per field, values at its edges, valid and not. */
const EDGES: Record<string, unknown[]> = {
  name: [...NAMES, 'b'.repeat(200), 'b'.repeat(201), 'Z9'],
  region: [...NAMES, 'eastus', 'onprem-c', 'nowhere'],
  zone: ['1', '3', '4', '0', 1, 3, 0, 4, 2.5, -0],
  availabilitySet: [...NAMES, 'as-1'],
  updateDomain: [0, 19, 20, -1, 1.5, -0, '1'],
  faultDomain: [0, 2, 3, -1, 0.5, '0'],
  os: ['Linux', 'Windows', 'linux', ''],
  image: [
    { publisher: 'p', offer: 'o', sku: 's' },
    { sku: 's', offer: 'o', publisher: 'p' },
    { publisher: 'p', offer: 'o' },
    { publisher: 'p', offer: 'o', sku: '' },
    { publisher: 'p', offer: 'o', sku: 's', version: '1' },
  ],
  patchMode: ['AutomaticByPlatform', 'AutomaticByOS', 'Manual', 'ImageDefault', 'automatic'],
  timeZone: ['UTC', 'Europe/Berlin', 'W. Europe Standard Time', 'Mars/Olympus', '', 'a'.repeat(101)],
  maintenanceConfiguration: [...NAMES, 'weekly'],
  subscription: ['0f0e0d0c-aaaa-bbbb-cccc-0123456789AB', '0f0e0d0c-aaaa-bbbb-cccc-0123456789a', 'sub'],
  site: ['', 'site-1', 'a'.repeat(100), 'a'.repeat(101), 'a b'],
  tags: TAGS,
  driver: ['simulated', 'ssh', 'azure', 'other'],
  durations: DURATIONS,
  simulation: [{ installSeconds: 1 }, {}],
  other: [1, 'x'],
};

const changeArb = fc
  .constantFrom(...Object.keys(EDGES))
  .chain((field) =>
    fc.tuple(
      fc.constant(field),
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...EDGES[field]) },
        { weight: 1, arbitrary: hostileValue },
      ),
    ),
  );

/** A plain machine as JSON gives it, some fields left out, some replaced by edge values. */
const machineArb = fc
  .record({
    base: fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      region: fc.constantFrom('eastus', 'westus', 'northeurope'),
      os: fc.constantFrom('Linux', 'Windows'),
      zone: fc.option(fc.constantFrom('1', '2', 3), { nil: undefined }),
      patchMode: fc.option(fc.constantFrom('AutomaticByPlatform', 'Manual'), { nil: undefined }),
      timeZone: fc.option(fc.constantFrom('Europe/Berlin', 'W. Europe Standard Time', 'Mars/Olympus'), {
        nil: undefined,
      }),
      tags: fc.option(fc.dictionary(fc.constantFrom('service', 'team'), fc.constantFrom('a', 'b')), {
        nil: undefined,
      }),
      durations: fc.option(
        fc.record({ installMinutes: fc.integer({ min: 1, max: 90 }), rebootMinutes: fc.nat(20) }),
        { nil: undefined },
      ),
    }),
    changes: fc.array(changeArb, { maxLength: 3 }),
  })
  .map(({ base, changes }) => {
    const m: Record<string, unknown> = JSON.parse(JSON.stringify(base));
    for (const [field, value] of changes)
      Object.defineProperty(m, field, { value, enumerable: true, writable: true, configurable: true });
    return m;
  });

/** Equal values, and equal JSON: the same fields in the same order. */
function same(doc: unknown): void {
  const fast = parseFleet(doc);
  const schema = parseFleet(doc, { fast: false });
  expect(fast).toStrictEqual(schema);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(schema));
}

describe('the fleet fast path gives what the schema gives', () => {
  test('machines with edge values in every field', () => {
    let fast = 0;
    let schema = 0;
    fc.assert(
      fc.property(fc.array(machineArb, { minLength: 1, maxLength: 8 }), (machines) => {
        // Each machine alone (one bad machine would hide the others' output), then all together.
        for (const m of machines) {
          if (fastMachine(m)) fast++;
          else schema++;
          same({ machines: [m] });
        }
        same({ machines });
      }),
      { numRuns: 600 },
    );
    // Both paths were taken many times, or the generator drifted.
    expect(fast).toBeGreaterThan(300);
    expect(schema).toBeGreaterThan(300);
  });

  test('hostile fleet documents, as generated and as read back from JSON', () => {
    let fast = 0;
    fc.assert(
      fc.property(fleetDocumentArb, (doc) => {
        same(doc);
        const json = JSON.stringify(doc);
        if (json === undefined) return;
        const read: unknown = JSON.parse(json);
        const machines = (read as { machines?: unknown } | null)?.machines;
        if (Array.isArray(machines)) fast += machines.filter((m) => fastMachine(m)).length;
        same(read);
      }),
      { numRuns: 150 },
    );
    expect(fast).toBeGreaterThan(100);
  });

  test('a machine the fast path takes comes out with the schema fields in order and the defaults', () => {
    const m = {
      os: 'Linux',
      durations: { rebootMinutes: 1, installMinutes: 2 },
      zone: 2,
      region: 'eastus',
      name: 'a',
    };
    const parsed = parseFleet({ machines: [m] });
    expect(fastMachine(m)).toBeDefined();
    expect(parsed).toStrictEqual(parseFleet({ machines: [m] }, { fast: false }));
    expect(parsed.ok && Object.keys(parsed.value.machines[0])).toEqual([
      'name',
      'region',
      'zone',
      'os',
      'timeZone',
      'tags',
      'driver',
      'durations',
      'patchMode',
    ]);
  });
});

test("the fast path knows every field of the machine's schema, in its order (a new field must be decided there)", () => {
  expect(Object.keys(FIELDS)).toEqual(MACHINE_FIELDS);
});
