import type { LedgerEntry } from '../../activities/drivers/simulated';
import type { MachineReport, RolloutReport } from '../../workflows/messages';
import { checkAvailability, checkLedger, maxConcurrent, type Rule } from '../support/availability-check';
import { fleetOf, policyOf } from '../support/rollouts';

// The checker must be able to fail: a small valid report passes, and each hand-made violation is caught.

const T0 = Date.parse('2025-06-14T22:00:00Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

const fleet = fleetOf({
  regionPairs: { 'contoso-a': 'contoso-b' },
  machines: [
    {
      name: 'e-z1',
      region: 'eastus',
      zone: '1',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      tags: { service: 'web' },
    },
    {
      name: 'e-z1b',
      region: 'eastus',
      zone: '1',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      tags: { service: 'web' },
    },
    {
      name: 'e-z2',
      region: 'eastus',
      zone: '2',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      tags: { service: 'web' },
    },
    {
      name: 'n-1',
      region: 'northeurope',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      tags: { service: 'web' },
    },
    { name: 'n-os', region: 'northeurope', os: 'Windows', tags: { service: 'web' } },
    { name: 'ca-1', region: 'contoso-a', os: 'Linux', patchMode: 'AutomaticByPlatform' },
    { name: 'cb-1', region: 'contoso-b', os: 'Linux', patchMode: 'AutomaticByPlatform' },
    ...['w-ud0', 'w-ud0b', 'w-ud1'].map((name) => ({
      name,
      region: 'westus',
      availabilitySet: 'ws',
      updateDomain: name.startsWith('w-ud0') ? 0 : 1,
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
    })),
  ],
});
const policy = policyOf({ serviceCapacity: { tag: 'service', minAvailable: '50%' } });

type Spans = Array<[number, number]>;

function machine(name: string, spans: Spans, extra: Partial<MachineReport> = {}): MachineReport {
  const fm = fleet.machines.find((m) => m.name === name)!;
  return {
    name,
    region: fm.region,
    outcome: 'Succeeded',
    rebooted: false,
    patches: [],
    attempts: spans.map(([s, e], i) => ({
      attempt: i + 1,
      outcome: 'Succeeded',
      startedAt: at(s),
      finishedAt: at(e),
    })),
    installed: 0,
    failed: 0,
    pending: 0,
    excluded: 0,
    notSelected: 0,
    ...extra,
  };
}

const validSpans: Record<string, Spans> = {
  'e-z1': [[0, 10]],
  'e-z1b': [[0, 10]],
  'e-z2': [[10, 20]],
  'n-1': [[20, 30]],
  'ca-1': [[0, 5]],
  'cb-1': [[5, 10]],
  'w-ud0': [[30, 40]],
  'w-ud0b': [[40, 50]],
  'w-ud1': [[50, 60]],
};

function reportWith(
  changes: Record<string, Spans> = {},
  extra: Record<string, Partial<MachineReport>> = {},
): RolloutReport {
  const spans = { ...validSpans, ...changes };
  return {
    rolloutId: 'check',
    status: 'Completed',
    startedBy: 'tester',
    month: '2025-06',
    monthType: 'baseline',
    planned: 0,
    succeeded: 0,
    attempts: 0,
    regions: [],
    deadline: at(60 * 24),
    errors: { count: 0, allowed: 0 },
    phases: [
      { index: 0, regions: ['eastus', 'northeurope', 'contoso-a', 'contoso-b'], status: 'Succeeded' },
      { index: 1, regions: ['westus'], status: 'Succeeded' },
    ],
    gates: [],
    machines: [
      ...Object.entries(spans).map(([name, s]) => machine(name, s, extra[name])),
      machine('n-os', [], { outcome: 'Excluded', ...extra['n-os'] }),
    ],
  };
}

const rules = (report: RolloutReport): Rule[] =>
  [...new Set(checkAvailability(report, fleet, policy).map((v) => v.rule))].sort();

test('a report that keeps every rule passes', () => {
  expect(checkAvailability(reportWith(), fleet, policy)).toEqual([]);
});

test('two zones of one region at once', () => {
  expect(rules(reportWith({ 'e-z1': [[0, 5]], 'e-z2': [[5, 15]] }))).toEqual(['zones']);
});

test('two update domains of one set at once (which also exceeds the small set’s one-at-a-time cap)', () => {
  const report = reportWith({ 'w-ud1': [[45, 55]] });
  expect(rules(report)).toEqual(['setConcurrency', 'updateDomains']);
  expect(checkAvailability(report, fleet, policy).find((v) => v.rule === 'updateDomains')!.message).toMatch(
    /update domain 0 .*w-ud0b.* overlaps update domain 1 .*w-ud1/,
  );
});

test('two machines of one update domain of a set under 10 machines at once', () => {
  expect(rules(reportWith({ 'w-ud0b': [[35, 45]] }))).toEqual(['setConcurrency']);
});

test('geo-paired regions at once: a pair the fleet declares, and an Azure pair across phases', () => {
  expect(rules(reportWith({ 'cb-1': [[3, 8]] }))).toEqual(['geoPairs']);
  expect(rules(reportWith({ 'w-ud0': [[15, 25]] }))).toEqual(['geoPairs', 'phaseOrder']);
});

test('a later phase starting before an earlier one ended', () => {
  expect(rules(reportWith({ 'w-ud0': [[25, 35]] }))).toEqual(['phaseOrder']);
});

test('more of a service down at once than its minimum available allows', () => {
  // web: 3 eligible machines (n-os is excluded), 50% of 3 rounds up to 2 that stay up: at most 1 down.
  expect(rules(reportWith({ 'n-1': [[5, 15]] }))).toEqual(['serviceCapacity']);
  // A retry counts too: a second attempt of n-1 beside e-z1.
  expect(
    rules(
      reportWith({
        'n-1': [
          [20, 30],
          [2, 4],
        ],
      }),
    ),
  ).toEqual(['serviceCapacity']);
});

test('coverage: a missing, duplicated, wrongly excluded or unknown machine, and a span with one end', () => {
  const missing = reportWith();
  missing.machines = missing.machines.filter((m) => m.name !== 'n-os');
  expect(rules(missing)).toEqual(['coverage']);

  const duplicated = reportWith();
  duplicated.machines.push(machine('ca-1', []));
  expect(rules(duplicated)).toEqual(['coverage']);

  expect(rules(reportWith({ 'ca-1': [] }, { 'ca-1': { outcome: 'Excluded' } }))).toEqual(['coverage']);
  expect(rules(reportWith({}, { 'n-os': { outcome: 'NotStarted' } }))).toEqual(['coverage']);

  const unknown = reportWith();
  unknown.machines.push({ ...machine('ca-1', []), name: 'ghost' });
  expect(rules(unknown)).toEqual(['coverage']);

  const open = reportWith();
  delete open.machines.find((m) => m.name === 'e-z2')!.attempts[0].finishedAt;
  expect(rules(open)).toEqual(['coverage']);
});

test('maxConcurrent counts touching spans as sequential', () => {
  const s = (start: number, end: number) => ({ machine: 'x', attempt: 1, start, end });
  expect(maxConcurrent([s(0, 10), s(10, 20), s(20, 30)]).count).toBe(1);
  expect(maxConcurrent([s(0, 10), s(5, 20), s(9, 30)]).count).toBe(3);
});

test('maxConcurrent counts a zero-length span only with the spans strictly around it', () => {
  const s = (start: number, end: number) => ({ machine: 'x', attempt: 1, start, end });
  expect(maxConcurrent([s(10, 10), s(10, 20), s(10, 20)]).count).toBe(2);
  expect(maxConcurrent([s(0, 10), s(10, 10), s(10, 20)]).count).toBe(1);
  expect(maxConcurrent([s(0, 20), s(10, 10), s(5, 15)]).count).toBe(3);
  expect(maxConcurrent([s(10, 10)]).count).toBe(1);
});

describe('ledger', () => {
  const entry = (
    machine: string,
    minute: number,
    kind: LedgerEntry['kind'],
    extra: Partial<LedgerEntry> = {},
  ): LedgerEntry => ({
    at: at(minute),
    machine,
    operation: 'check',
    attempt: 1,
    kind,
    ...extra,
  });
  const installed = {
    installed: 1,
    rebooted: true,
    patches: [{ patchId: 'p1', state: 'Installed' as const }],
  };
  const report = reportWith({}, { 'e-z1': installed });
  const good = [entry('e-z1', 2, 'install', { patchIds: ['p1'] }), entry('e-z1', 5, 'reboot')];
  const messages = (ledger: LedgerEntry[], r = report) => checkLedger(r, ledger).map((v) => v.message);

  test('agrees with the report', () => {
    expect(checkLedger(report, good)).toEqual([]);
  });

  test('a second reboot in one attempt', () => {
    expect(messages([...good, entry('e-z1', 6, 'reboot')])).toEqual(['e-z1 rebooted 2 times in attempt 1']);
  });

  test('a reboot the report does not show, and a reboot the ledger does not show', () => {
    expect(messages([...good, entry('e-z2', 12, 'reboot')])).toEqual([
      'e-z2 has reboots in the ledger, but the report says it did not reboot',
    ]);
    expect(messages([good[0]])).toEqual([
      'e-z1 rebooted according to the report, but the ledger has no reboot',
    ]);
  });

  test('an install on a machine the report shows with nothing installed', () => {
    expect(messages([...good, entry('e-z2', 12, 'install', { patchIds: ['p1'] })])).toEqual([
      'e-z2 installed p1, but the report shows nothing installed',
      'e-z2 installed p1, which the report does not list as Installed',
    ]);
  });

  test('a patch installed twice, and a host change outside the disruptive span', () => {
    expect(messages([...good, entry('e-z1', 3, 'install', { patchIds: ['p1'] })])).toEqual([
      'e-z1 installed p1 more than once',
    ]);
    expect(
      messages([entry('e-z1', 2, 'install', { patchIds: ['p1'] }), entry('e-z1', 11, 'reboot')]),
    ).toEqual([expect.stringMatching(/^reboot on e-z1 at .* outside attempt 1's span/)]);
  });

  test('a change in an attempt the report does not show', () => {
    expect(messages([...good, entry('e-z1', 3, 'install', { attempt: 2, patchIds: ['p2'] })])).toEqual([
      'install on e-z1 in attempt 2, which the report does not show',
    ]);
  });
});

test('a set of 10 or more may lose 20% at once within one update domain, not more', () => {
  const big = fleetOf({
    machines: Array.from({ length: 10 }, (_, i) => ({
      name: `s-${i}`,
      region: 'westus',
      availabilitySet: 'big',
      updateDomain: 0,
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
    })),
  });
  const reportOf = (concurrent: number): RolloutReport => ({
    ...reportWith(),
    phases: [{ index: 0, regions: ['westus'], status: 'Succeeded' }],
    machines: big.machines.map((m, i) => ({
      ...machine('w-ud0', [[i - (i % concurrent), i - (i % concurrent) + 1]]),
      name: m.name,
    })),
  });
  const none = policyOf({});
  expect(checkAvailability(reportOf(2), big, none)).toEqual([]);
  expect(checkAvailability(reportOf(3), big, none).map((v) => v.rule)).toEqual(['setConcurrency']);
});
