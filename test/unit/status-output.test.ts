import {
  failedMachinesLine,
  failuresFirst,
  FAILED_ATTEMPT_OUTCOMES,
  latestFailures,
  mayHaveFailures,
} from '../../client/failures';
import { progressLines, statusJson, summaryTable } from '../../client/progress';
import { serverLines } from '../../client/watch';
import { ATTEMPT_OUTCOMES, OUTCOME, type AttemptOutcome } from '../../domain/outcomes';
import { syntheticReport } from '../../scripts/large-report';
import type { MachineReport, RolloutReport, RolloutSummary } from '../../workflows/messages';

const halted: RolloutSummary = {
  rolloutId: 'nov-2026',
  status: 'Halted',
  reason: 'phase 0: error budget exceeded: 2 error(s), at most 0 allowed: c1 (InstallFailed), c2 (Unhealthy)',
  waitingFor: 'an operator to resume with an override, or cancel (phase 0 failed)',
  startedBy: 'carol',
  month: '2026-11',
  monthType: 'baseline',
  deadline: '2026-11-24T22:00:00.000Z',
  errors: { count: 2, allowed: 0 },
  planned: 9,
  succeeded: 3,
  attempts: 6,
  phases: [
    { index: 0, regions: ['westcentralus'], status: 'Halted', startedAt: '2026-11-10T22:00:00.000Z' },
    { index: 1, regions: ['eastus', 'westus'], status: 'Pending' },
  ],
  regions: [
    { region: 'westcentralus', phase: 0, total: 5, done: 5, succeeded: 3, notSucceeded: 2, errors: 2 },
    { region: 'eastus', phase: 1, total: 3, done: 0, succeeded: 0, notSucceeded: 0, errors: 0 },
    { region: 'westus', phase: 1, total: 1, done: 0, succeeded: 0, notSucceeded: 0, errors: 0 },
  ],
  gates: [],
};
const failed = {
  machines: [
    {
      name: 'c1',
      region: 'westcentralus',
      phase: 0,
      attempt: 1,
      outcome: OUTCOME.InstallFailed,
      detail: 'KB1 failed',
    },
    { name: 'c2', region: 'westcentralus', phase: 0, attempt: 2, outcome: OUTCOME.Unhealthy },
  ],
  total: 2,
};

describe('failures first', () => {
  test('a failed attempt outcome is every outcome but success and skipped, from the catalogue', () => {
    expect(FAILED_ATTEMPT_OUTCOMES).toEqual(
      ATTEMPT_OUTCOMES.filter((o) => o !== OUTCOME.Succeeded && o !== OUTCOME.Skipped),
    );
  });

  test('orders failed machines first, then the rest in their order, excluded machines last', () => {
    const m = (name: string, outcome: MachineReport['outcome']) => ({ name, outcome });
    const ordered = failuresFirst([
      m('x', 'Excluded'),
      m('a', 'Succeeded'),
      m('b', 'Unhealthy'),
      m('c', 'NotStarted'),
      m('d', 'Pending'),
      m('e', 'Skipped'),
    ]);
    expect(ordered.map((x) => x.name)).toEqual(['b', 'd', 'a', 'c', 'e', 'x']);
  });

  test('a machine counts as failed by its latest failed attempt, unless a later attempt succeeded', () => {
    const f = (name: string, attempt: number, outcome: AttemptOutcome = OUTCOME.Pending, phase = 0) => ({
      name,
      region: 'eastus',
      phase,
      attempt,
      outcome,
    });
    const latest = latestFailures(
      [f('b', 1), f('b', 2, OUTCOME.InstallFailed), f('a', 1, OUTCOME.Unhealthy, 1), f('z', 1)],
      [
        { name: 'z', attempt: 2 },
        { name: 'b', attempt: 1 },
      ],
    );
    expect(latest.map((x) => `${x.name}#${x.attempt} ${x.outcome}`)).toEqual([
      'b#2 InstallFailed',
      'a#1 Unhealthy',
    ]);
  });

  test('names the first ten and counts the rest', () => {
    const many = {
      machines: Array.from({ length: 12 }, (_, i) => ({
        name: `m${i}`,
        region: 'r',
        attempt: 1,
        outcome: OUTCOME.Errored,
      })),
      total: 1500,
      capped: true,
    };
    const line = failedMachinesLine(many);
    expect(line.startsWith('m0 (Errored), m1 (Errored)')).toBe(true);
    expect(line).toContain('m9 (Errored) and 1490+ more');
    expect(line).not.toContain('m10');
    expect(failedMachinesLine(failed)).toBe('c1 (InstallFailed: KB1 failed), c2 (Unhealthy)');
    expect(mayHaveFailures(halted)).toBe(true);
    expect(mayHaveFailures({ ...halted, errors: { count: 0, allowed: 0 }, regions: [] })).toBe(false);
  });
});

describe('status', () => {
  test('names the failed machines and gives the halt reason as the workflow gives it', () => {
    const lines = progressLines(halted, failed);
    expect(lines[0]).toBe(`Rollout nov-2026: Halted (waiting for ${halted.waitingFor})`);
    expect(lines[1]).toBe(`  reason: ${halted.reason}`);
    expect(lines[2]).toBe('  failed: c1 (InstallFailed: KB1 failed), c2 (Unhealthy)');
    expect(lines).toContain('  phase 0 [########################] 5/5 Halted');
  });

  test('--output json carries every count the table shows, per phase and per region, and the failed machines', () => {
    const lines = progressLines(halted, failed);
    const json = statusJson(halted, failed);
    // A summary from older code names no failed machines: visibility's, with their total.
    expect(json.failed).toEqual(failed.machines);
    expect(json).toMatchObject({ failedTotal: 2 });
    for (const p of json.phases) {
      const line = lines.find((l) => l.startsWith(`  phase ${p.index} `))!;
      expect(line).toContain(`${p.done}/${p.total} ${p.status}`);
    }
    expect(
      json.phases.map(({ total, done, succeeded, notSucceeded, errors }) => ({
        total,
        done,
        succeeded,
        notSucceeded,
        errors,
      })),
    ).toEqual([
      { total: 5, done: 5, succeeded: 3, notSucceeded: 2, errors: 2 },
      { total: 4, done: 0, succeeded: 0, notSucceeded: 0, errors: 0 },
    ]);
    // Every number of the table is a count of the JSON (bars aside).
    const numbers = lines
      .join('\n')
      .replace(/\[[#.]+\]/g, '')
      .match(/\d+/g)!
      .map(Number);
    const counts = new Set<number>();
    const walk = (v: unknown): void => {
      if (typeof v === 'number') counts.add(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk({ ...json, reason: undefined, waitingFor: undefined, month: undefined, rolloutId: undefined });
    const text = `${halted.reason} ${halted.waitingFor} ${halted.rolloutId}`;
    for (const n of numbers) expect(counts.has(n) || text.includes(String(n))).toBe(true);
  });

  test('a summary that names its failed machines is shown and printed as it is, visibility aside', () => {
    const named = {
      ...halted,
      failed: [{ name: 'c1', region: 'westcentralus', phase: 0, outcome: OUTCOME.InstallFailed }],
    };
    const lines = progressLines(named, failed);
    expect(lines.join('\n')).toMatch(
      /failed machines \(the first 10 of each phase\):\n {4}c1 {2}InstallFailed/,
    );
    expect(lines.some((l) => l.startsWith('  failed: '))).toBe(false);
    const json = statusJson(named, failed);
    expect(json.failed).toEqual(named.failed);
    expect(json).not.toHaveProperty('failedTotal');
  });

  test("without a worker, the memo's summary gives the same progress lines", () => {
    const server = {
      workflowId: 'offpeak/nov-2026',
      execution: 'RUNNING',
      startTime: '2026-11-10T00:00:00.000Z',
      closeTime: null,
      summary: null,
      memoStatus: halted,
    };
    const lines = serverLines('nov-2026', server, 'no worker has polled', failed);
    expect(lines[0]).toMatch(
      /^Rollout nov-2026: workflow RUNNING \(no worker has polled; showing what the server keeps/,
    );
    expect(lines.slice(2)).toEqual(
      progressLines(halted, failed).map((l, i) => (i === 0 ? `  last kept status: ${l}` : `  ${l}`)),
    );
  });
});

describe('the table report', () => {
  const report: RolloutReport = syntheticReport(600, 50);
  const text = summaryTable(report);

  test('shows the phases with their counts, then the failed machines by name, failures first', () => {
    expect(text).toMatch(
      /^phase\s+regions\s+status\s+started\s+finished\s+done\s+succeeded\s+not succeeded\s+errors$/m,
    );
    expect(text).toMatch(
      /^0\s+westcentralus\s+Succeeded\s+2026-11-10T21:48:00.000Z\s+2026-11-11T18:00:00.000Z\s+100\/100/m,
    );
    const failedNames = report.machines.filter((m) => m.outcome !== 'Succeeded').map((m) => m.name);
    expect(text).toContain(`Failed machines (${failedNames.length}):`);
    const section = text.slice(text.indexOf('Failed machines'));
    for (const name of failedNames)
      expect(section).toMatch(
        new RegExp(`^${name}\\s+\\S+\\s+\\d\\s+zone \\d batch \\d+\\s+[A-Za-z]+\\s+1`, 'm'),
      );
  });

  test('lists the attempts of failed and retried machines with their disruptive spans beyond 200 attempts', () => {
    const attempts = text.slice(text.indexOf('Attempts of failed and retried machines'));
    const retried = report.machines.find((m) => m.attempts.length > 1)!;
    const [first, second] = retried.attempts;
    expect(attempts).toMatch(
      new RegExp(`^${retried.name}\\s+1\\s+Pending\\s+${first.startedAt}\\s+${first.finishedAt}`, 'm'),
    );
    expect(attempts).toMatch(
      new RegExp(`^${retried.name}\\s+2\\s+Succeeded\\s+${second.startedAt}\\s+${second.finishedAt}`, 'm'),
    );
    // The failed machines' attempts come first.
    const firstRow = attempts.split('\n')[3];
    expect(report.machines.find((m) => firstRow.startsWith(`${m.name} `))?.outcome).not.toBe('Succeeded');
  });

  test('a small rollout lists every attempt', () => {
    const small = summaryTable(syntheticReport(30, 10));
    expect(small).toContain('Attempts (31; started and finished: the disruptive span');
    // Every attempt that installed something has its span; the one that installed nothing has none.
    expect(small.match(/^vm-\S+\s+\d\s+[A-Za-z]+\s+20\d\d-\S+\s+20\d\d-/gm)).toHaveLength(30);
    expect(small).toMatch(/^vm-eastus-00000\s+1\s+Succeeded\s+nothing to install$/m);
  });
});
