/**
 * Rollout throughput (`npm run bench`, section 4; also alone: `node dist/scripts/bench-throughput.js`).
 *
 * OFFPEAK_BENCH_MACHINES machines (default 400) over 4 regions (zones and availability sets), the simulated
 * driver with zero durations, on one dev server: Offpeak's rollout against a bare Temporal baseline of the
 * same shape and the same activities per machine (scripts/bench/baseline-workflows.ts), alternately,
 * OFFPEAK_BENCH_ROUNDS times each (default 3), each run on a fresh worker (cold cache) over fresh simulated
 * hosts, with the same worker options. Prints every run, the ratio of each pair, its spread and the pair's
 * ratio of CPU-seconds (worker and server: on a machine they keep busy, the throughput follows it), and, from
 * the first pair's histories, where the work goes per machine (events, workflow tasks, activities, signals,
 * timers, upserts). Fails when the two did not do the same work on the hosts (installs and reboots).
 * OFFPEAK_BENCH_DUMP=dir writes round 1's histories there (regions, rollouts, the guard) for timelines;
 * OFFPEAK_BENCH_PROBE=1 prints what each run's histories hold (`probe`).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from '../activities';
import { readLedger } from '../activities/drivers/simulated';
import { parseFleet, type Fleet } from '../domain/fleet';
import { parsePolicy } from '../domain/policy';
import { planRollout } from '../domain/planner';
import { buildRolloutInput, DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import { startDevServerOnFreePorts } from '../servers/dev-server';
import { simulatedDrivers } from '../worker/worker';
import { FLEET_GUARD_ID } from '../workflows/guard-contracts';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../workflows/ids';

const MACHINES = Number(process.env.OFFPEAK_BENCH_MACHINES ?? 400);
const ROUNDS = Number(process.env.OFFPEAK_BENCH_ROUNDS ?? 3);
/** `Offpeak` or `baseline`: that one only (to profile it: `node --cpu-prof dist/scripts/bench-throughput.js`). */
const ONLY = process.env.OFFPEAK_BENCH_ONLY;
const REGIONS = ['eastus', 'westus', 'northeurope', 'westeurope'];
/** The goal of issue 16: Offpeak's throughput at least this share of the baseline's, in the same run. */
const GOAL = 0.95;
/** The same for both: the worker options `offpeak worker` uses are its defaults plus these. */
const WORKER_OPTIONS: Partial<WorkerOptions> = {
  maxConcurrentActivityTaskExecutions: 200,
  maxConcurrentWorkflowTaskExecutions: 100,
};

const EventType = temporal.api.enums.v1.EventType;
const TaskQueueKind = temporal.api.enums.v1.TaskQueueKind;

function benchFleet(n: number): Fleet {
  const machines = Array.from({ length: n }, (_, i) => {
    const region = REGIONS[i % REGIONS.length];
    const zonal = region !== 'westus';
    return {
      name: `m${String(i).padStart(5, '0')}`,
      region,
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      ...(zonal ? { zone: String((i % 3) + 1) } : { availabilitySet: `set-${i % 4}`, updateDomain: i % 5 }),
      simulation: { installSeconds: 0, rebootSeconds: 0 },
    };
  });
  const parsed = parseFleet({ machines });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  return parsed.value;
}

/** CPU seconds (user + system) this process and its children (the dev server) used so far. */
function cpuSeconds(): { worker: number; server: number } {
  const { user, system } = process.cpuUsage();
  const ticks = Number(process.env.CLK_TCK ?? 100);
  let server = 0;
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim();
    for (const pid of children ? children.split(' ') : []) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        server += (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
      } catch {
        // the child ended
      }
    }
  }
  return { worker: (user + system) / 1e6, server };
}

type Kind = 'rollout' | 'region' | 'machine' | 'guard';
type Shape = Record<string, number>;

const seconds = (e: temporal.api.history.v1.IHistoryEvent) =>
  Number(e.eventTime!.seconds) + (e.eventTime!.nanos ?? 0) / 1e9;

/**
 * Seconds from a run's first event to its last, and of those the seconds in which none of its children ran
 * (a region before its first step, between its steps and after its last: leases, reports and replies; the
 * baseline has none of them), the part of those between one step's last child and the next step's first,
 * and the seconds its workflow tasks waited for the worker and ran there.
 */
function timesOf(events: temporal.api.history.v1.IHistoryEvent[]): {
  span: number;
  idle: number;
  between: number;
  wait: number;
  run: number;
} {
  const ended = [
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
  ];
  let running = 0;
  let idle = 0;
  let between = 0;
  let last = seconds(events[0]);
  let lastEnd: number | undefined;
  for (const e of events) {
    if (running === 0) idle += seconds(e) - last;
    last = seconds(e);
    if (e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
      if (running === 0 && lastEnd !== undefined) between += last - lastEnd;
      running++;
    }
    if (ended.includes(e.eventType!) && --running === 0) lastEnd = last;
  }
  // A workflow task's wait for the worker (scheduled to started: the worker busy with other tasks) and run.
  const tasks = { wait: 0, run: 0 };
  const at = new Map<number, number>();
  for (const e of events) {
    at.set(Number(e.eventId), seconds(e));
    const started = e.workflowTaskStartedEventAttributes;
    if (started) tasks.wait += seconds(e) - at.get(Number(started.scheduledEventId))!;
    const completed = e.workflowTaskCompletedEventAttributes;
    if (completed) tasks.run += seconds(e) - at.get(Number(completed.startedEventId))!;
  }
  return { span: last - seconds(events[0]), idle, between, ...tasks };
}

/** What one history holds: events, workflow tasks, activities, signals, timers, children, upserts, times. */
function shapeOf(events: temporal.api.history.v1.IHistoryEvent[]): Shape {
  const count = (...types: number[]) => events.filter((e) => types.includes(e.eventType!)).length;
  const { span, idle, between, wait, run } = timesOf(events);
  return {
    'span (s)': span,
    'no child (s)': idle,
    'between steps (s)': between,
    'task wait (s)': wait,
    'task run (s)': run,
    events: events.length,
    'history (KB)': events.reduce(
      (n, e) => n + temporal.api.history.v1.HistoryEvent.encode(e).finish().length / 1024,
      0,
    ),
    'workflow tasks': count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    activities: count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    'signals sent': count(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
    'signals received': count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
    timers: count(EventType.EVENT_TYPE_TIMER_STARTED),
    children: count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
    upserts: count(
      EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
      EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
    ),
  };
}

/** The shapes of every workflow of a run, summed per kind (every run of a workflow that continued as new). */
async function shapesOf(client: Client, ids: Array<[Kind, string]>): Promise<Record<Kind, Shape>> {
  const total: Record<Kind, Shape> = { rollout: {}, region: {}, machine: {}, guard: {} };
  for (const [kind, workflowId] of ids) {
    total[kind].workflows = (total[kind].workflows ?? 0) + 1;
    let runId: string | undefined = undefined;
    do {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      for (const [k, v] of Object.entries(shapeOf(history.events!)))
        total[kind][k] = (total[kind][k] ?? 0) + v;
      runId =
        history.events![0].workflowExecutionStartedEventAttributes!.continuedExecutionRunId ?? undefined;
    } while (runId);
  }
  return total;
}

/**
 * OFFPEAK_BENCH_PROBE=1: after each run, what its histories hold in all (every workflow whose id starts
 * with the run's): events, workflow tasks, tasks that missed the worker's sticky cache (scheduled on the
 * normal queue after the first), and failed or timed-out tasks. Two runs with the same counts did the
 * same work on the server, whatever their CPU seconds say.
 */
async function probe(client: Client, what: Run['what'], id: string): Promise<void> {
  const prefix = what === 'Offpeak' ? rolloutWorkflowId(id) : id;
  const c = { workflows: 0, events: 0, tasks: 0, cacheMisses: 0, failed: 0, timedOut: 0 };
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}"` })) {
    c.workflows++;
    for (const e of (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events!) {
      c.events++;
      const scheduled = e.workflowTaskScheduledEventAttributes;
      if (scheduled) c.tasks++;
      if (scheduled?.taskQueue?.kind === TaskQueueKind.TASK_QUEUE_KIND_NORMAL && Number(e.eventId) > 2)
        c.cacheMisses++;
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) c.failed++;
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) c.timedOut++;
    }
  }
  const counts = Object.entries(c).map(([k, v]) => `${k} ${v}`);
  process.stdout.write(`  ${what}'s histories: ${counts.join(', ')}\n`);
}

interface Run {
  what: 'Offpeak' | 'baseline';
  seconds: number;
  cpu: { worker: number; server: number };
  installs: number;
  reboots: number;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const fleet = benchFleet(MACHINES);
  const policy = parsePolicy({ windows: 'always', disruptionBudget: '100%', errorBudget: '100%' });
  if (!policy.ok) throw new Error('policy');
  const planned = planRollout(fleet, policy.value);
  if (!planned.ok) throw new Error(JSON.stringify(planned.problems));
  const plan = planned.value;
  const inputOf = (rolloutId: string): RolloutInput =>
    buildRolloutInput({ rolloutId, startedBy: 'bench', fleet, policy: policy.value, plan, now: new Date() });
  const steps = plan.regions.reduce((n, r) => n + r.steps.length, 0);
  process.stdout.write(
    `${MACHINES} machines, ${plan.phases.length} phase(s), ${steps} region steps; ${ROUNDS} round(s), alternating\n`,
  );

  const server = await startDevServerOnFreePorts();
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./bench/workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const runs: Run[] = [];
  try {
    /** One run on a fresh worker over fresh simulated hosts. */
    const run = async (what: Run['what'], round: number): Promise<Run> => {
      const stateDir = mkdtempSync(join(tmpdir(), 'offpeak-bench-'));
      const worker = await Worker.create({
        connection,
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowBundle,
        activities: createActivities(simulatedDrivers(stateDir, 0)),
        ...WORKER_OPTIONS,
      });
      const id = `bench-${what}-${round}`;
      const cpu0 = cpuSeconds();
      const t0 = performance.now();
      await worker.runUntil(
        what === 'Offpeak'
          ? client.workflow.execute('rolloutWorkflow', {
              taskQueue: DEFAULT_TASK_QUEUE,
              workflowId: rolloutWorkflowId(id),
              args: [inputOf(id)],
            })
          : client.workflow.execute('baselineRollout', {
              taskQueue: DEFAULT_TASK_QUEUE,
              workflowId: id,
              args: [inputOf(id), id],
            }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = cpuSeconds();
      const ledger = await readLedger(stateDir);
      if (process.env.OFFPEAK_BENCH_PROBE) await probe(client, what, id);
      return {
        what,
        seconds,
        cpu: { worker: cpu1.worker - cpu0.worker, server: cpu1.server - cpu0.server },
        installs: new Set(ledger.filter((e) => e.kind === 'install').map((e) => e.machine)).size,
        reboots: ledger.filter((e) => e.kind === 'reboot').length,
      };
    };

    for (let round = 1; round <= ROUNDS; round++) {
      const order: Array<Run['what']> = round % 2 === 1 ? ['baseline', 'Offpeak'] : ['Offpeak', 'baseline'];
      for (const what of order.filter((w) => !ONLY || w === ONLY)) {
        const r = await run(what, round);
        runs.push(r);
        process.stdout.write(
          `round ${round} ${what.padEnd(8)} ${r.seconds.toFixed(1).padStart(6)} s, ${(MACHINES / r.seconds).toFixed(1).padStart(5)} machines/s; CPU: worker ${r.cpu.worker.toFixed(1)} s, server ${r.cpu.server.toFixed(1)} s; ${r.installs} installed, ${r.reboots} rebooted\n`,
        );
      }
    }

    if (ONLY) return;
    // Where the work goes, per machine, from the first round's histories.
    const machineIds = plan.regions.flatMap((r) =>
      r.steps.flatMap((s) => s.machines.map((m) => [r.region, m])),
    );
    const offpeak = await shapesOf(client, [
      ['rollout', rolloutWorkflowId('bench-Offpeak-1')],
      ...plan.regions.map((r): [Kind, string] => ['region', regionWorkflowId('bench-Offpeak-1', r.region)]),
      ...machineIds.map(([region, m]): [Kind, string] => [
        'machine',
        machineWorkflowId('bench-Offpeak-1', region, m, 1),
      ]),
      ['guard', FLEET_GUARD_ID],
    ]);
    const baseline = await shapesOf(client, [
      ['rollout', 'bench-baseline-1'],
      ...plan.regions.map((r): [Kind, string] => ['region', `bench-baseline-1/${r.region}`]),
      ...machineIds.map(([region, m]): [Kind, string] => ['machine', `bench-baseline-1/${region}/${m}`]),
    ]);
    if (process.env.OFFPEAK_BENCH_DUMP) {
      mkdirSync(process.env.OFFPEAK_BENCH_DUMP, { recursive: true });
      for (const [name, wid] of [
        ...REGIONS.map((r) => [`offpeak-${r}`, regionWorkflowId('bench-Offpeak-1', r)]),
        ['offpeak-rollout', rolloutWorkflowId('bench-Offpeak-1')],
        ...REGIONS.map((r) => [`baseline-${r}`, `bench-baseline-1/${r}`]),
        ['baseline-rollout', 'bench-baseline-1'],
        ['offpeak-guard', FLEET_GUARD_ID],
        ['offpeak-machine', machineWorkflowId('bench-Offpeak-1', machineIds[0][0], machineIds[0][1], 1)],
        ['baseline-machine', `bench-baseline-1/${machineIds[0][0]}/${machineIds[0][1]}`],
      ]) {
        const h = await client.workflow.getHandle(wid).fetchHistory();
        writeFileSync(join(process.env.OFFPEAK_BENCH_DUMP, `${name}.json`), JSON.stringify(h.events));
      }
    }
    // Counts per machine; times (s) per workflow of the kind, summed over its runs.
    const cell = (shape: Shape, key: string, rounds = 1) =>
      key.endsWith('(s)')
        ? ((shape[key] ?? 0) / (shape.workflows ?? 1)).toFixed(2)
        : ((shape[key] ?? 0) / MACHINES / rounds).toFixed(2);
    process.stdout.write(
      `\nround 1's histories: counts per machine, times per workflow (the fleet guard's history covers every Offpeak run, its counts divided by them):\n`,
    );
    process.stdout.write(
      `${''.padEnd(18)}${['Offpeak: machine', 'region', 'rollout', 'guard', 'baseline: machine', 'region', 'rollout'].map((h) => h.padStart(h.length > 10 ? h.length + 1 : 10)).join('')}\n`,
    );
    for (const key of Object.keys(offpeak.machine).filter((k) => k !== 'workflows'))
      process.stdout.write(
        `${key.padEnd(18)}${[
          cell(offpeak.machine, key),
          cell(offpeak.region, key),
          cell(offpeak.rollout, key),
          cell(offpeak.guard, key, ROUNDS),
          cell(baseline.machine, key),
          cell(baseline.region, key),
          cell(baseline.rollout, key),
        ]
          .map((v) => v.padStart(10))
          .join('')}\n`,
      );
  } finally {
    await connection.close();
    await server.stop();
  }

  const of = (what: Run['what']) => runs.filter((r) => r.what === what);
  for (const [o, b] of of('Offpeak').map((o, i) => [o, of('baseline')[i]]))
    if (o.installs !== b.installs || o.reboots !== b.reboots)
      throw new Error(
        `the runs did different work: Offpeak ${o.installs}/${o.reboots}, baseline ${b.installs}/${b.reboots}`,
      );
  const ratios = of('Offpeak').map((o, i) => of('baseline')[i].seconds / o.seconds);
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  // On a machine whose cores the worker and the server keep busy, the throughput follows the CPU the work
  // takes: the same ratio of CPU-seconds (worker and server), per round, tells load from work.
  const cpuOf = (r: Run) => r.cpu.worker + r.cpu.server;
  const cpuRatios = of('Offpeak').map((o, i) => cpuOf(of('baseline')[i]) / cpuOf(o));
  process.stdout.write(
    [
      `\nratio (Offpeak / baseline throughput) per round: ${ratios.map(pct).join(', ')}`,
      `median ${pct(median)}, spread ${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))} (goal: at least ${pct(GOAL)})`,
      `CPU-seconds, baseline / Offpeak, per round: ${cpuRatios.map(pct).join(', ')}`,
    ].join('\n') + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
