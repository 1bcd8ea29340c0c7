import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the real CLI (the package's bin, built by `npm test`) and returns what a user sees. */
function offpeak(...args: string[]) {
  const root = join(__dirname, '..', '..');
  const run = spawnSync(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const fixture = (name: string) => join('test', 'fixtures', 'fleets', name);

describe('offpeak CLI: bad input gets one clear line per problem and exit code 2', () => {
  test('every problem of an invalid fleet at once, as path: message, without a stack trace', () => {
    const { code, stderr, stdout } = offpeak('plan', '--fleet', fixture('invalid.yaml'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    const at = (path: string) => lines.find((l) => l.startsWith(`${fixture('invalid.yaml')}: ${path}`));
    expect(at('machines[0]: a machine cannot have both "zone" and "availabilitySet"')).toBeDefined();
    expect(at('machines[1].name: duplicate name "web-1"')).toBeDefined();
    expect(at('machines[2].updateDomain: is only valid with "availabilitySet"')).toBeDefined();
    expect(at('machines[3].timeZone: unknown time zone "Mars/Olympus_Mons"')).toBeDefined();
    expect(at('machines[4].patchMode:')).toBeDefined();
    expect(at('machines[5].region: unknown region "basement-dc"')).toBeDefined();
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test('a malformed file names the file and the problem', () => {
    const { code, stderr } = offpeak('plan', '--fleet', fixture('malformed.yaml'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^--fleet: test\/fixtures\/fleets\/malformed\.yaml is not valid YAML or JSON: /);
  });

  test('an unreadable file names the file', () => {
    const { code, stderr } = offpeak('plan', '--fleet', fixture('does-not-exist.yaml'));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('--fleet: cannot read test/fixtures/fleets/does-not-exist.yaml: ENOENT');
  });

  test('a bad policy value names its field', () => {
    const { code, stderr } = offpeak(
      'plan',
      '--fleet',
      fixture('small.yaml'),
      '--policy',
      join('test', 'fixtures', 'bad-policy.yaml'),
    );
    expect(code).toBe(2);
    expect(stderr).toContain('rebootSetting:');
    expect(stderr).toContain('errorBudget:');
  });

  test('an unknown flag and an unknown output format exit 2', () => {
    expect(offpeak('plan', '--fleet', fixture('small.yaml'), '--colour').code).toBe(2);
    const bad = offpeak('plan', '--fleet', fixture('small.yaml'), '--output', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'xml' is invalid");
  });

  test('a bad rollout ID is refused before anything is started', () => {
    const { code, stderr } = offpeak(
      'rollout',
      'start',
      '--fleet',
      fixture('small.yaml'),
      '--id',
      'no spaces please',
    );
    expect(code).toBe(2);
    expect(stderr).toContain('--id: must start with a letter or digit');
  });
});

describe('offpeak plan and rollout start share one validation (issue 15)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'offpeak-cli-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  test('a gate beyond the last phase: plan and start both refuse it, start before contacting Temporal', () => {
    const policy = file('gate-99.yaml', 'approvals: { beforePhases: [99] }\n');
    for (const command of [['plan'], ['rollout', 'start']]) {
      const { code, stderr } = offpeak(...command, '--fleet', fixture('small.yaml'), '--policy', policy);
      expect(code).toBe(2);
      expect(stderr.trim()).toBe(
        'policy: approvals.beforePhases[0]: phase 99 does not exist: the plan has 2 phases (0 to 1)',
      );
    }
  });

  test('a gate expiring after 1e308 minutes is refused (it made the workflow task fail forever)', () => {
    const policy = file('expire.yaml', 'approvals: { beforePhases: [0], expireAfterMinutes: 1e308 }\n');
    const { code, stderr } = offpeak(
      'rollout',
      'start',
      '--fleet',
      fixture('small.yaml'),
      '--policy',
      policy,
    );
    expect(code).toBe(2);
    expect(stderr).toContain(`${policy}: approvals.expireAfterMinutes: Too big`);
  });

  test('20,000 duplicate names print 50 problems and a count', () => {
    const fleet = file(
      'dupes.yaml',
      `machines:\n${'  - { name: same, region: eastus, os: Linux }\n'.repeat(20_000)}`,
    );
    const { code, stderr } = offpeak('plan', '--fleet', fleet);
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(51);
    expect(lines[50]).toBe('… and 19949 more problems (19999 in all)');
  });
});

describe('operator messages are bounded before anything is contacted', () => {
  test.each([
    [
      'a 2,000-character comment',
      ['approve', 'r1', '--gate', 'phase-1', '--by', 'alice', '--comment', 'x'.repeat(2000)],
      '--comment: must be at most 1024 bytes',
    ],
    [
      'markup as the approver',
      ['approve', 'r1', '--gate', 'phase-1', '--by', '<svg onload=alert(1)>'],
      '--by: must start with a letter or digit',
    ],
    [
      'an escape sequence in a reason',
      ['cancel', 'r1', '--by', 'alice', '--reason', 'stop\u001b[2J'],
      '--reason: must not contain control characters',
    ],
  ])('%s', (_name, args, problem) => {
    const { code, stderr } = offpeak('rollout', ...args);
    expect(code).toBe(2);
    expect(stderr).toContain(problem);
    expect(stderr).not.toContain('cannot reach Temporal');
  });
});

describe('offpeak plan', () => {
  test('prints a readable plan and excludes Manual machines with a reason', () => {
    const { code, stdout } = offpeak('plan', '--fleet', fixture('small.yaml'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/Rollout plan: 2 phases, 2 regions, 4 machines to patch, 1 excluded/);
  });

  test('JSON output carries phases, every machine once, the estimate and the lower bound', () => {
    const { code, stdout } = offpeak('plan', '--fleet', fixture('small.yaml'), '--output', 'json');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.phases.map((p: { index: number }) => p.index)).toEqual([0, 1]);
    expect(plan.machines.map((m: { name: string }) => m.name)).toEqual(['e1', 'e2', 'w1', 'w2', 'm1']);
    expect(plan.machines.find((m: { name: string }) => m.name === 'm1').excluded.reason).toBe(
      'ManualPatchMode',
    );
    expect(plan.estimateMinutes).toBeGreaterThanOrEqual(plan.lowerBoundMinutes);
  });
});

describe('offpeak rollout commands against no server', () => {
  test('an unreachable Temporal is an operation failure (exit 1) with what to do', () => {
    const { code, stderr } = offpeak('rollout', 'status', 'some-rollout');
    expect(code).toBe(1);
    expect(stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(stderr).toContain('offpeak dev-server');
  });
});
