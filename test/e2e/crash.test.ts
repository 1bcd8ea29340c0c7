import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
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
 * The orchestration worker (`offpeak worker`, a child process) is killed with SIGKILL three times at
 * seeded random points of a running rollout and started again each time. The rollout still completes,
 * and the simulator's ledger shows no patch installed twice and no machine rebooted twice in an attempt.
 * After a kill, Temporal hands the dead worker's activities out again only after their timeouts (30 s
 * heartbeat, 1 minute start-to-close for quick ones): most of this test's time is those waits.
 * Set CRASH_SEED to replay a particular schedule of kills.
 */

jest.setTimeout(480_000);

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
      [join(root, 'bin', 'offpeak.js'), 'worker', '--sim-state', this.stateDir, '--time-scale', '0.005'],
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
let worker: WorkerProcess | undefined;
beforeAll(async () => {
  server = await testDevServer();
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await server?.stop();
});

test('a rollout survives its worker being killed three times, and no machine is patched or rebooted twice', async () => {
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

  worker = new WorkerProcess(
    {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      OFFPEAK_LOG_LEVEL: 'warn',
    },
    stateDir,
    join(stateDir, 'worker.log'),
  );
  worker.start();

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
  const log: string[] = [`seed ${SEED}, worker log ${join(stateDir, 'worker.log')}`];
  try {
    await startRollout(client, input);
    const finished = async () => {
      const report = await handle.query(statusQuery);
      return { report, done: report.regions.reduce((n, r) => n + r.done, 0) };
    };
    const hostChanges = async (kind?: string) =>
      (await readLedger(stateDir)).filter((e) => e.kind !== 'script' && (!kind || e.kind === kind)).length;

    // Three kinds of kill point, in a seeded order: after N more machines finished (plus a random
    // moment into the next step), right after the Nth next host change, right after the next reboot.
    const triggers: Array<() => Promise<{ until: () => Promise<boolean>; then: number; what: string }>> = [
      async () => {
        const n = pick(2, 5);
        const base = (await finished()).done;
        return {
          until: async () => (await finished()).done >= base + n,
          then: pick(0, 1500),
          what: `${n} more machines finished`,
        };
      },
      async () => {
        const n = pick(1, 8);
        const base = await hostChanges();
        return {
          until: async () => (await hostChanges()) >= base + n,
          then: 0,
          what: `${n} more host changes`,
        };
      },
      async () => {
        const base = await hostChanges('reboot');
        return { until: async () => (await hostChanges('reboot')) > base, then: 0, what: 'the next reboot' };
      },
    ];
    for (let i = triggers.length - 1; i > 0; i--) {
      const j = pick(0, i);
      [triggers[i], triggers[j]] = [triggers[j], triggers[i]];
    }

    for (const trigger of triggers) {
      const { until, then, what } = await trigger();
      while (!(await until())) {
        expect((await finished()).report.status).toBe('Running'); // the rollout must not end before the kill
        await delay(20); // poll pacing only
      }
      await delay(then); // a seeded random moment, not a synchronisation
      const at = await finished();
      log.push(
        `kill after ${what} (+${then} ms): ${at.done} machines done, ${await hostChanges()} host changes`,
      );
      await worker.kill('SIGKILL');
      worker.start();
    }

    await handle.result();
    const report = await rolloutReport(client, input.rolloutId, { patches: true });
    expect(worker.alive()).toBe(true);
    expect(worker.starts).toBe(4);
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
    // Every patch the report shows installed is in the ledger, and the whole report holds up.
    for (const m of report.machines)
      for (const p of m.patches.filter((q) => q.state === 'Installed'))
        expect({
          installed: installs.has(`${m.name} ${p.patchId}`),
          machine: m.name,
          patch: p.patchId,
        }).toMatchObject({ installed: true });
    expect(checkLedger(report, ledger)).toEqual([]);
    expect(checkAvailability(report, fleet, policy)).toEqual([]);
  } finally {
    await connection.close();
    await worker.kill('SIGTERM');
  }
});
