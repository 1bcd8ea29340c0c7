import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stageRolloutInput } from '../../activities/spec-store';
import { rolloutReport } from '../../client/temporal';
import { regionWorkflowId } from '../../workflows/ids';
import { timeSkippingEnv } from '../support/servers';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { driversOf, rolloutResult, startRollout, withWorker } from '../support/workflow-harness';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
const store = tempDir('spec-store');
const previousStore = process.env.OFFPEAK_SPEC_STORE;

beforeAll(async () => {
  process.env.OFFPEAK_SPEC_STORE = store; // the worker's loadSpecSlice reads from here
  env = await timeSkippingEnv();
});
afterAll(async () => {
  if (previousStore === undefined) delete process.env.OFFPEAK_SPEC_STORE;
  else process.env.OFFPEAK_SPEC_STORE = previousStore;
  await env?.teardown();
});

const utf8 = (data: Uint8Array | null | undefined) => Buffer.from(data ?? []).toString('utf8');

test('a sliced rollout loads its regions slice by slice, continues as new and reports in pages', async () => {
  const pending = new Set(['e03', 'e11', 'w02']);
  const machines = [
    ...Array.from({ length: 14 }, (_, i) => `e${String(i + 1).padStart(2, '0')}`).map((n) =>
      vm(n, pending.has(n) ? { simulation: { pendingPatches: 1 } } : {}),
    ),
    ...Array.from({ length: 6 }, (_, i) => `w${String(i + 1).padStart(2, '0')}`).map((n) =>
      vm(n, { region: 'westus', ...(pending.has(n) ? { simulation: { pendingPatches: 1 } } : {}) }),
    ),
  ];
  const planned = rolloutInputOf({
    rolloutId: 'sliced',
    fleet: { machines },
    policy: { windows: 'always', month: '2026-11' },
    now: new Date(await env.currentTimeMs()),
  });
  const input = {
    ...stageRolloutInput(planned, { dir: store, sliceMachines: 3, inlineLimitBytes: 0 }),
    childrenPerRun: 4,
  };
  expect(input.regions).toEqual([]);
  const east = input.slicedRegions!.find((r) => r.region === 'eastus')!;
  expect(east.machineCount).toBe(14);
  expect(east.slices.length).toBeGreaterThanOrEqual(5);

  const { result, report, regionHistory, rolloutHistory } = await withWorker(
    env,
    driversOf({ stateDir: tempDir('sliced'), month: '2026-11' }),
    async () => {
      const handle = await startRollout(env, input);
      const result = await rolloutResult(handle);
      return {
        result,
        // What `offpeak rollout report` does: the result's summary, the machines read page by page.
        report: await rolloutReport(env.client, 'sliced', { machines: true }),
        regionHistory: await env.client.workflow
          .getHandle(regionWorkflowId('sliced', 'eastus'))
          .fetchHistory(),
        rolloutHistory: await handle.fetchHistory(),
      };
    },
  );

  // The result and status carry tallies, not machines.
  expect(result.status).toBe('Completed');
  expect(result.machines).toEqual([]);
  expect(result.paged).toMatchObject({ planned: 20, succeeded: 20 });
  expect(result.paged!.regions).toEqual(
    expect.arrayContaining([
      { region: 'eastus', phase: expect.any(Number), total: 14, done: 14, notSucceeded: 0 },
      { region: 'westus', phase: expect.any(Number), total: 6, done: 6, notSucceeded: 0 },
    ]),
  );

  // The assembled report has the documented shape, every machine once.
  expect(report.paged).toBeUndefined();
  expect(report.machines.map((m) => m.name).sort()).toEqual(machines.map((m) => String(m.name)).sort());
  for (const m of report.machines) {
    expect(m.outcome).toBe('Succeeded');
    expect(m.attempts.map((a) => a.outcome)).toEqual(
      pending.has(m.name) ? ['Pending', 'Succeeded'] : ['Succeeded'],
    );
    expect(m.region).toBe(m.name.startsWith('e') ? 'eastus' : 'westus');
  }

  // The region's last run was continued as new (14 machines, at most 4 children a run), carrying cursors.
  const started = regionHistory.events![0].workflowExecutionStartedEventAttributes!;
  expect(started.continuedExecutionRunId).toBeTruthy();
  const carried = JSON.parse(utf8(started.input!.payloads![0].data)) as Record<string, unknown>;
  expect(carried.cursor).toBeDefined();
  expect(carried.resume).toBeUndefined();
  expect(JSON.stringify(carried)).not.toContain('"patches"');

  // Progress reports are compact: no patch lists reach the rollout.
  const signals = rolloutHistory.events!.filter((e) => e.workflowExecutionSignaledEventAttributes);
  expect(signals.length).toBeGreaterThanOrEqual(20 / 3);
  for (const s of signals) {
    const payload = utf8(s.workflowExecutionSignaledEventAttributes!.input!.payloads![0].data);
    expect(payload).not.toContain('"patches"');
  }
});
