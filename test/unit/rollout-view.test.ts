import { shortReason } from '../../client/rollout-view';
import { nextCommand, serverLines } from '../../client/watch';
import type { RolloutReport } from '../../workflows/messages';

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
