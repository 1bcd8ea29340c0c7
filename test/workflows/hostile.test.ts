import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { REFUSALS_KEPT } from '../../workflows/rollout-state';
import { approveUpdate, gateDecisionSignal, statusQuery } from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
timeSkippingServer('file', (e) => (env = e));

const HUGE = 'x'.repeat(200_000);

test('a rollout stays manageable after 1,000 hostile messages: bounded records, every answer at once, then it completes', async () => {
  const input = rolloutInputOf({
    rolloutId: 'hostile',
    startedBy: 'carol',
    fleet: { machines: [vm('h1'), vm('h2', { region: 'westus' })] },
    policy: { windows: 'always', approvals: { beforePhases: [0], approvers: ['alice'] } },
    now: new Date(),
  });
  const report = await withWorker(env, driversOf({ stateDir: tempDir('hostile') }), async () => {
    const handle = await startRollout(env, input);
    await waitForStatus(handle, (r) => r.openGate === 'phase-0', 'gate phase-0 open');

    // 600 signals: oversized comments, control characters, unknown gates, strangers (the UI's path).
    const signals = Array.from({ length: 600 }, (_, i) => {
      const kinds = [
        { gate: 'phase-0', decision: 'approve' as const, by: 'alice', comment: HUGE.slice(0, 2000 + i) },
        { gate: 'phase-0', decision: 'approve' as const, by: 'alice\u0007\u001b[2J' },
        { gate: `phase-${i}`, decision: 'approve' as const, by: `mallory-${i}` },
        { gate: 'phase-0', decision: 'approve' as const, by: `<svg onload=alert(${i})>` },
      ];
      return kinds[i % kinds.length];
    });
    for (let i = 0; i < signals.length; i += 50)
      await Promise.all(signals.slice(i, i + 50).map((s) => handle.signal(gateDecisionSignal, s)));
    // 400 updates: half malformed (refused by the validator, never recorded), half well-formed strangers.
    let invalid = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const request =
        i % 2 === 0 ? { gate: 'phase-0', by: 'mallory', comment: HUGE } : { gate: 'phase-0', by: `eve-${i}` };
      try {
        const answer = await steer(handle, approveUpdate, request);
        if (!answer.accepted) refused++;
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        invalid++;
      }
    }
    expect({ invalid, refused }).toEqual({ invalid: 200, refused: 200 });

    // Still manageable: the status answers, small, with the records bounded.
    const status = await handle.query(statusQuery);
    expect(status.status).toBe('WaitingForApproval');
    expect(status.gates.length).toBeLessThanOrEqual(REFUSALS_KEPT);
    // Recorded as refusals: the signals to unknown gates (150; the other signals are malformed and dropped
    // unrecorded) and the well-formed updates of strangers (200).
    expect(status.gates.length + (status.refusalsDropped ?? 0)).toBe(150 + 200);
    expect(Buffer.byteLength(JSON.stringify(status))).toBeLessThan(64 * 1024);
    expect(JSON.stringify(status)).not.toContain('\u001b');

    expect(await steer(handle, approveUpdate, { gate: 'phase-0', by: 'alice', comment: 'go' })).toEqual({
      accepted: true,
    });
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Completed');
  expect(report.machines.map((m) => m.outcome)).toEqual(['Succeeded', 'Succeeded']);
  expect(report.gates.at(-1)).toMatchObject({ decision: 'approved', by: 'alice', comment: 'go' });
});
