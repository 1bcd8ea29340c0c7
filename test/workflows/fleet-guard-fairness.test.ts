import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import {
  FLEET_GUARD_ID,
  releaseLeaseSignal,
  requestLeaseSignal,
  type LeaseMachine,
  type LeaseRequest,
  type LeasesView,
} from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import { driversOf, guardLeases, waitUntil, withWorker } from '../support/workflow-harness';
import { tempDir } from '../support/rollouts';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

/** Availability set "web" of 20 machines: at most 4 at once (the 20% rule), all in update domain 0. */
const web = (name: string): LeaseMachine => ({
  name,
  region: 'eastus',
  availabilitySet: 'web',
  updateDomain: 0,
  setSize: 20,
});

/**
 * Each request's holder is a running workflow the guard can answer: a second guard workflow under the
 * holder's ID stands in (it waits for nothing and takes the answers), so the test drives the guard's
 * protocol exactly as the region steps do, with requests and releases in an order the test chooses.
 */
async function holder(workflowId: string): Promise<string> {
  await env.client.workflow.start('fleetGuardWorkflow', {
    workflowId,
    taskQueue: DEFAULT_TASK_QUEUE,
    args: [{}],
  });
  return workflowId;
}

/** A request for `machines` of eastus, its holder a running workflow `holderId`. */
async function requestOf(leaseId: string, machines: LeaseMachine[], holderId: string): Promise<LeaseRequest> {
  return {
    leaseId,
    holder: { workflowId: await holder(holderId), rolloutId: leaseId, region: 'eastus', step: 'step 1' },
    unsafe: false,
    pairs: { eastus: ['westus'] },
    machines,
  };
}

async function ask(leaseId: string, machines: LeaseMachine[]): Promise<void> {
  const request = await requestOf(leaseId, machines, `holder-${leaseId}`);
  // As the requestLease activity asks: signal-with-start, the first request starts the guard.
  await env.client.workflow.signalWithStart('fleetGuardWorkflow', {
    workflowId: FLEET_GUARD_ID,
    taskQueue: DEFAULT_TASK_QUEUE,
    args: [{}],
    signal: requestLeaseSignal,
    signalArgs: [request],
  });
}

const view = () => guardLeases(env.client);
const known = (v: LeasesView, id: string) => [...v.held, ...v.waiting].some((l) => l.leaseId === id);

test('holders that start the guard at once are all heard: none waits out a retry after "already started"', async () => {
  await withWorker(env, driversOf({ stateDir: tempDir('guard-start') }), async () => {
    // No guard runs yet: every request is a signal-with-start, sent through the requestLease activity
    // itself. The time-skipping server answers some of them "already started" (a CI run saw it), not
    // every time: each round starts the guard afresh.
    const { requestLease } = createActivities(driversOf({ stateDir: tempDir('guard-start-activity') }));
    for (let round = 1; round <= 12; round++) {
      const ids = Array.from({ length: 8 }, (_, i) => `r${round}-a${i + 1}`);
      const requests = await Promise.all(ids.map((id) => requestOf(id, [web(id)], `start-${id}`)));
      const outcomes = await Promise.allSettled(
        requests.map((r) =>
          new MockActivityEnvironment(undefined, { client: env.client }).run(requestLease, r),
        ),
      );
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'asked' : String(o.reason)))).toEqual(
        ids.map(() => 'asked'),
      );
      const v = await waitUntil(view, (x) => ids.every((id) => known(x, id)), 'every request to be known');
      expect([...v.held, ...v.waiting].map((l) => l.leaseId).sort()).toEqual([...ids].sort());
      // The next round, and the next test, start from no guard at all.
      await env.client.workflow.getHandle(FLEET_GUARD_ID).terminate('round done');
    }
  });
});

test('fairness: a large request is served within a bounded number of grants while small ones keep arriving', async () => {
  await withWorker(env, driversOf({ stateDir: tempDir('guard-fair') }), async () => {
    // Three one-machine steps hold the set; a step of four (the whole cap) asks next.
    for (const id of ['s1', 's2', 's3']) await ask(id, [web(id)]);
    await waitUntil(view, (v) => v.held.length === 3, 'three small leases held');
    await ask('large', ['l1', 'l2', 'l3', 'l4'].map(web));
    const before = await waitUntil(view, (v) => known(v, 'large'), 'the large request to be known');
    expect(before.waiting.map((l) => l.leaseId)).toEqual(['large']);
    const holdersAtArrival = before.held.map((l) => l.leaseId);

    // Each round a new small step asks, then the oldest holder releases: without the queue's order the
    // newcomer would take the freed place every round and the large step would never fit.
    const granted: string[] = []; // every grant after the large request arrived, in order
    const seen = new Set(holdersAtArrival);
    let releases = 0;
    for (let round = 1; round <= 8 && !granted.includes('large'); round++) {
      const small = `s${3 + round}`;
      await ask(small, [web(small)]);
      await waitUntil(view, (v) => known(v, small), `${small} to be known`);
      const oldest = (await view()).held.sort((a, b) => (a.grantedAt! < b.grantedAt! ? -1 : 1))[0];
      await env.client.workflow
        .getHandle(FLEET_GUARD_ID)
        .signal(releaseLeaseSignal, { leaseId: oldest.leaseId });
      releases++;
      const after = await waitUntil(
        view,
        (v) => !known(v, oldest.leaseId),
        `${oldest.leaseId} to be released`,
      );
      for (const l of after.held.filter((h) => !seen.has(h.leaseId))) {
        granted.push(l.leaseId);
        seen.add(l.leaseId);
      }
    }

    // The bound: the large step is granted once the holders it found have left (three releases), and no
    // step that asked after it is granted before it.
    expect(granted[0]).toBe('large');
    expect(releases).toBe(holdersAtArrival.length);
    const final = await view();
    expect(final.held.map((l) => l.leaseId)).toEqual(['large']);
    expect(final.waiting.map((l) => l.leaseId)).toEqual(['s4', 's5', 's6']);
    expect(final.waiting[0].waitingFor).toContain('is held by rollout large');
  });
});
