import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import {
  FLEET_GUARD_ID,
  HOLDER_CHECK_MS,
  releaseLeaseSignal,
  type LeaseAnswer,
  type LeasesView,
  type RolloutReport,
} from '../../workflows/messages';
import { statusJson } from '../../client/progress';
import { rolloutView } from '../../client/rollout-view';
import { viewLines } from '../../client/watch';
import { checkAcrossRuns } from '../support/availability-check';
import { timeSkippingServer } from '../support/server-hooks';
import { fleetOf, policyOf, rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  guardLeases,
  driversOf,
  machineOf,
  ms,
  regionStatus,
  rolloutResult,
  skipToLocalNoon,
  startRollout,
  waitForStatus,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

const NY = 'America/New_York';

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

const guardView = (): Promise<LeasesView> => guardLeases(env.client);

/**
 * Machines in New York's off-peak hours, started at local noon: the first rollout's step holds its lease
 * while its machines wait for the window, so a second run's step on the same machines must wait.
 */
const fleetDoc = {
  machines: [vm('g1', { timeZone: NY, zone: '1' }), vm('g2', { timeZone: NY, zone: '2' })],
};
// Every run reboots its machines, so each one disrupts them (a run that finds nothing to do would not).
const policyDoc = { windows: 'offPeak', rebootSetting: 'Always' };

async function inputs(...ids: string[]) {
  const now = await skipToLocalNoon(env, NY);
  return ids.map((rolloutId) =>
    rolloutInputOf({ rolloutId, fleet: fleetDoc, policy: policyDoc, now: new Date(now) }),
  );
}

const heldBy = (v: LeasesView, rollout: string) => v.held.some((l) => l.rolloutId === rollout);

function expectRulesKept(reports: RolloutReport[]) {
  expect(checkAcrossRuns(reports, fleetOf(fleetDoc), policyOf(policyDoc))).toEqual([]);
}

test('a second run waits for the lease the first holds, says so, and both complete one after the other', async () => {
  const [one, two] = await inputs('guard-one', 'guard-two');
  await withWorker(env, driversOf({ stateDir: tempDir('guard') }), async () => {
    const h1 = await startRollout(env, one);
    await waitUntil(guardView, (v) => heldBy(v, 'guard-one'), 'guard-one to hold a lease');
    const h2 = await startRollout(env, two);
    const status = await waitUntil(
      () => regionStatus(env, 'guard-two', 'eastus').catch(() => ({ waitingFor: null })),
      (s) => s.waitingFor !== null,
      'guard-two to wait for the guard',
    );
    expect(status.waitingFor).toMatch(
      /^waiting for the fleet guard: eastus zone 1 is held by rollout guard-one \(zone 1.*\)$|^waiting for the fleet guard: machine g1 is held by rollout guard-one/,
    );
    // `offpeak rollout status` and `watch` show it on the region's line.
    const shown = await rolloutView(env.client, 'guard-two');
    const lines = viewLines('guard-two', shown);
    expect(lines.find((l) => l.trim().startsWith('eastus'))).toContain(status.waitingFor!);
    // `rollout status -o json` too: what the region waits for, its lease, and the lease in its way.
    const json = statusJson(shown.report!, shown.failed, shown);
    expect(json.guardWaits).toEqual([
      {
        region: 'eastus',
        waitingFor: status.waitingFor,
        leases: [
          expect.objectContaining({
            machines: ['g1'],
            waitingFor: status.waitingFor!.replace('waiting for the fleet guard: ', ''),
            blockedBy: expect.objectContaining({ rolloutId: 'guard-one', region: 'eastus', held: true }),
          }),
        ],
      },
    ]);
    expect(JSON.parse(JSON.stringify(json)).guardWaits[0].leases[0].blockedBy.step).toMatch(/^zone 1/);
    const view = await guardView();
    // guard-one's step, and beside it its next step's lease, asked for as the step started (it never runs the two together).
    expect(view.held.map((l) => [l.rolloutId, l.machines, l.leaseId.endsWith('/ahead')])).toEqual([
      ['guard-one', ['g1'], false],
      ['guard-one', ['g2'], true],
    ]);
    expect(view.waiting.map((l) => l.rolloutId)).toEqual(['guard-two']);
    expect(view.waiting[0].waitingFor).toContain('guard-one');

    // One result at a time: the time-skipping client's concurrent waits unbalance its time lock.
    const r1 = await rolloutResult(env, h1);
    const r2 = await rolloutResult(env, h2);
    for (const r of [r1, r2]) expect(r.status).toBe('Completed');
    for (const name of ['g1', 'g2']) {
      const first = machineOf(r1, name).attempts[0];
      const second = machineOf(r2, name).attempts[0];
      expect(first.outcome).toBe('Succeeded');
      expect(ms(second.startedAt)).toBeGreaterThanOrEqual(ms(first.finishedAt));
    }
    expectRulesKept([r1, r2]);
    // Every lease is given back.
    expect(await guardView()).toMatchObject({ held: [], waiting: [] });
  });
});

test('a terminated holder loses its lease at the next check of the guard, and the waiting run goes on', async () => {
  const [one, two] = await inputs('dead-one', 'live-two');
  await withWorker(env, driversOf({ stateDir: tempDir('guard-dead') }), async () => {
    await startRollout(env, one);
    await waitUntil(guardView, (v) => heldBy(v, 'dead-one'), 'dead-one to hold a lease');
    const h2 = await startRollout(env, two);
    await waitUntil(guardView, (v) => v.waiting.length === 1, 'live-two to wait');
    const killedAt = await env.currentTimeMs();
    // The region (and with it its machine attempts) is terminated: nobody releases its lease.
    await env.client.workflow.getHandle(regionWorkflowId('dead-one', 'eastus')).terminate('test');
    await env.client.workflow.getHandle(rolloutWorkflowId('dead-one')).terminate('test');

    // While live-two waits, the guard checks its holders every minute: dead-one is gone at the next check.
    await env.sleep(HOLDER_CHECK_MS + 1000);
    const view = await guardView();
    // Both of its leases: the running step's and the next one's, asked for ahead.
    expect(view.expired.map((l) => l.rolloutId)).toEqual(['dead-one', 'dead-one']);
    expect(new Set(view.held.map((l) => l.rolloutId))).toEqual(new Set(['live-two']));
    expect(ms(view.held[0].grantedAt) - killedAt).toBeLessThanOrEqual(HOLDER_CHECK_MS + 1000);

    const r2 = await rolloutResult(env, h2);
    expect(r2.status).toBe('Completed');
    expect(machineOf(r2, 'g1').attempts[0].outcome).toBe('Succeeded');
  });
});

test('continue-as-new carries every lease, held and waiting', async () => {
  const [one, two] = await inputs('can-one', 'can-two');
  await withWorker(env, driversOf({ stateDir: tempDir('guard-can') }), async () => {
    const guard = await env.client.workflow.start('fleetGuardWorkflow', {
      workflowId: FLEET_GUARD_ID,
      taskQueue: DEFAULT_TASK_QUEUE,
      // Past the requests and answers of both runs' first steps (about 40 events), so the run continues as new
      // only with the releases below, while nothing queries it: the time-skipping server never answers a
      // query pending as a run continues as new, and stops skipping time while one is pending.
      args: [{ eventsPerRun: 60 }],
    });
    const firstRun = (await guard.describe()).runId;
    const h1 = await startRollout(env, one);
    await waitUntil(guardView, (v) => heldBy(v, 'can-one'), 'can-one to hold a lease');
    const h2 = await startRollout(env, two);
    const before = await waitUntil(guardView, (v) => v.waiting.length === 1, 'can-two to wait');
    // Releases of leases nobody holds (each an event in the guard's history) push it past its events per
    // run. Sent once: a signal arriving while the guard completes its run makes it try again.
    const current = () => env.client.workflow.getHandle(FLEET_GUARD_ID);
    for (let i = 0; i < 60; i++) await current().signal(releaseLeaseSignal, { leaseId: 'nobody' });
    await waitUntil(
      async () => (await current().describe()).runId,
      (runId) => runId !== firstRun,
      'the guard to continue as new',
    );
    const after = await guardView();

    expect(after.held).toEqual(before.held);
    expect(after.waiting.map((l) => l.leaseId)).toEqual(before.waiting.map((l) => l.leaseId));

    // One result at a time: the time-skipping client's concurrent waits unbalance its time lock.
    const r1 = await rolloutResult(env, h1);
    const r2 = await rolloutResult(env, h2);
    for (const r of [r1, r2]) expect(r.status).toBe('Completed');
    expectRulesKept([r1, r2]);
  });
});

test("a lane asks for its next step's lease as its step starts, and the guard grants it beside the running step", async () => {
  const rolloutId = 'ask-ahead';
  // Three zones of one region: the lane's steps one zone each. Asked for by another run, the next zone
  // would wait for the running one (one zone per region); asked to follow it by the same lane, which never
  // runs the two together, it is granted at once.
  const fleet = { machines: ['1', '2', '3'].map((z) => vm(`h${z}`, { zone: z })) };
  const input = rolloutInputOf({
    rolloutId,
    fleet,
    policy: { windows: 'always' },
    now: new Date(await env.currentTimeMs()),
  });
  const { report, left } = await withWorker(env, driversOf({ stateDir: tempDir('ask-ahead') }), async () => {
    const report = await rolloutResult(env, await startRollout(env, input));
    return { report, left: await guardView() };
  });
  expect(report.status).toBe('Completed');
  expect(checkAcrossRuns([report], fleetOf(fleet), policyOf({ windows: 'always' }))).toEqual([]);

  const { events } = await env.client.workflow
    .getHandle(regionWorkflowId(rolloutId, 'eastus'))
    .fetchHistory();
  const sent = events!.flatMap((e) => {
    const a = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    return a ? [a.signalName] : [];
  });
  expect(sent.filter((name) => name === 'requestNextLease')).toHaveLength(2);
  const answers = events!.flatMap((e) => {
    const a = e.workflowExecutionSignaledEventAttributes;
    return a?.signalName === 'leaseAnswer'
      ? [defaultPayloadConverter.fromPayload<LeaseAnswer>(a.input!.payloads![0])]
      : [];
  });
  // The first step's lease by request, the next two asked ahead; none queued.
  expect(
    answers.map((a) => [a.leaseId.replace(`${regionWorkflowId(rolloutId, 'eastus')}/`, ''), a.granted]),
  ).toEqual([
    ['round-1/slice-0/step-0', true],
    ['round-1/slice-0/step-1/ahead', true],
    ['round-1/slice-0/step-2/ahead', true],
  ]);
  expect(left).toEqual(expect.objectContaining({ held: [], waiting: [] }));
});

test('a lease the guard cannot place fails the step with a clear error, not a hang', async () => {
  const [input] = await inputs('no-facts');
  // A spec without the guard's facts (an input built by hand, or by another version): no geo-pairs.
  for (const region of input.regions)
    for (const ref of region.slices) if ('inline' in ref) for (const m of ref.inline.machines) delete m.lease;
  await withWorker(env, driversOf({ stateDir: tempDir('guard-bad') }), async () => {
    const handle = await startRollout(env, input);
    const status = await waitForStatus(handle, (s) => s.status === 'Halted', 'the rollout to halt');
    expect(status.reason).toContain('the fleet guard cannot grant lease');
    expect(status.reason).toContain('unknown region "eastus"');
  });
});
