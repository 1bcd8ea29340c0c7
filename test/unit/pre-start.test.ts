import { inlineSpecOf, type InlineSliceRef } from '../../domain/spec-slices';
import { parse as parseYaml } from 'yaml';
import { parseFleet } from '../../domain/fleet';
import { parsePolicy } from '../../domain/policy';
import { prepareRolloutInput } from '../../domain/pre-start';
import { formatProblems, MAX_PROBLEMS_SHOWN, type Problem } from '../../domain/problems';
import type { RolloutInput } from '../../domain/rollout-spec';
import { SLICE_BYTES } from '../../domain/payload-limits';

/** The whole pre-start path, from parsed documents to the workflows' input (what `plan` and `start` run). */
function preStart(fleetDoc: unknown, policyDoc: unknown = {}): { problems: Problem[]; input?: RolloutInput } {
  const fleet = parseFleet(fleetDoc);
  const policy = parsePolicy(policyDoc);
  const problems = [
    ...(fleet.ok ? [] : fleet.problems.map((p) => ({ ...p, path: `fleet: ${p.path}` }))),
    ...(policy.ok ? [] : policy.problems.map((p) => ({ ...p, path: `policy: ${p.path}` }))),
  ];
  if (!fleet.ok || !policy.ok) return { problems };
  const prepared = prepareRolloutInput({
    rolloutId: 'r1',
    startedBy: 'carol',
    fleet: fleet.value,
    policy: policy.value,
    now: new Date('2026-11-20T12:00:00Z'),
  });
  return prepared.ok ? { problems: [], input: prepared.value.input } : { problems: prepared.problems };
}

const vm = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  region: 'eastus',
  os: 'Linux',
  patchMode: 'AutomaticByPlatform',
  ...extra,
});
const weekly = (extra: Record<string, unknown> = {}) => ({
  startDateTime: '2026-01-03 22:00',
  duration: '01:30',
  timeZone: 'UTC',
  recurEvery: 'Week Saturday',
  ...extra,
});
const paths = (r: { problems: Problem[] }) => r.problems.map((p) => p.path);
const fleetOf = (...machines: unknown[]) => ({ machines });

describe('the four crash classes are refused before anything starts', () => {
  test('off-peak start equal to end', () => {
    expect(paths(preStart(fleetOf(vm('a')), { offPeak: { start: '02:00', end: '02:00' } }))).toEqual([
      'policy: offPeak.end',
    ]);
  });

  test.each(['1969-12', '0000-01', '3000-01'])('release month %s', (month) => {
    expect(paths(preStart(fleetOf(vm('a')), { month }))).toEqual(['policy: month']);
  });

  test('a month before 1970 among the unplanned baselines', () => {
    expect(paths(preStart(fleetOf(vm('a')), { unplannedBaselineMonths: ['2026-02', '1969-02'] }))).toEqual([
      'policy: unplannedBaselineMonths[1]',
    ]);
  });

  test('a maintenance configuration named "constructor" is the fleet\'s own and works', () => {
    const { problems, input } = preStart({
      maintenanceConfigurations: { constructor: weekly() },
      machines: [vm('a', { maintenanceConfiguration: 'constructor' })],
    });
    expect(problems).toEqual([]);
    expect(inlineSpecOf(input!.regions[0]).machines[0].schedule).toMatchObject({
      durationMinutes: 90,
      timeZone: 'UTC',
    });
  });

  test('"__proto__" is refused as a name; inherited names are never found', () => {
    // As YAML and JSON parsers build it: `__proto__` an own key.
    const parsed = parseYaml(`
maintenanceConfigurations:
  __proto__: { startDateTime: "2026-01-03 22:00", duration: "01:30", timeZone: UTC, recurEvery: Week Saturday }
regionPairs:
  __proto__: eastus
machines:
  - { name: a, region: eastus, os: Linux, maintenanceConfiguration: __proto__, tags: { __proto__: x } }
  - { name: b, region: eastus, os: Linux, maintenanceConfiguration: toString }
  - { name: c, region: constructor, os: Linux }
`) as unknown;
    expect(paths(preStart(parsed))).toEqual([
      'fleet: regionPairs.__proto__',
      'fleet: maintenanceConfigurations.__proto__',
      'fleet: machines[0].tags.__proto__',
      'fleet: machines[1].maintenanceConfiguration',
      'fleet: machines[2].region',
    ]);
  });

  test.each([1e308, Infinity, 0, -5])('approvals.expireAfterMinutes: %d', (expireAfterMinutes) => {
    expect(paths(preStart(fleetOf(vm('a')), { approvals: { expireAfterMinutes } }))).toEqual([
      'policy: approvals.expireAfterMinutes',
    ]);
  });
});

describe('numbers are bounded so every timer stays finite', () => {
  test.each<[string, Record<string, unknown>]>([
    ['machines[0].simulation.installSeconds', { simulation: { installSeconds: 1e308 } }],
    ['machines[0].simulation.rebootSeconds', { simulation: { rebootSeconds: Infinity } }],
    ['machines[0].simulation.failInstall', { simulation: { failInstall: 2 ** 53 } }],
    ['machines[0].durations.installMinutes', { durations: { installMinutes: 1e9, rebootMinutes: 1 } }],
    ['machines[0].durations.rebootMinutes', { durations: { installMinutes: 10, rebootMinutes: NaN } }],
  ])('fleet: %s', (path, extra) => {
    expect(paths(preStart(fleetOf(vm('a', extra))))).toEqual([`fleet: ${path}`]);
  });

  test.each<[string, Record<string, unknown>]>([
    ['simulationSpeed', { simulationSpeed: 1e-300 }],
    ['errorBudget', { errorBudget: 1e300 }],
    ['disruptionBudget', { disruptionBudget: 2 ** 60 }],
    ['deadlineDays', { deadlineDays: 1e6 }],
  ])('policy: %s', (path, policy) => {
    expect(paths(preStart(fleetOf(vm('a')), policy))).toEqual([`policy: ${path}`]);
  });
});

describe('what only the plan can tell', () => {
  test('a gate beyond the last phase', () => {
    const r = preStart(fleetOf(vm('a'), vm('b', { region: 'westeurope' })), {
      approvals: { beforePhases: [1, 99] },
    });
    expect(r.problems).toEqual([
      {
        path: 'policy: approvals.beforePhases[1]',
        message: 'phase 99 does not exist: the plan has 2 phases (0 to 1)',
      },
    ]);
  });

  test('a 500-minute install in a 01:30 window, and a 10-minute off-peak window', () => {
    const r = preStart({
      maintenanceConfigurations: { short: weekly() },
      machines: [
        vm('a', { maintenanceConfiguration: 'short', durations: { installMinutes: 500, rebootMinutes: 5 } }),
        vm('b', { maintenanceConfiguration: 'short', durations: { installMinutes: 75, rebootMinutes: 5 } }),
        vm('c', { maintenanceConfiguration: 'short', durations: { installMinutes: 76, rebootMinutes: 5 } }),
      ],
    });
    expect(r.problems).toEqual([
      {
        path: 'fleet: machines[0]',
        message:
          'its 90-minute window (maintenance configuration "short") cannot hold one install: 500 minutes plus 15 minutes kept for the reboot',
      },
      {
        path: 'fleet: machines[2]',
        message:
          'its 90-minute window (maintenance configuration "short") cannot hold one install: 76 minutes plus 15 minutes kept for the reboot',
      },
    ]);
    expect(paths(preStart(fleetOf(vm('d')), { offPeak: { start: '01:00', end: '01:10' } }))).toEqual([
      'fleet: machines[0]',
    ]);
    // The demo's always-open windows have no length to check.
    expect(
      preStart(fleetOf(vm('d')), { offPeak: { start: '01:00', end: '01:10' }, windows: 'always' }).problems,
    ).toEqual([]);
  });

  test('a script path with a space is refused; arguments go as a list', () => {
    const bad = preStart({
      maintenanceConfigurations: { w: weekly({ preScript: '/opt/my tools/drain.sh' }) },
      machines: [vm('a', { maintenanceConfiguration: 'w' })],
    });
    expect(bad.problems).toEqual([
      {
        path: 'fleet: maintenanceConfigurations.w.preScript',
        message:
          'a script path cannot contain spaces: write { path: /the/script, args: [...] } for arguments',
      },
    ]);
    const good = preStart({
      maintenanceConfigurations: {
        w: weekly({
          preScript: { path: '/opt/drain.sh', args: ['--for', 'two words'] },
          postScript: '/opt/undrain.sh',
        }),
      },
      machines: [vm('a', { maintenanceConfiguration: 'w' })],
    });
    expect(good.problems).toEqual([]);
    expect(inlineSpecOf(good.input!.regions[0]).machines[0]).toMatchObject({
      preScript: '/opt/drain.sh',
      postScript: '/opt/undrain.sh',
      scriptArgs: { pre: ['--for', 'two words'] },
    });
  });

  test('the rollout ID and the starter are checked too', () => {
    const fleet = parseFleet(fleetOf(vm('a')));
    const policy = parsePolicy({});
    if (!fleet.ok || !policy.ok) throw new Error('fixtures are valid');
    const r = prepareRolloutInput({
      rolloutId: '../x',
      startedBy: '<svg onload=alert(1)>',
      fleet: fleet.value,
      policy: policy.value,
      now: new Date('2026-11-20T12:00:00Z'),
    });
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['rolloutId', 'startedBy']);
  });
});

describe('problem output is bounded', () => {
  test('20,000 duplicate names: the first 50 problems and a count', () => {
    const r = preStart(fleetOf(...Array.from({ length: 20_000 }, () => vm('same'))));
    expect(r.problems).toHaveLength(19_999);
    const lines = formatProblems(r.problems);
    expect(lines).toHaveLength(MAX_PROBLEMS_SHOWN + 1);
    expect(lines[0]).toBe('fleet: machines[1].name: duplicate name "same" (also machines[0])');
    expect(lines[MAX_PROBLEMS_SHOWN]).toBe('… and 19949 more problems (19999 in all)');
  });

  test('control characters are escaped and long values cut', () => {
    const name = `evil\u001b[2J\r\n${'x'.repeat(5000)}`;
    const lines = formatProblems(preStart(fleetOf(vm(name), vm(name))).problems);
    for (const line of lines) {
      // eslint-disable-next-line no-control-regex
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(line.length).toBeLessThan(700);
    }
    expect(lines.join('\n')).toContain('evil\\u001b[2J\\r\\n');
    expect(lines.join('\n')).toContain('… (cut)');
  });
});

test('a maintenance window before 1970 is refused as such', () => {
  const r = preStart({
    maintenanceConfigurations: { old: weekly({ startDateTime: '1969-12-31 22:00' }) },
    machines: [vm('a', { maintenanceConfiguration: 'old' })],
  });
  expect(r.problems).toEqual([
    {
      path: 'fleet: maintenanceConfigurations.old.startDateTime',
      message: '"1969-12-31 22:00" is before 1970: dates start at 1970-01-01',
    },
  ]);
});

describe('bake times and health signals in the policy', () => {
  const twoRegions = fleetOf(
    vm('a', { tags: { service: 'web' } }),
    vm('w', { region: 'westus', tags: { service: 'api' } }),
  );
  const phases = [['eastus'], ['westus']];
  const problemsOf = (policy: unknown) => preStart(twoRegions, policy).problems;

  test('one number bakes every phase; a list gives each explicit phase its own; 0 (the default) bakes none', () => {
    expect(preStart(twoRegions, { phases, bakeMinutes: 45 }).input!.settings.bakeMinutes).toEqual([45, 45]);
    expect(preStart(twoRegions, { phases, bakeMinutes: [60, 0] }).input!.settings.bakeMinutes).toEqual([
      60, 0,
    ]);
    expect(preStart(twoRegions, {}).input!.settings.bakeMinutes).toBeUndefined();
  });

  test.each([
    [
      { bakeMinutes: [60, 0] },
      'policy: bakeMinutes',
      'a list of bake times needs explicit phases (or give one number for every phase)',
    ],
    [
      { phases, bakeMinutes: [60] },
      'policy: bakeMinutes',
      'gives 1 bake time(s) for 2 phase(s): give one per phase',
    ],
    [{ bakeMinutes: -5 }, 'policy: bakeMinutes', undefined],
    [{ phases, bakeMinutes: [60, 1.5] }, 'policy: bakeMinutes', undefined],
  ])('%j is refused at %s', (policy, path, message) => {
    const problems = problemsOf(policy);
    expect(problems.map((p) => p.path)).toContain(path);
    if (message) expect(problems.find((p) => p.path === path)!.message).toBe(message);
  });

  test('health signals: alerts or a query, never both; each region with its services from the capacity tag', () => {
    const prometheus = { url: 'http://prometheus:9090', alerts: ['HighErrorRate'] };
    const input = preStart(twoRegions, {
      health: { prometheus },
      serviceCapacity: { tag: 'service', minAvailable: 0 },
    }).input!;
    expect(input.settings.health).toEqual({
      prometheus: {
        ...prometheus,
        labels: { region: 'region', service: 'service' },
        intervalSeconds: 60,
        timeoutSeconds: 10,
      },
      services: { eastus: ['web'], westus: ['api'] },
    });
    const both = problemsOf({ health: { prometheus: { ...prometheus, query: 'up == 0' } } });
    expect(both).toEqual([
      { path: 'policy: health.prometheus', message: 'give exactly one of alerts or query' },
    ]);
  });
});

describe("Temporal's size limits are checked before anything starts", () => {
  // A health command of `words` arguments of 4,000 characters: about 4 KB of spec per word.
  const ssh = (words: number) => ({
    driver: 'ssh',
    ssh: {
      host: 'db1.example.com',
      user: 'patch',
      keyRef: { env: 'OFFPEAK_KEY' },
      hostKeySha256: `SHA256:${'A'.repeat(43)}`,
      health: { command: Array.from({ length: words }, () => 'x'.repeat(4000)) },
    },
  });
  const machines = (n: number, words: number) =>
    Array.from({ length: n }, (_, i) => vm(`m${String(i).padStart(3, '0')}`, ssh(words)));

  test('a step whose specs a slice cannot carry is refused, with the way out', () => {
    // 60 machines of about 32 KB in one step: about 1.9 MB, over the 1.5 MB a slice holds.
    const refused = preStart(fleetOf(...machines(60, 8)), { disruptionBudget: '100%' });
    expect(paths(refused)).toEqual(['policy: disruptionBudget']);
    expect(refused.problems[0].message).toMatch(
      /^eastus's step "standalone" \(60 machines\) would carry 1\.9 MB of machine specs, more than one slice holds \(1\.5 MB: Temporal refuses payloads over 2 MB\): lower the budget/,
    );
    // Steps of 40 fit. Both steps would fit one slice by count (500), not by bytes: each has its own.
    const accepted = preStart(fleetOf(...machines(60, 8)), { disruptionBudget: 40 });
    expect(accepted.problems).toEqual([]);
    const [region] = accepted.input!.regions;
    expect(region.slices.map((ref) => ref.machines)).toEqual([40, 20]);
    for (const ref of region.slices)
      expect(Buffer.byteLength(JSON.stringify((ref as InlineSliceRef).inline))).toBeLessThanOrEqual(
        SLICE_BYTES,
      );
  });

  test("a machine whose attempt's input would be too large is named, with its largest part", () => {
    const refused = preStart(fleetOf(vm('small'), ...machines(2, 17)));
    expect(paths(refused)).toEqual(['fleet: machines[1]', 'fleet: machines[2]']);
    expect(refused.problems[0].message).toMatch(
      /^its machine attempt's input would take 6\d KB, more than 64 KB \(its region's history holds one per attempt\): the largest part is ssh \(6\d KB\)$/,
    );
  });

  test('settings too large for every region to carry are refused', () => {
    const masks = Array.from({ length: 1000 }, (_, i) => `package-${i}-${'x'.repeat(240)}`);
    const refused = preStart(fleetOf(vm('a')), {
      packageNameMasksToInclude: masks,
      packageNameMasksToExclude: masks,
    });
    expect(paths(refused)).toEqual(['policy', 'fleet: machines[0]']);
    expect(refused.problems[0].message).toMatch(
      /^the rollout's settings would take 4\d\d KB, more than 256 KB \(every region's input carries them\): the largest part is selection \(4\d\d KB\)$/,
    );
    // Every machine attempt carries the selection: the machine is named too, with the part to blame.
    expect(refused.problems[1].message).toMatch(/the largest part is selection \(4\d\d KB\)$/);
  });
});
