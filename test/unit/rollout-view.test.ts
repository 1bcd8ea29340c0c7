import { shortReason } from '../../client/rollout-view';
import { nextCommand, serverLines } from '../../client/watch';
import { progressLines } from '../../client/progress';
import type { RolloutReport, RolloutSummary } from '../../workflows/messages';

describe('what status and watch say when the workflow cannot answer', () => {
  test('a query deadline, a server that knows no worker polls, a refused connection: one short reason each', () => {
    expect(shortReason({ code: 4 }, 3000)).toBe('no worker answered within 3 s');
    expect(shortReason({ cause: { code: 1, details: 'Call cancelled' } }, 10_000)).toBe(
      'no worker answered within 10 s',
    );
    expect(
      shortReason({
        cause: { code: 9, details: 'no poller seen for task queue recently, worker may be down' },
      }),
    ).toBe('no poller seen for task queue recently, worker may be down');
    expect(
      shortReason(
        new Error(
          '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7233. Resolution note: ',
        ),
      ),
    ).toBe('ECONNREFUSED 127.0.0.1:7233');
  });

  test("the server's view names the execution status, the summary and the memo's status when there is one", () => {
    const server = {
      workflowId: 'offpeak/r',
      execution: 'RUNNING',
      startTime: '2026-11-10T00:00:00.000Z',
      closeTime: null,
      summary: 'Offpeak rollout r: 4 machine(s)',
      memoStatus: { status: 'WaitingForApproval' as const, waitingFor: 'gate phase-1' },
    };
    expect(serverLines('r', server, 'no worker answered within 3 s')).toEqual([
      'Rollout r: workflow RUNNING (no worker answered within 3 s; showing what the server keeps, without running workflow code)',
      '  started 2026-11-10T00:00:00.000Z',
      '  Offpeak rollout r: 4 machine(s)',
      '  last kept status: WaitingForApproval (waiting for gate phase-1)',
    ]);
    expect(serverLines('r', { ...server, memoStatus: null, summary: null }, 'x')).toHaveLength(2);
  });

  test('the next command: approve the waiting gate, resume a halt, read the report, or start a worker', () => {
    const report = (over: Partial<RolloutReport>) => ({ status: 'Completed', ...over }) as RolloutReport;
    expect(nextCommand(report({ status: 'WaitingForApproval', openGate: 'phase-1' }), 'r')).toBe(
      'offpeak rollout approve r --gate phase-1',
    );
    expect(nextCommand(report({ status: 'Halted' }), 'r')).toMatch(/^offpeak rollout resume r --override/);
    expect(nextCommand(report({}), 'r')).toBe('offpeak rollout report r');
    expect(nextCommand(undefined, 'r')).toMatch(/offpeak worker/);
  });
});

describe('what status and watch say of failed machines and bakes', () => {
  const summary = (over: Partial<RolloutSummary>): RolloutSummary => ({
    rolloutId: 'r',
    status: 'Halted',
    startedBy: 'carol',
    month: '2026-11',
    monthType: 'baseline',
    deadline: '2026-12-11T00:00:00.000Z',
    errors: { count: 2, allowed: 1 },
    planned: 4,
    succeeded: 1,
    attempts: 3,
    phases: [{ index: 0, regions: ['centralus'], status: 'Running' }],
    regions: [{ region: 'centralus', phase: 0, total: 4, done: 3, succeeded: 1, notSucceeded: 2, errors: 2 }],
    gates: [],
    ...over,
  });

  test('names the failed machines with their outcomes, before the progress bars', () => {
    const lines = progressLines(
      summary({
        reason:
          'error budget exceeded in phase 0: 2 error(s), at most 1 allowed: c1 InstallFailed, c3 Unhealthy',
        failed: [
          { name: 'c1', region: 'centralus', phase: 0, outcome: 'InstallFailed' },
          { name: 'c3', region: 'centralus', phase: 0, outcome: 'Unhealthy' },
        ],
      }),
    );
    // The reason as the workflow gives it (no waitingFor carries it here), then the failed machines.
    expect(lines.slice(1, 5)).toEqual([
      '  reason: error budget exceeded in phase 0: 2 error(s), at most 1 allowed: c1 InstallFailed, c3 Unhealthy',
      '  failed machines (the first 10 of each phase):',
      '    c1  InstallFailed    centralus, phase 0',
      '    c3  Unhealthy        centralus, phase 0',
    ]);
    expect(lines[5]).toMatch(/^ {2}phase 0 /);
  });

  test('says the bake and its end; no failed section without failures', () => {
    const lines = progressLines(
      summary({ status: 'Running', baking: 'Baking phase 0 until 03:40Z', failed: [] }),
    );
    expect(lines[0]).toBe('Rollout r: Running, Baking phase 0 until 03:40Z');
    expect(lines.some((l) => l.includes('failed machines'))).toBe(false);
  });

  test("the server's view names the failed machines its memo kept", () => {
    const server = {
      workflowId: 'offpeak/r',
      execution: 'RUNNING',
      startTime: '2026-11-10T00:00:00.000Z',
      closeTime: null,
      summary: null,
      memoStatus: {
        status: 'Halted' as const,
        failed: [{ name: 'c1', region: 'centralus', phase: 0, outcome: 'InstallFailed' as const }],
      },
    };
    expect(serverLines('r', server, 'x')).toContain('    c1  InstallFailed    centralus, phase 0');
  });
});
