import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs the real CLI (the package's bin, built by `npm test`) and returns what a user sees. */
function offpeak(...args: string[]) {
  const root = join(__dirname, '..', '..');
  const run = spawnSync(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const small = join('test', 'fixtures', 'fleets', 'small.yaml');

describe('offpeak plan: the calendar forecast', () => {
  test('JSON carries the forecast exactly as documented, instants in ISO-8601 UTC', () => {
    const { code, stdout } = offpeak(
      'plan',
      '--fleet',
      small,
      '--start',
      '2026-12-08T12:00Z',
      '--output',
      'json',
    );
    expect(code).toBe(0);
    const { forecast } = JSON.parse(stdout);
    expect(forecast).toEqual({
      startAt: '2026-12-08T12:00:00.000Z',
      finishAt: '2026-12-09T00:00:00.000Z',
      lowerBoundFinishAt: '2026-12-09T00:00:00.000Z',
      // Started on Patch Tuesday: December's release, 30 days.
      deadline: '2027-01-07T23:59:59.000Z',
      phases: [
        { index: 0, startAt: '2026-12-08T12:00:00.000Z', finishAt: '2026-12-08T22:40:00.000Z' },
        { index: 1, startAt: '2026-12-08T22:40:00.000Z', finishAt: '2026-12-09T00:00:00.000Z' },
      ],
      regions: [
        { region: 'eastus', startAt: '2026-12-08T12:00:00.000Z', finishAt: '2026-12-08T22:40:00.000Z' },
        { region: 'westus', startAt: '2026-12-08T22:40:00.000Z', finishAt: '2026-12-09T00:00:00.000Z' },
      ],
      late: [],
    });
  });

  test('a start before Patch Tuesday belongs to the previous release and its deadline', () => {
    const { stdout } = offpeak('plan', '--fleet', small, '--start', '2026-12-07T12:00Z', '--output', 'json');
    expect(JSON.parse(stdout).forecast.deadline).toBe('2026-12-10T23:59:59.000Z');
  });

  test('the table names the finish, the bound, the deadline and says the estimate is patching time only', () => {
    const { code, stdout } = offpeak('plan', '--fleet', small, '--start', '2026-12-08T12:00Z');
    expect(code).toBe(0);
    expect(stdout).toContain(
      'Patching time only: 2h 00m (lower bound 2h 00m); no windows, approvals or retries',
    );
    expect(stdout).toContain(
      'Finishes 2026-12-09 00:00 UTC, lower bound 2026-12-09 00:00 UTC, deadline 2027-01-07 23:59 UTC',
    );
    expect(stdout).toContain('Late: none, every machine is patched before the deadline');
  });

  test.each([
    [['--start', 'tomorrow'], '--start: "tomorrow" is not an ISO-8601 instant'],
    [['--start', '2026-12-08T12:00'], '--start: "2026-12-08T12:00" is not an ISO-8601 instant'],
    [['--assume-approval', '4 hours'], '--assume-approval: "4 hours" is not a duration'],
  ])('bad %j: one line naming the option, exit 2, nothing printed', (args, message) => {
    const { code, stdout, stderr } = offpeak('plan', '--fleet', small, ...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(message);
  });
});
