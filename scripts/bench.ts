/**
 * `npm run bench`: benchmarks, not tests.
 * 1. The planner (time and peak memory for 10k, 100k, 1M machines): scripts/bench-planner.ts.
 * 2. Payload sizes of a rollout of 100,000 machines, sliced (docs/scale.md): scripts/scale-sizes.ts.
 * 3. The fleet guard's lease book: 100,000 machines, 1,000 concurrent requests: scripts/bench-guard.ts;
 *    and the guard through its workflow on a dev server (scripts/bench-guard-workflow.ts): 1,000
 *    concurrent requests of 10 machines, and 1,000 of 100 (100,000 machines in flight: the guard
 *    continues as new carrying them compactly, about 0.6 MB; about a minute on 2 cores).
 * 4. Rollout throughput: the same machines through Offpeak and through a bare Temporal baseline (the
 *    same count of child workflows and activities with no logic) on the same dev server, in one run.
 * 4. Reports: the HTML report at 10,000 machines in Chromium, and `rollout status` at 100,000 machines
 *    with no worker (scripts/bench-reports.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { readLedger } from '../activities/drivers/simulated';
import { parseFleet, type Fleet } from '../domain/fleet';
import { parsePolicy } from '../domain/policy';
import { planRollout } from '../domain/planner';
import { buildRolloutInput, DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import { startDevServer } from '../servers/dev-server';
import { simulatedDrivers } from '../worker/worker';
import { rolloutWorkflowId } from '../workflows/ids';
import { freePort } from './bench-support';
import { payloadSizes } from './scale-sizes';

const MACHINES = Number(process.env.OFFPEAK_BENCH_MACHINES ?? 400);
const REGIONS = ['eastus', 'westus', 'northeurope', 'westeurope'];

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

async function main(): Promise<void> {
  process.stdout.write('== Planner ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-planner.js')], { stdio: 'inherit' });
  process.stdout.write('\n== Fleet guard: lease book at 100,000 machines, 1,000 concurrent requests ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-guard.js')], { stdio: 'inherit' });
  for (const [requests, perRequest] of [
    [1000, 10],
    [1000, 100],
  ]) {
    process.stdout.write(
      `\n== Fleet guard through its workflow: ${requests} concurrent requests of ${perRequest} machines ==\n`,
    );
    execFileSync(process.execPath, [join(__dirname, 'bench-guard-workflow.js')], {
      stdio: 'inherit',
      env: {
        ...process.env,
        OFFPEAK_BENCH_GUARD_REQUESTS: String(requests),
        OFFPEAK_BENCH_GUARD_PER_REQUEST: String(perRequest),
      },
    });
  }
  process.stdout.write('\n== Payload sizes at 100,000 machines (JSON bytes, each must stay under 1 MB) ==\n');
  for (const [what, size] of Object.entries(payloadSizes(100_000)))
    process.stdout.write(`${what.padEnd(22)} ${size}\n`);

  process.stdout.write(
    `\n== Rollout throughput: ${MACHINES} machines, Offpeak vs a bare Temporal baseline ==\n`,
  );
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({ port: await freePort(), uiPort: await freePort() });
  try {
    const fleet = benchFleet(MACHINES);
    const policy = parsePolicy({ windows: 'always', disruptionBudget: '100%', errorBudget: '100%' });
    if (!policy.ok) throw new Error('policy');
    const planned = planRollout(fleet, policy.value);
    if (!planned.ok) throw new Error(JSON.stringify(planned.problems));
    const plan = planned.value;
    const stateDir = mkdtempSync(join(tmpdir(), 'offpeak-bench-'));

    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection,
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowsPath: require.resolve('./bench/workflows'),
      activities: { ...createActivities(simulatedDrivers(stateDir, 0)), noop: async () => undefined },
      maxConcurrentActivityTaskExecutions: 200,
      maxConcurrentWorkflowTaskExecutions: 100,
    });
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });

    const result = await worker.runUntil(async () => {
      // Offpeak: the real rollout.
      const input = buildRolloutInput({
        rolloutId: 'bench',
        startedBy: 'bench',
        fleet,
        policy: policy.value,
        plan,
        now: new Date(),
      });
      let t0 = performance.now();
      await client.workflow.execute('rolloutWorkflow', {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: rolloutWorkflowId('bench'),
        args: [input],
      });
      const offpeakSeconds = (performance.now() - t0) / 1000;

      // The activities Offpeak ran per machine, counted from the ledger-independent history shape:
      // assess, install, bootId, reboot, waitForBoot, healthCheck when a reboot is needed; fewer otherwise.
      const ledger = await readLedger(stateDir);
      const rebooted = new Set(ledger.filter((e) => e.kind === 'reboot').map((e) => e.machine)).size;
      const activitiesPerMachine = Math.round((MACHINES * 3 + rebooted * 3) / MACHINES);

      // Baseline: same phases, regions, steps and children, the same activity count, no logic.
      const phases = plan.phases.map((p) =>
        p.regions.map((region) => ({
          region,
          steps: plan.regions.find((r) => r.region === region)!.steps.map((s) => s.machines),
        })),
      );
      t0 = performance.now();
      await client.workflow.execute('baselineRollout', {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: 'baseline',
        args: [phases, activitiesPerMachine, 'baseline'],
      });
      const baselineSeconds = (performance.now() - t0) / 1000;
      return {
        offpeakSeconds,
        baselineSeconds,
        activitiesPerMachine,
        steps: plan.regions.reduce((n, r) => n + r.steps.length, 0),
      };
    });
    await connection.close();

    const offpeakRate = MACHINES / result.offpeakSeconds;
    const baselineRate = MACHINES / result.baselineSeconds;
    process.stdout.write(
      [
        `phases ${plan.phases.length}, region steps ${result.steps}, activities per machine ~${result.activitiesPerMachine}`,
        `Offpeak:  ${result.offpeakSeconds.toFixed(1)} s, ${offpeakRate.toFixed(1)} machines/s`,
        `baseline: ${result.baselineSeconds.toFixed(1)} s, ${baselineRate.toFixed(1)} machines/s`,
        `ratio (Offpeak / baseline throughput): ${((offpeakRate / baselineRate) * 100).toFixed(0)}% (goal: at least 70%)`,
      ].join('\n') + '\n',
    );
  } finally {
    await server.stop();
  }
  process.stdout.write('\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-reports.js')], { stdio: 'inherit' });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
