import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { prepareRollout } from '../../client/prepare';
import { rolloutReport } from '../../client/report';
import { startRollout } from '../../client/temporal';
import type { DevServer } from '../../servers/dev-server';
import { inlineSpecOf } from '../../domain/spec-slices';
import { machineWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { checkAvailability } from '../support/availability-check';
import { AzureEmulator } from '../support/azure-emulator/server';
import { fleetOf, policyOf, tempDir } from '../support/rollouts';
import { testDevServer } from '../support/servers';
import { arcId, arcLinux, linuxVm, vmId, windowsVm } from '../fixtures/azure/emulated-machines';

/**
 * A rollout of Azure VMs and an Arc machine through the workflows, the real SDK in a real worker
 * process (`offpeak worker`, signed in with DefaultAzureCredential against the emulator's managed
 * identity endpoint), and the local ARM emulator. The worker is killed with SIGKILL while every
 * installPatches is running; the next worker resumes polling the same operations from the install
 * activities' heartbeat details, and the emulator's ledger shows one installPatches per machine.
 */

jest.setTimeout(180_000);

const root = join(__dirname, '..', '..');

let server: DevServer;
let emu: AzureEmulator;
let worker: ChildProcess | undefined;
beforeAll(async () => {
  [server, emu] = await Promise.all([testDevServer(), AzureEmulator.start()]);
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await Promise.all([server?.stop(), emu?.close()]);
});

const machines = [
  {
    name: 'az-win-1',
    zone: '1',
    os: 'Windows',
    resourceId: vmId('az-win-1'),
    emulated: windowsVm('az-win-1'),
  },
  { name: 'az-lin-1', zone: '2', os: 'Linux', resourceId: vmId('az-lin-1'), emulated: linuxVm('az-lin-1') },
  { name: 'arc-lin-1', os: 'Linux', resourceId: arcId('arc-lin-1'), emulated: arcLinux('arc-lin-1') },
];

function startWorker(env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const out = openSync(log, 'a');
  return spawn(process.execPath, [join(root, 'bin', 'offpeak.js'), 'worker'], {
    cwd: root,
    env,
    stdio: ['ignore', out, out],
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50); // poll pacing only
  }
}

test('Azure VMs and an Arc machine roll out through the real SDK; a worker killed mid-install never causes a second installPatches', async () => {
  for (const m of machines) emu.add(m.emulated);
  emu.pollRetryAfterSeconds = 1;
  emu.hold();
  const fleet = fleetOf({
    machines: machines.map((m) => ({
      name: m.name,
      region: 'eastus',
      os: m.os,
      patchMode: 'AutomaticByPlatform',
      ...(m.zone ? { zone: m.zone } : {}),
      driver: 'azure',
      azure: { resourceId: m.resourceId },
    })),
  });
  const policy = policyOf({ windows: 'always', disruptionBudget: '100%', errorBudget: 0 });
  const input = prepareRollout({
    rolloutId: 'e2e-azure',
    startedBy: 'tester',
    fleet,
    policy,
    now: new Date(),
  });
  const dir = tempDir('azure');
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    OFFPEAK_LOG_LEVEL: 'warn',
    ...emu.identityEnv(),
  };
  const log = join(dir, 'worker.log');
  worker = startWorker(env, log);

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  try {
    await startRollout(client, input);

    // Wait until the first step's installs of every lane (the zone lane's and the standalone lane's run
    // side by side) run in Azure and each operation is in its activity's heartbeat details (the one moment
    // a kill cannot be survived is before that: docs/azure-driver.md).
    const first = machines.find((m) => m.zone === '1')!;
    const steps = input.regions.flatMap((r) => inlineSpecOf(r).steps);
    const firstOfLanes = new Set(
      [...new Set(steps.map((s) => s.lane ?? 0))].flatMap(
        (lane) => steps.find((s) => (s.lane ?? 0) === lane)!.machines,
      ),
    );
    const expected = machines.filter((m) => firstOfLanes.has(m.name)).map((m) => m.resourceId);
    const checkpointed = async (resourceId: string) => {
      const name = resourceId.split('/').pop()!;
      const handle = client.workflow.getHandle(machineWorkflowId(input.rolloutId, 'eastus', name, 1));
      const pending = await handle.describe().then(
        (d) => d.raw.pendingActivities ?? [],
        () => [],
      );
      return pending.some(
        (a) => a.activityType?.name === 'install' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0,
      );
    };
    await until('the install operations in the heartbeat details', async () => {
      const running = emu.running();
      if (!expected.every((id) => running.some((o) => o.resourceId === id))) return false;
      for (const o of running) if (!(await checkpointed(o.resourceId))) return false;
      return true;
    });
    const inFlight = emu.running();
    const killed = worker;
    const exited = new Promise((resolve) => killed.once('exit', resolve));
    killed.kill('SIGKILL');
    await exited;
    // The kill caught the installs in flight (the first zone's, and the standalone Arc machine's in its
    // own lane), and nothing else.
    expect(emu.running()).toEqual(inFlight);
    expect(inFlight.map((o) => o.resourceId).sort()).toEqual([...expected].sort());
    expect(inFlight.every((o) => o.kind === 'installPatches')).toBe(true);
    expect(inFlight.map((o) => o.resourceId)).toContain(first.resourceId);

    worker = startWorker(env, log);
    emu.release();
    await client.workflow.getHandle(rolloutWorkflowId(input.rolloutId)).result();
    const report = await rolloutReport(client, input.rolloutId, { patches: true });

    expect({ status: report.status, log }).toEqual({ status: 'Completed', log });
    expect(report.machines.map((m) => [m.name, m.outcome, m.rebooted])).toEqual(
      expect.arrayContaining([
        ['az-win-1', 'Succeeded', true],
        ['az-lin-1', 'Succeeded', true],
        ['arc-lin-1', 'Succeeded', true],
      ]),
    );
    for (const m of machines) {
      const posts = emu
        .requestsTo('installPatches')
        .filter((r) => r.path === `${m.resourceId}/installPatches`);
      expect({ machine: m.name, posts: posts.map((r) => r.status) }).toEqual({
        machine: m.name,
        posts: [202],
      });
      const installs = emu.ledger.filter((e) => e.resourceId === m.resourceId && e.kind === 'installPatches');
      expect({ machine: m.name, installs: installs.length }).toEqual({ machine: m.name, installs: 1 });
    }
    // What Offpeak reports installed is what the emulator installed (Critical and Security only).
    const win = report.machines.find((m) => m.name === 'az-win-1')!;
    expect(win.patches.filter((p) => p.state === 'Installed').map((p) => p.patchId)).toEqual([
      'KB5044281',
      'KB5044099',
    ]);
    expect(
      emu.ledger.find((e) => e.resourceId === vmId('az-win-1') && e.kind === 'installPatches')?.installed,
    ).toEqual(['5044281', '5044099']);
    expect(checkAvailability(report, fleet, policy)).toEqual([]);
  } finally {
    await connection.close();
    worker?.kill('SIGTERM');
  }
});
