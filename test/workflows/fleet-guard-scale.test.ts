import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LeaseBook, TEMPORAL_PAYLOAD_LIMIT_BYTES } from '../../domain/lease-book';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { FLEET_GUARD_ID, leasesQuery, releaseLeaseSignal } from '../../workflows/messages';
import { guardRequests } from '../../scripts/bench-guard';
import { timeSkippingServer } from '../support/server-hooks';
import { driversOf, waitUntil, withWorker } from '../support/workflow-harness';
import { tempDir } from '../support/rollouts';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

/**
 * The scale of issue 10: 100,000 machines in 1,000 leases, held and waiting (the requests of
 * scripts/bench-guard.ts). One object per machine, the book was ~12 MB and the guard's continue-as-new
 * was refused by the payload limit; carried compactly it continues as new with every lease.
 */
test('the guard continues as new carrying 100,000 machines in 1,000 leases', async () => {
  const book = new LeaseBook();
  guardRequests(1000, 100).forEach((r, i) => book.request(r, 1_700_000_000_000 + i));
  const carry = book.carry();
  expect(Buffer.byteLength(JSON.stringify(carry))).toBeLessThan(TEMPORAL_PAYLOAD_LIMIT_BYTES / 2);
  await withWorker(env, driversOf({ stateDir: tempDir('guard-scale') }), async () => {
    // The holders are not workflows: no holder check may run (it would free their leases), so none is due.
    const guard = await env.client.workflow.start('fleetGuardWorkflow', {
      workflowId: FLEET_GUARD_ID,
      taskQueue: DEFAULT_TASK_QUEUE,
      args: [{ carry, eventsPerRun: 10, checkMs: 365 * 24 * 3600_000 }],
    });
    const firstRun = (await guard.describe()).runId;
    const current = () => env.client.workflow.getHandle(FLEET_GUARD_ID);
    // Releases of leases nobody holds push the guard past its events per run.
    for (let i = 0; i < 10; i++) await current().signal(releaseLeaseSignal, { leaseId: 'nobody' });
    await waitUntil(
      async () => (await current().describe()).runId,
      (runId) => runId !== firstRun,
      'the guard to continue as new',
    );
    const first = await env.client.workflow.getHandle(FLEET_GUARD_ID, firstRun).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');

    const view = await current().query(leasesQuery);
    const ids = (ls: Array<{ leaseId: string }>) => ls.map((l) => l.leaseId);
    expect(ids(view.held)).toEqual(ids(book.holding()));
    expect(ids(view.waiting)).toEqual(ids(book.waiting()));
    expect(view.held.concat(view.waiting).reduce((n, l) => n + l.machines.length, 0)).toBe(100_000);
    expect(view.waiting.map((l) => l.waitingFor)).toEqual(
      book.waiting().map((l) => book.blockerOf(l)?.reason),
    );
  });
});
