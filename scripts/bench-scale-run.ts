/**
 * `npm run bench:scale`: a real large rollout, end to end, with the production limits (docs/scale.md).
 *
 * OFFPEAK_SCALE_MACHINES machines (default 10,000) in four regions that share one phase, one machine a
 * step, staged in a spec store and run by one worker on a fresh dev server with the simulated driver.
 * One machine a step is the worst case for the rollout's history: a progress report and its
 * acknowledgement for every machine, and a lease from the fleet guard for every step. Reports the largest
 * history of every workflow kind (rollout, regions, the fleet guard, a sample of machine attempts), how
 * many runs each took, the largest payload in any history, and the time to assemble the report of every
 * machine from visibility. Fails (exit 1) when any history reached 10,000 events or a machine did not
 * succeed.
 *
 * OFFPEAK_SCALE_SHAPE=widest runs instead the widest step the planner makes (docs/planner.md, "The batch
 * limit"): one region whose zone, availability set and standalone tracks are laid into one lane by a
 * service spanning them, so its first step holds a batch of 500 of each (less the service's two
 * machines that must wait), about 1,500 machine attempts started by one region at once under the start
 * budget (workflows/start-budget.ts); OFFPEAK_SCALE_MACHINES is then ignored (3,500 machines).
 * OFFPEAK_SCALE_SHAPE=crowded: a region whose lanes would run 2,280 attempts at once at its budget's widths
 * (7,400 machines).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { stageRolloutInput } from '../store/spec-store';
import { runsOf } from '../client/runs';
import { rolloutReport } from '../client/report';
import { parseFleet } from '../domain/fleet';
import { OUTCOME, ROLLOUT_STATUS } from '../domain/outcomes';
import { parsePolicy } from '../domain/policy';
import { planRollout } from '../domain/planner';
import { buildRolloutInput, DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import { startDevServerOnFreePorts } from '../servers/dev-server';
import { FLEET_GUARD_ID } from '../workflows/guard-contracts';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../workflows/ids';
import { benchWorkerAndClient } from './bench-support';

const MACHINES = Number(process.env.OFFPEAK_SCALE_MACHINES ?? 10_000);
/** Temporal's guidance: a history stays well under 10,000 events. */
const HISTORY_LIMIT = 10_000;
/** Every this many machines, one machine attempt's history is read (they are small and alike). */
const MACHINE_SAMPLE_EVERY = 250;
/** Not geo-paired with one another, so they share a phase and run at once. */
const REGIONS = ['eastus', 'northeurope', 'centralus', 'southeastasia'];

/** Events and the largest payload (bytes) of every run of a workflow, following continue-as-new back. */
async function runSizes(
  client: Client,
  handle: WorkflowHandle,
): Promise<Array<{ events: number; largest: number; bytes: number }>> {
  return (await runsOf(client, handle.workflowId)).map(({ history: run }) => ({
    events: run.events!.length,
    largest: Math.max(...run.events!.map((e) => largestPayload(e))),
    bytes: run.events!.reduce(
      (n, e) => n + temporal.api.history.v1.HistoryEvent.encode(e).finish().length,
      0,
    ),
  }));
}

/** The largest payload an event carries (inputs, results, signal arguments). */
function largestPayload(event: temporal.api.history.v1.IHistoryEvent): number {
  let largest = 0;
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const payload = value as { data?: Uint8Array; metadata?: unknown };
    if (payload.data instanceof Uint8Array && payload.metadata)
      largest = Math.max(largest, payload.data.length);
    for (const v of Object.values(value)) visit(v);
  };
  visit(event);
  return largest;
}

type Machine = Record<string, unknown> & { name: string; region: string };

/** The default: MACHINES standalone machines over four regions of one phase, one machine a step. */
function oneAStep(): { machines: Machine[]; policy: unknown; regions: string[]; title: string } {
  const machines = Array.from({ length: MACHINES }, (_, i) => ({
    name: `s${String(i).padStart(6, '0')}`,
    region: REGIONS[i % REGIONS.length],
    os: 'Linux',
    patchMode: 'AutomaticByPlatform',
    simulation: { installSeconds: 0, rebootSeconds: 0 },
  }));
  const policy = { windows: 'always', disruptionBudget: 1, phases: [REGIONS] };
  return { machines, policy, regions: REGIONS, title: `${MACHINES} machines, one a step, 4 regions at once` };
}

/**
 * The widest step: in eastus, zone 1 (500 machines), set-a (2,500 machines in 5 update domains, so its
 * 20% is 500) and 500 standalone machines under a budget of 100%. Service `x` holds the first machine of
 * each track with one allowed down: its share (1) is under its 3 lanes, so the tracks share one lane.
 */
function widest(): { machines: Machine[]; policy: unknown; regions: string[]; title: string } {
  const machines: Machine[] = [];
  const add = (name: string, extra: Record<string, unknown>, first: boolean) =>
    machines.push({
      name,
      region: 'eastus',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      simulation: { installSeconds: 0, rebootSeconds: 0 },
      ...(first ? { tags: { service: 'x' } } : {}),
      ...extra,
    });
  for (let i = 0; i < 500; i++) add(`z${String(i).padStart(4, '0')}`, { zone: '1' }, i === 0);
  for (let i = 0; i < 2_500; i++)
    add(`a${String(i).padStart(4, '0')}`, { availabilitySet: 'set-a', updateDomain: i % 5 }, i === 0);
  for (let i = 0; i < 500; i++) add(`n${String(i).padStart(4, '0')}`, {}, i === 0);
  const policy = {
    windows: 'always',
    disruptionBudget: '100%',
    serviceCapacity: { tag: 'service', minAvailable: 2 },
  };
  return {
    machines,
    policy,
    regions: ['eastus'],
    title: 'the widest step: one region, three tracks in one lane',
  };
}

/**
 * A crowded region: zone 1 (500 machines) and 500 standalone machines under a budget of 100%, and 32
 * availability sets of 200 machines (5 update domains of 40). Side by side at the budget's widths its 34
 * lanes would run 2,280 attempts at once, over the 2,000 children Temporal lets a workflow have running;
 * the planner takes zone and standalone batches of 100, so every set keeps its lane: 1,480 at once
 * (MAX_REGION_ATTEMPTS, docs/planner.md "Attempts at once").
 */
function crowded(): { machines: Machine[]; policy: unknown; regions: string[]; title: string } {
  const machines: Machine[] = [];
  const add = (name: string, extra: Record<string, unknown>) =>
    machines.push({
      name,
      region: 'eastus',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      simulation: { installSeconds: 0, rebootSeconds: 0 },
      ...extra,
    });
  for (let i = 0; i < 500; i++) add(`z${String(i).padStart(4, '0')}`, { zone: '1' });
  for (let s = 0; s < 32; s++)
    for (let i = 0; i < 200; i++)
      add(`a${s}-${String(i).padStart(3, '0')}`, { availabilitySet: `set-${s}`, updateDomain: i % 5 });
  for (let i = 0; i < 500; i++) add(`n${String(i).padStart(4, '0')}`, {});
  const policy = { windows: 'always', disruptionBudget: '100%' };
  return { machines, policy, regions: ['eastus'], title: 'a crowded region (34 lanes)' };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const shapes: Record<string, () => ReturnType<typeof oneAStep>> = { widest, crowded };
  const shape = (shapes[process.env.OFFPEAK_SCALE_SHAPE ?? ''] ?? oneAStep)();
  const { machines, regions: REGIONS_RUN } = shape;
  const fleet = parseFleet({ machines });
  const policy = parsePolicy(shape.policy);
  if (!fleet.ok || !policy.ok) throw new Error('bad benchmark fleet or policy');
  const plan = planRollout(fleet.value, policy.value);
  if (!plan.ok) throw new Error(JSON.stringify(plan.problems));
  const widestStep = Math.max(...plan.value.regions.flatMap((r) => r.steps.map((s) => s.machines.length)));
  const rolloutId = 'scale-run';
  const store = mkdtempSync(join(tmpdir(), 'offpeak-scale-store-'));
  process.env.OFFPEAK_SPEC_STORE = store; // the worker's loadSpecSlice and the report read it
  const input = stageRolloutInput(
    buildRolloutInput({
      rolloutId,
      startedBy: 'bench',
      fleet: fleet.value,
      policy: policy.value,
      plan: plan.value,
      now: new Date(),
    }),
    { dir: store, inlineLimitBytes: 0 },
  );

  process.stdout.write(
    `== A sliced rollout of ${shape.title}: ${machines.length} machines, ${plan.value.regions.reduce((n, r) => n + r.steps.length, 0)} steps, the widest ${widestStep} machines ==\n`,
  );
  const server = await startDevServerOnFreePorts();
  try {
    const { worker, client, connection } = await benchWorkerAndClient(
      server.address,
      require.resolve('../workflows'),
      'offpeak-scale-',
    );
    const t0 = performance.now();
    const progress = setInterval(
      () => process.stdout.write(`… ${((performance.now() - t0) / 1000).toFixed(0)} s\n`),
      60_000,
    ).unref();
    const { rollout, regions, status, seconds } = await worker.runUntil(async () => {
      const handle = await client.workflow.start('rolloutWorkflow', {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: rolloutWorkflowId(rolloutId),
        args: [input],
      });
      const result = (await handle.result()) as { status: string };
      clearInterval(progress);
      return {
        status: result.status,
        seconds: (performance.now() - t0) / 1000,
        rollout: await runSizes(client, client.workflow.getHandle(handle.workflowId)),
        regions: await Promise.all(
          REGIONS_RUN.map((r) => runSizes(client, client.workflow.getHandle(regionWorkflowId(rolloutId, r)))),
        ),
      };
    });
    await connection.close();
    const guard = await runSizes(client, client.workflow.getHandle(FLEET_GUARD_ID));
    const sampled = await Promise.all(
      machines
        .filter((_, i) => i % MACHINE_SAMPLE_EVERY === 0)
        .map((m) =>
          runSizes(client, client.workflow.getHandle(machineWorkflowId(rolloutId, m.region, m.name, 1))),
        ),
    );

    const t1 = performance.now();
    const report = await rolloutReport(client, rolloutId);
    const reportSeconds = (performance.now() - t1) / 1000;
    const kinds = { rollout, regions: regions.flat(), 'fleet guard': guard, machines: sampled.flat() };
    type Sizes = { events: number; largest: number; bytes: number };
    const max = (runs: Sizes[], key: keyof Sizes) => Math.max(...runs.map((r) => r[key]));
    const succeeded = report.machines.filter((m) => m.outcome === OUTCOME.Succeeded).length;
    process.stdout.write(
      [
        `status ${status}, ${seconds.toFixed(0)} s (${(machines.length / seconds).toFixed(1)} machines/s)`,
        ...Object.entries(kinds).map(
          ([kind, runs]) =>
            `${kind}: ${runs.length} run(s)${kind === 'machines' ? ` (1 in ${MACHINE_SAMPLE_EVERY} read)` : ''}, largest history ${max(runs, 'events')} events and ${(max(runs, 'bytes') / 2 ** 20).toFixed(2)} MB, largest payload ${max(runs, 'largest')} bytes`,
        ),
        `report: ${report.machines.length} machines (${succeeded} Succeeded) assembled in ${reportSeconds.toFixed(1)} s`,
      ].join('\n') + '\n',
    );
    const over = Object.entries(kinds).filter(([, runs]) => max(runs, 'events') >= HISTORY_LIMIT);
    for (const [kind, runs] of over)
      process.stderr.write(`${kind}: a history of ${max(runs, 'events')} events, over ${HISTORY_LIMIT}\n`);
    if (status !== ROLLOUT_STATUS.Completed || succeeded !== machines.length)
      process.stderr.write(`not every machine succeeded\n`);
    if (over.length > 0 || status !== ROLLOUT_STATUS.Completed || succeeded !== machines.length)
      process.exitCode = 1;
    process.stdout.write(
      `every history under ${HISTORY_LIMIT} events: ${over.length === 0 ? 'yes' : 'NO'}\n`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
