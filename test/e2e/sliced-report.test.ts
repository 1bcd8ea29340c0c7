import { rmSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { stageRolloutInput } from '../../store/spec-store';
import { rolloutReport } from '../../client/report';
import { connectClient, startRollout } from '../../client/temporal';
import { isStored, type SlicedRegion } from '../../domain/spec-slices';
import { readSlice } from '../../store/spec-store';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { machineWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import {
  ATTEMPT_MEMO_KEY,
  type MachineReport,
  type RolloutReport,
  type RolloutSummary,
} from '../../workflows/messages';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { testDevServer, testWorkflowBundle } from '../support/servers';

// The Java time-skipping server cannot list workflows: reports assembled from visibility need a dev server.
jest.setTimeout(240_000);

const store = tempDir('e2e-spec-store');
const previousStore = process.env.OFFPEAK_SPEC_STORE;
let server: DevServer;
let client: Client;
let connection: Connection;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  process.env.OFFPEAK_SPEC_STORE = store; // the worker's loadSpecSlice and the report read from here
  server = await testDevServer();
  nativeConnection = await NativeConnection.connect({ address: server.address });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: server.namespace });
});
afterAll(async () => {
  if (previousStore === undefined) delete process.env.OFFPEAK_SPEC_STORE;
  else process.env.OFFPEAK_SPEC_STORE = previousStore;
  await connection?.close();
  await nativeConnection?.close();
  await server?.stop();
});

/** Runs a rollout to its end with a worker of simulated machines (their own state), and returns its result. */
async function runRollout(input: RolloutInput): Promise<RolloutSummary> {
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(tempDir('e2e-sliced-report'), 0)),
  });
  return worker.runUntil(async () => {
    await startRollout(client, input);
    return (await client.workflow.getHandle(rolloutWorkflowId(input.rolloutId)).result()) as RolloutSummary;
  });
}

const pending = new Set(['e-z1-b', 'e-db-2', 'w-04']);
const fleet = {
  machines: [
    ...['e-z1-a', 'e-z1-b', 'e-z1-c'].map((n) => vm(n, { zone: '1' })),
    ...['e-z2-a', 'e-z2-b'].map((n) => vm(n, { zone: '2' })),
    ...[0, 1, 2].map((ud) => vm(`e-db-${ud}`, { availabilitySet: 'e-db', updateDomain: ud })),
    ...[1, 2, 3, 4].map((i) => vm(`w-0${i}`, { region: 'westus' })),
    vm('e-manual', { patchMode: 'Manual' }),
    vm('w-by-os', { region: 'westus', os: 'Windows', patchMode: 'AutomaticByOS' }),
  ].map((m) => (pending.has(String(m.name)) ? { ...m, simulation: { pendingPatches: 1 } } : m)),
};
const planFor = (rolloutId: string) =>
  rolloutInputOf({ rolloutId, fleet, policy: { windows: 'always' }, now: new Date() });

/** What an inline rollout and an assembled report must agree on: everything but times and patch lists. */
/** A region's machines and steps from its inline slices. */
const machinesOf = (r: SlicedRegion) => r.slices.flatMap((ref) => readSlice('', ref).machines);
const stepsOf = (r: SlicedRegion) => r.slices.flatMap((ref) => readSlice('', ref).steps);

const comparable = (m: MachineReport) => ({
  ...m,
  patches: undefined,
  lastAssessedAt: undefined,
  // A machine's plan step is read from its slice: without the store, the report cannot know it.
  step: undefined,
  attempts: m.attempts.map((a) => ({ attempt: a.attempt, outcome: a.outcome, detail: a.detail })),
});

describe('the report of a large rollout (slices in the spec store)', () => {
  let planned: RolloutInput;
  let staged: RolloutInput;
  let result: RolloutSummary;
  let report: RolloutReport;

  beforeAll(async () => {
    planned = planFor('e2e-sliced-report');
    // Slices of 3 machines, regions continuing as new every 4 children, the rollout every 60 events.
    staged = {
      ...stageRolloutInput(planned, { dir: store, sliceMachines: 3, inlineLimitBytes: 0 }),
      childrenPerRun: 4,
      eventsPerRun: 60,
    };
    result = await runRollout(staged);
    report = await rolloutReport(client, planned.rolloutId, { patches: true });
  });

  test('the rollout itself carries counts per region, no machines; its input only slice references', () => {
    expect(result.status).toBe('Completed');
    expect(result).not.toHaveProperty('machines');
    expect(result.regions).toEqual(
      staged.regions.map((r) =>
        expect.objectContaining({ region: r.region, total: r.machineCount, done: r.machineCount }),
      ),
    );
    expect(result.regions.map((r) => r.total)).toEqual([4, 8]); // westus, the smaller, is the canary
    // Slices of at most 3 machines: westus's 4 one-machine steps in 3 + 1; eastus's 8 one-machine steps
    // (its zone lane's 5, its set lane's 3) in 3 + 3 + 2; each lane knows where its slices begin.
    const stored = staged.regions.map((r) => r.slices.filter(isStored).map((s) => s.machines));
    expect(stored).toEqual([
      [3, 1],
      [3, 3, 2],
    ]);
    expect(staged.regions.map((r) => r.laneStarts)).toEqual([[0], [0, 1]]);
  });

  test('the rollout continued as new: attempts are read from its first run on', async () => {
    const described = await client.workflow.getHandle(rolloutWorkflowId(planned.rolloutId)).describe();
    expect(described.raw.workflowExecutionInfo?.firstRunId).toBeTruthy();
    expect(described.raw.workflowExecutionInfo?.firstRunId).not.toBe(described.runId);
  });

  test('lists every machine once: excluded first, then the plan in slice order, with placement and phase', () => {
    expect(report.notes).toBeUndefined();
    const planOrder = planned.regions.flatMap((r) => stepsOf(r).flatMap((s) => s.machines));
    expect(report.machines.map((m) => m.name)).toEqual([
      ...planned.excluded.map((e) => e.name),
      ...planOrder,
    ]);
    expect(planned.excluded).toHaveLength(2);
    expect(report.machines.slice(0, 2)).toEqual(
      planned.excluded.map((e) =>
        expect.objectContaining({ name: e.name, region: e.region, outcome: 'Excluded', detail: e.reason }),
      ),
    );
    const spec = new Map(
      planned.regions.flatMap((r) => machinesOf(r).map((m) => [m.name, { ...m, phase: r.phase }])),
    );
    for (const m of report.machines.slice(2)) {
      const s = spec.get(m.name)!;
      expect([m.region, m.zone, m.availabilitySet, m.updateDomain, m.phase]).toEqual([
        s.region,
        s.zone,
        s.availabilitySet,
        s.updateDomain,
        s.phase,
      ]);
    }
  });

  test('each machine has its attempts in order, and the outcome of its last one', () => {
    const attempts = Object.fromEntries(
      report.machines.map((m) => [m.name, m.attempts.map((a) => `${a.attempt}:${a.outcome}`)]),
    );
    const expected = Object.fromEntries(
      report.machines.map((m) => [
        m.name,
        m.outcome === 'Excluded' ? [] : pending.has(m.name) ? ['1:Pending', '2:Succeeded'] : ['1:Succeeded'],
      ]),
    );
    expect(attempts).toEqual(expected);
    for (const m of report.machines.filter((x) => x.outcome !== 'Excluded')) {
      expect(m.outcome).toBe('Succeeded');
      expect(m.installed).toBeGreaterThan(0);
      // The patch lists come from each machine's latest attempt (its result), for a rollout of any size.
      expect(m.patches.filter((p) => p.state === 'Installed')).toHaveLength(m.installed);
      for (const a of m.attempts)
        expect(Date.parse(a.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(a.startedAt!));
    }
  });

  test('each attempt leaves a compact memo: outcome, counts and placement, no patch list', async () => {
    const described = await client.workflow
      .getHandle(machineWorkflowId('e2e-sliced-report', 'eastus', 'e-db-2', 1))
      .describe();
    const memo = described.memo?.[ATTEMPT_MEMO_KEY];
    expect(memo).toMatchObject({
      attempt: 1,
      outcome: 'Pending',
      rebooted: false,
      region: 'eastus',
      availabilitySet: 'e-db',
      updateDomain: 2,
      counts: expect.objectContaining({ pending: expect.any(Number) }),
    });
    expect(JSON.stringify(memo)).not.toContain('patches');
  });

  test('agrees with the report of a small rollout of the same fleet (its slices inline), times aside', async () => {
    const inlinePlan = planFor('e2e-inline-report');
    expect(inlinePlan.regions.every((r) => r.slices.every((ref) => !isStored(ref)))).toBe(true);
    await runRollout(inlinePlan);
    const inline = await rolloutReport(client, inlinePlan.rolloutId, { patches: true });
    const byName = (ms: MachineReport[]) =>
      [...ms].sort((a, b) => a.name.localeCompare(b.name)).map(comparable);
    expect(byName(report.machines)).toEqual(byName(inline.machines));
  });

  test('with the spec store unreadable, it says so and lists the machines known from their attempts', async () => {
    const empty = tempDir('e2e-empty-store');
    process.env.OFFPEAK_SPEC_STORE = empty;
    try {
      const degraded = await rolloutReport(client, planned.rolloutId, { patches: true });
      const slices = staged.regions.flatMap((r) =>
        r.slices.filter(isStored).map((ref) => ({ ...ref, region: r.region })),
      );
      expect(degraded.notes).toEqual(
        slices.map((ref) =>
          expect.stringMatching(
            new RegExp(
              `^${ref.region}: slice ${ref.ref} \\(${ref.machines} machine\\(s\\)\\) could not be read \\(.*ENOENT`,
            ),
          ),
        ),
      );
      // Every planned machine was attempted, so every one is still there, ordered by region, then name.
      expect(degraded.machines.map((m) => m.name)).toEqual([
        ...planned.excluded.map((e) => e.name),
        ...planned.regions.flatMap((r) =>
          machinesOf(r)
            .map((m) => m.name)
            .sort(),
        ),
      ]);
      const byName = (ms: MachineReport[]) => Object.fromEntries(ms.map((m) => [m.name, comparable(m)]));
      expect(byName(degraded.machines)).toEqual(byName(report.machines));
    } finally {
      process.env.OFFPEAK_SPEC_STORE = store;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('a rollout ID used again', () => {
  test('reports only the attempts of its latest rollout, not those of the earlier one', async () => {
    // Runs after the rollout above ended: the same ID, westus only, no faults this time.
    const again = rolloutInputOf({
      rolloutId: 'e2e-sliced-report',
      fleet: {
        machines: fleet.machines
          .filter((m) => m.region === 'westus')
          .map((m) => ({ ...m, simulation: undefined })),
      },
      policy: { windows: 'always' },
      now: new Date(),
    });
    const result = await runRollout(
      stageRolloutInput(again, { dir: store, sliceMachines: 3, inlineLimitBytes: 0 }),
    );
    expect(result.status).toBe('Completed');
    const report = await rolloutReport(client, 'e2e-sliced-report');
    expect(report.notes).toBeUndefined();
    expect(report.machines.map((m) => [m.name, m.attempts.map((a) => `${a.attempt}:${a.outcome}`)])).toEqual([
      ['w-by-os', []],
      ['w-01', ['1:Succeeded']],
      ['w-02', ['1:Succeeded']],
      ['w-03', ['1:Succeeded']],
      ['w-04', ['1:Succeeded']],
    ]);
  });
});

describe("the CLI's own connection", () => {
  test('reads a page of history over gRPC’s default 4 MB (the SDK sets its larger limit under a key grpc-js ignores)', async () => {
    // No worker polls this queue: the workflow only collects the signals, 3 × 1.5 MB in one history page.
    const handle = await client.workflow.start('noSuchWorkflow', {
      taskQueue: 'e2e-no-worker',
      workflowId: 'e2e-large-history',
    });
    const big = 'x'.repeat(1_500_000);
    for (let k = 0; k < 3; k++) await handle.signal('big', `${k}${big}`);
    const cli = await connectClient({
      connectionOptions: { address: server.address },
      namespace: server.namespace,
    });
    try {
      const history = await cli.client.workflow.getHandle('e2e-large-history').fetchHistory();
      expect(history.events?.length).toBeGreaterThanOrEqual(4);
    } finally {
      await handle.terminate('test done');
      await cli.client.connection.close();
    }
  });
});
