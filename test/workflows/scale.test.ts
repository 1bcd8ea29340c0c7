import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { stageRolloutInput } from '../../store/spec-store';
import { runsOf } from '../../client/runs';
import type { RolloutInput } from '../../domain/rollout-spec';
import { machineWorkflowId, regionWorkflowId } from '../../workflows/ids';
import type { MachineAttemptResult } from '../../workflows/messages';
import {
  cancelUpdate,
  FLEET_GUARD_ID,
  leasesQuery,
  resumeUpdate,
  type RolloutSummary,
} from '../../workflows/messages';
import { isStored } from '../../domain/spec-slices';
import { releaseMonthAt } from '../../domain/calendar';
import { specStoreForFile, timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  regionStatus,
  startRollout,
  steer,
  waitForStatus,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

/** The release these rollouts belong to: the latest one, so their deadline is still ahead. */
const MONTH = releaseMonthAt(Date.now());

let env: TestWorkflowEnvironment;
const store = specStoreForFile('spec-store');
timeSkippingServer('test', (e) => (env = e));

type History = temporal.api.history.v1.IHistory;
const EventType = temporal.api.enums.v1.EventType;
const utf8 = (data: Uint8Array | null | undefined) => Buffer.from(data ?? []).toString('utf8');
const inputOf = (history: History) =>
  JSON.parse(
    utf8(history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data),
  ) as Record<string, unknown>;

/** Every run's history, first to last. */
async function historiesOf(handle: WorkflowHandle): Promise<History[]> {
  return (await runsOf(env.client, handle.workflowId)).map((r) => r.history);
}

/**
 * The rollout's result once it closed. Waits by describing the latest run instead of a long poll on the
 * result: the time-skipping test server sometimes never wakes a result poll that follows a chain of
 * continued runs (seen here: status Completed, poll still waiting). These rollouts have no timers, so no
 * time needs skipping meanwhile.
 */
async function closedResult(handle: WorkflowHandle): Promise<RolloutSummary> {
  const latest = env.client.workflow.getHandle(handle.workflowId);
  await waitUntil(
    () => latest.describe(),
    (d) => d.status.name !== 'RUNNING',
    'the rollout to close',
    60_000,
  );
  return (await latest.result()) as RolloutSummary;
}

function machineResult(rolloutId: string, region: string, name: string, attempt: number) {
  return env.client.workflow
    .getHandle(machineWorkflowId(rolloutId, region, name, attempt))
    .result() as Promise<MachineAttemptResult>;
}

/** Plans the machines and stages the rollout as a large one: slices of `sliceMachines` in the store. */
async function stagedRollout(
  rolloutId: string,
  machines: Array<Record<string, unknown>>,
  policy: Record<string, unknown>,
  knobs: Pick<RolloutInput, 'childrenPerRun' | 'eventsPerRun'> & { sliceMachines: number },
): Promise<RolloutInput> {
  const planned = rolloutInputOf({
    rolloutId,
    fleet: { machines },
    policy: { windows: 'always', month: MONTH, ...policy },
    now: new Date(await env.currentTimeMs()),
  });
  const { sliceMachines, ...perRun } = knobs;
  return { ...stageRolloutInput(planned, { dir: store, sliceMachines, inlineLimitBytes: 0 }), ...perRun };
}

const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);

test('a sliced rollout keeps tallies, and it and its regions continue as new while the regions run', async () => {
  const pending = new Set(['e03', 'e11', 'w02']);
  const machines = [
    ...names('e', 14).map((n) => vm(n, pending.has(n) ? { simulation: { pendingPatches: 1 } } : {})),
    ...names('w', 6).map((n) =>
      vm(n, { region: 'westus', ...(pending.has(n) ? { simulation: { pendingPatches: 1 } } : {}) }),
    ),
  ];
  const eventsPerRun = 60;
  const input = await stagedRollout(
    'sliced',
    machines,
    {},
    { sliceMachines: 3, childrenPerRun: 4, eventsPerRun },
  );
  const east = input.regions.find((r) => r.region === 'eastus')!;
  expect(east.machineCount).toBe(14);
  expect(east.slices.length).toBeGreaterThanOrEqual(5);
  expect(input.regions.every((r) => r.slices.every(isStored))).toBe(true);

  const { result, rolloutRuns, regionHistory, retried } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('sliced'), month: MONTH }),
    async () => {
      const handle = await startRollout(env, input);
      const result = await closedResult(handle);
      return {
        result,
        rolloutRuns: await historiesOf(handle),
        regionHistory: await env.client.workflow
          .getHandle(regionWorkflowId('sliced', 'eastus'))
          .fetchHistory(),
        retried: await Promise.all(
          [...pending].map((n) => machineResult('sliced', n.startsWith('e') ? 'eastus' : 'westus', n, 2)),
        ),
      };
    },
  );

  // The result carries counts, not the machines.
  expect(result.status).toBe('Completed');
  expect(result).not.toHaveProperty('machines');
  expect(result.errors).toEqual({ count: 0, allowed: 0 });
  expect(result).toMatchObject({ planned: 20, succeeded: 20, attempts: 23 });
  expect(result.regions).toEqual(
    expect.arrayContaining(
      input.regions.map((r) => ({
        region: r.region,
        phase: r.phase,
        total: r.machineCount,
        done: r.machineCount,
        succeeded: r.machineCount,
        notSucceeded: 0,
        errors: 0,
      })),
    ),
  );
  expect(result.phases.map((p) => p.status)).toEqual(['Succeeded', 'Succeeded']);
  // The pending machines were patched by their retry, in their own machine workflows.
  expect(retried.map((r) => [r.name, r.outcome])).toEqual([...pending].map((n) => [n, 'Succeeded']));

  // The rollout continued as new while its regions ran: no run near the limit, none carrying a machine.
  expect(rolloutRuns.length).toBeGreaterThanOrEqual(3);
  for (const run of rolloutRuns.slice(0, -1)) {
    expect(run.events!.length).toBeLessThan(eventsPerRun + 30);
    expect(run.events!.at(-1)!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  }
  for (const run of rolloutRuns.slice(1)) {
    const carried = inputOf(run);
    expect(carried.continued).toMatchObject({ tallies: expect.any(Array), channels: expect.any(Array) });
    for (const name of machines.map((m) => String(m.name)))
      expect(JSON.stringify(carried)).not.toContain(`"${name}"`);
  }
  // Its regions outlive the run that started them, and tell it when they end (their last report).
  const starts = rolloutRuns
    .flatMap((run) => run.events!)
    .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
    .filter((a) => a);
  expect(starts.map((a) => [a!.workflowId, a!.parentClosePolicy]).sort()).toEqual(
    ['eastus', 'westus'].map((r) => [
      regionWorkflowId('sliced', r),
      temporal.api.enums.v1.ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON,
    ]),
  );
  const reports = rolloutRuns
    .flatMap((run) => run.events!)
    .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'stepReport')
    .map((e) => JSON.parse(utf8(e.workflowExecutionSignaledEventAttributes!.input!.payloads![0].data)));
  expect(reports.filter((r) => r.end).map((r) => [r.region, r.end])).toEqual(
    expect.arrayContaining([
      ['eastus', {}],
      ['westus', {}],
    ]),
  );
  expect(reports.filter((r) => r.end)).toHaveLength(2);

  // The region's last run was continued as new too (14 machines, at most 4 children a run), carrying cursors.
  const started = regionHistory.events![0].workflowExecutionStartedEventAttributes!;
  expect(started.continuedExecutionRunId).toBeTruthy();
  const carried = inputOf(regionHistory);
  expect(carried.cursor).toBeDefined();
  expect(JSON.stringify(carried)).not.toContain('"patches"');

  // Step reports are compact: no patch lists reach the rollout.
  expect(reports.length).toBeGreaterThanOrEqual(20 / 3);
  for (const r of reports) expect(JSON.stringify(r)).not.toContain('"patches"');
});

test('across continue-as-new, an exceeded budget halts with no new starts and an error retried to success counts once', async () => {
  // One region, one machine a step: x02 fails its first install and is patched by its retry (an error
  // once, never twice), x04 is unhealthy: the second error exceeds a budget of one.
  const machines = names('x', 8).map((n) =>
    vm(n, {
      simulation: n === 'x02' ? { failInstall: 1 } : n === 'x04' ? { unhealthyAfterReboot: true } : {},
    }),
  );
  const input = await stagedRollout(
    'sliced-budget',
    machines,
    { errorBudget: 1, disruptionBudget: 1, approvals: { approvers: ['bob'] } },
    { sliceMachines: 2, eventsPerRun: 40 },
  );
  const { halted, report, runs } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('sliced-budget'), month: MONTH }),
    async () => {
      const handle = await startRollout(env, input);
      const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the rollout to halt');
      await waitUntil(
        () => regionStatus(env, 'sliced-budget', 'eastus'),
        (s) => s.hold !== null,
        'eastus to hold',
      );
      // Nothing new started after the step that exceeded the budget.
      const notStarted = await machineAttemptsAfter('sliced-budget', 'x04');
      expect(
        await steer(handle, resumeUpdate, { by: 'bob', override: true, comment: 'x04 is known' }),
      ).toEqual({
        accepted: true,
      });
      const report = await closedResult(handle);
      return { halted: { ...halted, notStarted }, report, runs: await historiesOf(handle) };
    },
  );

  expect(halted.reason).toBe(
    'error budget exceeded in phase 0: 2 error(s), at most 1 allowed: x02 InstallFailed, x04 Unhealthy',
  );
  expect(halted.errors).toEqual({ count: 2, allowed: 1 });
  expect(halted.notStarted).toEqual([]);
  expect(report.status).toBe('Completed');
  expect(report.gates.map((g) => [g.name, g.decision, g.by])).toEqual([['resume', 'overridden', 'bob']]);
  // x02 (an error, then patched) and x04 (unhealthy): two errors, x02 counted once although reported twice.
  expect(report.errors).toEqual({ count: 2, allowed: 1 });
  expect(report).toMatchObject({ planned: 8, succeeded: 7 });
  expect(report.regions).toEqual([
    expect.objectContaining({ total: 8, done: 8, notSucceeded: 1, errors: 2 }),
  ]);
  expect(runs.length).toBeGreaterThanOrEqual(2);
});

/** Machine attempts of x05..x08 (the steps after `after`) that were ever started. */
async function machineAttemptsAfter(rolloutId: string, after: string): Promise<string[]> {
  const later = names(after[0], 8).filter((n) => n > after);
  const found: string[] = [];
  for (const name of later)
    try {
      await env.client.workflow.getHandle(machineWorkflowId(rolloutId, 'eastus', name, 1)).describe();
      found.push(name);
    } catch {
      // not started: what a halt promises
    }
  return found;
}

test('a region that fails tells the rollout, which halts for a person instead of waiting forever', async () => {
  const machines = [
    ...names('e', 2).map((n) => vm(n)),
    ...names('c', 2).map((n) => vm(n, { region: 'centralus' })),
  ];
  const input = await stagedRollout(
    'sliced-broken',
    machines,
    { phases: [['eastus', 'centralus']] },
    { sliceMachines: 1 },
  );
  // A slice whose content no longer matches its sha256: the region's loadSpecSlice fails without retry.
  const central = input.regions.find((r) => r.region === 'centralus')!;
  const broken = central.slices[1];
  if (!isStored(broken)) throw new Error('expected a stored slice');
  writeFileSync(join(store, broken.ref), '{"region":"centralus","steps":[],"machines":[]}');

  const { halted, report } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('sliced-broken') }),
    async () => {
      const handle = await startRollout(env, input);
      const halted = await waitForStatus(handle, (r) => r.status === 'Halted', 'the rollout to halt');
      expect(await steer(handle, cancelUpdate, { by: 'bob', reason: 'fix the spec store' })).toEqual({
        accepted: true,
      });
      return { halted, report: await closedResult(handle) };
    },
  );

  expect(halted.reason).toMatch(/^region centralus failed: slice .* does not match its sha256$/);
  expect(report.status).toBe('Canceled');
  expect(report.reason).toBe('cancelled by bob: fix the spec store');
  const centralTally = report.regions.find((r) => r.region === 'centralus')!;
  expect(centralTally.done).toBe(1); // its first slice ran; the broken one never did
});

test('terminating a rollout stops its regions: the running step finishes, no later step starts', async () => {
  // One region, a machine a step; the first machine's install takes three real seconds, and the rollout is
  // terminated meanwhile.
  const machines = names('t', 4).map((n) =>
    vm(n, { simulation: { installSeconds: n === 't01' ? 3 : 0, rebootSeconds: 0 } }),
  );
  // Three a slice: t01's next step (t02) lies in its slice, so its lease is asked for as t01's step reports.
  const input = await stagedRollout('terminated', machines, { disruptionBudget: 1 }, { sliceMachines: 3 });
  const region = env.client.workflow.getHandle(regionWorkflowId('terminated', 'eastus'));
  const { status, started, first, leases } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('terminated'), month: MONTH, timeScale: 1 }),
    async () => {
      const handle = await startRollout(env, input);
      await waitUntil(
        () => machineAttemptsAfter('terminated', 't00'),
        (found) => found.includes('t01'),
        'the first step to start',
      );
      await handle.terminate('an operator stops it by hand');
      // The step's report cannot be delivered: the region ends there instead of starting the next step.
      const closed = await waitUntil(
        () => region.describe(),
        (d) => d.status.name !== 'RUNNING',
        'the region to close',
      );
      return {
        status: closed.status.name,
        started: await machineAttemptsAfter('terminated', 't01'),
        first: await machineResult('terminated', 'eastus', 't01', 1),
        // The lease asked for ahead goes back with the region: its step never runs.
        leases: await env.client.workflow
          .getHandle(FLEET_GUARD_ID)
          .query(leasesQuery, { rolloutId: 'terminated' }),
      };
    },
  );
  expect(first.outcome).toBe('Succeeded');
  expect(status).toBe('COMPLETED');
  expect(started).toEqual([]);
  expect(leases).toEqual(expect.objectContaining({ held: [], waiting: [] }));
});
