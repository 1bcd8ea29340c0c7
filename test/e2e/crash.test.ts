import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { readLedger } from '../../activities/drivers/simulated';
import { seededRandom } from '../../activities/drivers/simulated/catalog';
import { prepareRollout } from '../../client/prepare';
import { startRollout } from '../../client/temporal';
import type { DevServer } from '../../servers/dev-server';
import { rolloutWorkflowId } from '../../workflows/ids';
import { rolloutReport } from '../../client/report';
import { statusQuery } from '../../workflows/messages';
import { checkAvailability, checkLedger } from '../support/availability-check';
import { fleetOf, policyOf, tempDir } from '../support/rollouts';
import { testDevServer } from '../support/servers';

/**
 * Two orchestration workers (`offpeak worker`, child processes, as a production deployment runs several)
 * are killed with SIGKILL at seeded random points of a running rollout, one or both at once, and started
 * again at once: at least 10 kills here (`CRASH_KILLS`), 50 in `npm run soak`. Simulated durations are
 * real but short (time scale 0.02: installs of 1.2-6 s, reboots of 0.6-1.8 s). A worker's death is never
 * a machine's failure: the rollout completes with every machine Succeeded, the simulator's ledger shows no
 * patch installed twice and no machine rebooted twice in an attempt, the ledger and the report match both
 * ways, and the independent availability checker passes. After a kill, Temporal hands the dead worker's
 * steps out again after their 10 s heartbeat timeout (every machine step heartbeats), its workflow tasks
 * after theirs. Set CRASH_SEED to replay a particular schedule of kills.
 */

const KILLS = Number(process.env.CRASH_KILLS ?? 10);
/** Simulated durations times this: `npm run soak` lengthens them so that the rollout outlasts 50 kills. */
const TIME_SCALE = process.env.CRASH_TIME_SCALE ?? '0.02';
jest.setTimeout(120_000 + KILLS * 20_000);

const SEED = Number(process.env.CRASH_SEED ?? 20250610);
const root = join(__dirname, '..', '..');

/** 36 machines in three regions: zones, an availability set of 10 in five update domains, standalone. */
function crashFleet(): unknown {
  const machines: Array<Record<string, unknown>> = [];
  const add = (name: string, region: string, extra: Record<string, unknown>) =>
    machines.push({
      name,
      region,
      patchMode: 'AutomaticByPlatform',
      os: 'Linux',
      tags: { service: 'app' },
      ...extra,
    });
  const windows = {
    os: 'Windows',
    image: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter' },
  };
  for (let i = 1; i <= 12; i++)
    add(`eus-${i}`, 'eastus', { zone: String(((i - 1) % 3) + 1), ...(i % 2 ? windows : {}) });
  for (let i = 1; i <= 2; i++) add(`eus-batch-${i}`, 'eastus', {});
  for (let i = 0; i < 10; i++)
    add(`wus-${i}`, 'westus', {
      availabilitySet: 'wus-set',
      updateDomain: i % 5,
      faultDomain: i % 2,
      ...(i % 3 ? {} : windows),
    });
  for (let i = 1; i <= 2; i++) add(`wus-batch-${i}`, 'westus', {});
  for (let i = 1; i <= 8; i++)
    add(`neu-${i}`, 'northeurope', { zone: String(((i - 1) % 2) + 1), ...(i % 4 ? {} : windows) });
  add('neu-batch-1', 'northeurope', { simulation: { pendingPatches: 1 } });
  add('neu-batch-2', 'northeurope', { simulation: { unreachable: 1 } });
  return { machines };
}

const policyDoc = { windows: 'always', disruptionBudget: '50%', errorBudget: 0, maxAttempts: 3 };

class WorkerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  starts = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly stateDir: string,
    private readonly logFile: string,
  ) {}

  start(): void {
    const out = openSync(this.logFile, 'a');
    this.child = spawn(
      process.execPath,
      [join(root, 'bin', 'offpeak.js'), 'worker', '--sim-state', this.stateDir, '--time-scale', TIME_SCALE],
      { cwd: root, env: this.env, stdio: ['ignore', out, out] },
    );
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.starts++;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
  }

  alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

let server: DevServer;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  server = await testDevServer();
});
afterAll(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  await server?.stop();
});

test(`a rollout survives ${KILLS} worker kills at random points: no machine fails, nothing is done twice, the report is the ledger`, async () => {
  const random = seededRandom(SEED);
  const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const stateDir = tempDir('crash');
  const fleet = fleetOf(crashFleet());
  const policy = policyOf(policyDoc);
  const input = prepareRollout({
    rolloutId: 'e2e-crash',
    startedBy: 'tester',
    fleet,
    policy,
    now: new Date(),
  });

  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    OFFPEAK_LOG_LEVEL: 'warn',
  };
  for (const name of ['a', 'b'])
    workers.push(new WorkerProcess(env, stateDir, join(stateDir, `worker-${name}.log`)));
  for (const w of workers) w.start();

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
  const log: string[] = [
    `seed ${SEED}, ${KILLS} kills, time scale ${TIME_SCALE}, worker logs in ${stateDir}`,
  ];
  const t0 = Date.now();
  let restarts = 0;
  try {
    await startRollout(client, input);
    const finished = async () => {
      const report = await handle.query(statusQuery);
      return { report, done: report.regions.reduce((n, r) => n + r.done, 0) };
    };
    const hostChanges = async (kind?: string) =>
      (await readLedger(stateDir)).filter((e) => e.kind !== 'script' && (!kind || e.kind === kind)).length;

    // Three kinds of kill point, one drawn per kill: right after the Nth next host change, right after the
    // next reboot, or a random moment after the previous kill; then a random extra delay (0-1.5 s).
    const triggers: Array<() => Promise<{ until: () => Promise<boolean>; what: string }>> = [
      async () => {
        const n = pick(1, 3);
        const base = await hostChanges();
        return { until: async () => (await hostChanges()) >= base + n, what: `${n} more host changes` };
      },
      async () => {
        const base = await hostChanges('reboot');
        return { until: async () => (await hostChanges('reboot')) > base, what: 'the next reboot' };
      },
      async () => {
        const ms = pick(500, 4000);
        const at = Date.now() + ms;
        return { until: async () => Date.now() >= at, what: `${ms} ms` };
      },
    ];

    for (let kill = 1; kill <= KILLS; kill++) {
      const { until, what } = await triggers[pick(0, triggers.length - 1)]();
      while (!(await until())) {
        // The rollout must not end (or halt) before the kill.
        const { status, reason } = (await finished()).report;
        expect({ status, reason, log }).toEqual({ status: 'Running', reason: undefined, log });
        await delay(20); // poll pacing only
      }
      const then = pick(0, 1500);
      await delay(then); // a seeded random moment, not a synchronisation
      const at = await finished();
      expect({ status: at.report.status, reason: at.report.reason, log }).toEqual({
        status: 'Running',
        reason: undefined,
        log,
      });
      // One worker, the other, or both at once (every step in flight dies then).
      const which = pick(0, 2);
      const victims = which === 2 ? workers : [workers[which]];
      log.push(
        `${((Date.now() - t0) / 1000).toFixed(1)} s: kill ${kill} (${['worker a', 'worker b', 'both workers'][which]}) after ${what} (+${then} ms): ` +
          `${at.done} machines done, ${await hostChanges()} host changes`,
      );
      await Promise.all(victims.map((w) => w.kill('SIGKILL')));
      for (const w of victims) w.start();
      restarts += victims.length;
    }

    await handle.result();
    log.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: the rollout ended`);
    writeFileSync(join(stateDir, 'kills.log'), log.join('\n') + '\n');
    const report = await rolloutReport(client, input.rolloutId, { patches: true });
    expect(workers.map((w) => w.alive())).toEqual([true, true]);
    expect(workers.reduce((n, w) => n + w.starts, 0)).toBe(2 + restarts);
    expect({ status: report.status, reason: report.reason, log }).toEqual({
      status: 'Completed',
      reason: undefined,
      log,
    });
    expect(report.machines.filter((m) => m.outcome !== 'Succeeded').map((m) => m.name)).toEqual([]);

    // The ledger: each machine installed each patch at most once, rebooted at most once per attempt.
    const ledger = await readLedger(stateDir);
    const installs = new Map<string, number>();
    const reboots = new Map<string, number>();
    for (const e of ledger) {
      if (e.kind === 'install')
        for (const id of e.patchIds ?? [])
          installs.set(`${e.machine} ${id}`, (installs.get(`${e.machine} ${id}`) ?? 0) + 1);
      if (e.kind === 'reboot')
        reboots.set(`${e.machine} #${e.attempt}`, (reboots.get(`${e.machine} #${e.attempt}`) ?? 0) + 1);
    }
    expect([...installs].filter(([, n]) => n > 1)).toEqual([]);
    expect([...reboots].filter(([, n]) => n > 1)).toEqual([]);
    expect(installs.size).toBeGreaterThan(36);
    expect(reboots.size).toBeGreaterThan(10);
    // The report and the ledger, both ways: the same installs and the same rebooted machines.
    const reported = report.machines.flatMap((m) =>
      m.patches.filter((p) => p.state === 'Installed').map((p) => `${m.name} ${p.patchId}`),
    );
    expect(reported.sort()).toEqual([...installs.keys()].sort());
    expect(report.machines.reduce((n, m) => n + m.installed, 0)).toBe(installs.size);
    const rebootedInLedger = new Set([...reboots.keys()].map((k) => k.split(' ')[0]));
    expect(
      report.machines
        .filter((m) => m.rebooted)
        .map((m) => m.name)
        .sort(),
    ).toEqual([...rebootedInLedger].sort());
    expect(checkLedger(report, ledger)).toEqual([]);
    expect(checkAvailability(report, fleet, policy)).toEqual([]);
  } finally {
    await connection.close();
    for (const w of workers) await w.kill('SIGTERM');
  }
});
