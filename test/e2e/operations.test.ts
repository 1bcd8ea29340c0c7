import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { ComplianceReport } from '../../domain/compliance';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import type { AssessmentResult } from '../../workflows/messages';
import type { RolloutReport } from '../../workflows/messages';
import { largeFleet } from '../support/large-fleet';
import { releaseMonthAt } from '../../domain/calendar';
import { tempDir } from '../support/rollouts';
import { testWorkflowBundle } from '../support/servers';
import { devServerForFile } from '../support/server-hooks';

/** The operator's day through the real CLI (built by `npm test`) against a dev server and a worker. */
jest.setTimeout(180_000);

const root = join(__dirname, '..', '..');
const fleet = join('test', 'fixtures', 'fleets', 'small.yaml');
const policyNow = join('test', 'fixtures', 'policy-now.yaml');
let server: DevServer;

function offpeak(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
      cwd: root,
      env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI running in the background: `until` resolves once its stdout contains `text`. */
function offpeakInBackground(...args: string[]) {
  const child = spawn(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_UI_URL: server.uiUrl,
    },
    timeout: 120_000, // a watch that never ends fails its test instead of holding the worker forever
  });
  let stdout = '';
  let stderr = '';
  const waiting: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.on('data', (d) => {
    stdout += d;
    for (const w of waiting.filter((w) => stdout.includes(w.text))) w.resolve();
  });
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const until = (text: string) =>
    stdout.includes(text)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ text, resolve }));
  const untilStderr = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => stderr.includes(text) && resolve();
      check();
      child.stderr.on('data', check);
    });
  return { until, untilStderr, closed, kill: (signal: NodeJS.Signals) => child.kill(signal) };
}

async function runWorker<T>(fn: () => Promise<T>): Promise<T> {
  const connection = await NativeConnection.connect({ address: server.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: server.namespace,
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowBundle: testWorkflowBundle(),
      activities: createActivities(simulatedDrivers(tempDir('ops'), 0)),
    });
    return await worker.runUntil(fn);
  } finally {
    await connection.close();
  }
}

const STACK = /\n\s+at /;

devServerForFile((s) => (server = s));

// First in this file: DescribeTaskQueue remembers pollers for minutes, and no worker has polled yet.
test('without a worker: start warns, status and steering answer from the server, watch waits for one and ends with what to do next', async () => {
  // Machines of its own, so that the compliance test below still finds small.yaml's never patched.
  const ownFleet = join(tempDir('ops-nw'), 'fleet.json');
  writeFileSync(
    ownFleet,
    JSON.stringify({
      machines: ['1', '2'].map((zone) => ({
        name: `nw-${zone}`,
        region: 'eastus',
        zone,
        os: 'Linux',
        patchMode: 'AutomaticByPlatform',
      })),
    }),
  );
  const started = await offpeak(
    'rollout',
    'start',
    '--fleet',
    ownFleet,
    '--policy',
    policyNow,
    '--id',
    'nw-1',
  );
  expect(started.code).toBe(0);
  expect(started.stdout).toBe('nw-1\n');
  expect(started.stderr).toContain('Warning: no worker polls task queue "offpeak"');

  const status = await offpeak('rollout', 'status', 'nw-1');
  expect(status.code).toBe(0);
  // No worker has polled: status answers from the server at once, without waiting for a query.
  const noWorker = /no worker has polled task queue "offpeak" in the last 90 s/;
  expect(status.stderr).toMatch(noWorker);
  expect(status.stdout).toMatch(/^Rollout nw-1: workflow RUNNING \(/);
  expect(status.stdout).toMatch(noWorker);
  expect(status.stdout + status.stderr).not.toMatch(STACK);
  const json = JSON.parse((await offpeak('rollout', 'status', 'nw-1', '-o', 'json')).stdout) as {
    status: unknown;
    server: { execution: string; closeTime: unknown };
  };
  expect(json.status).toBeNull();
  expect(json.server).toMatchObject({ execution: 'RUNNING', closeTime: null });

  const listed = JSON.parse((await offpeak('rollout', 'list', '-o', 'json')).stdout) as Array<{
    rolloutId: string;
    status: string;
    month: string;
    closeTime: unknown;
  }>;
  // The rollout's release: the latest Patch Tuesday on or before today.
  const month = releaseMonthAt(Date.now());
  expect(listed.find((r) => r.rolloutId === 'nw-1')).toMatchObject({
    status: 'RUNNING',
    month,
    closeTime: null,
  });
  expect(JSON.parse((await offpeak('rollout', 'list', '--month', '1999-01', '-o', 'json')).stdout)).toEqual(
    [],
  );
  expect((await offpeak('rollout', 'list', '--status', 'Completed', '-o', 'json')).stdout).not.toContain(
    '"nw-1"',
  );

  const missing = await offpeak('rollout', 'status', 'nope');
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim()).toBe('ID: no rollout "nope" (workflow offpeak/nope not found)');

  const report = await offpeak('rollout', 'report', 'nw-1');
  expect(report.code).toBe(1);
  expect(report.stderr).toContain('error: rollout nw-1 is running and its report needs a worker');
  expect(report.stderr).not.toMatch(STACK);

  // A command no worker answers is not lost: Temporal keeps the Update, and the rollout decides it (here
  // refuses it: there is no such gate) once a worker runs; the CLI must not say that nothing was recorded.
  const steered = await offpeak('rollout', 'approve', 'nw-1', '--gate', 'phase-9', '--by', 'carol');
  expect(steered.code).toBe(1);
  expect(steered.stderr).toContain('approve: the rollout did not answer (no worker answered within 15 s)');
  expect(steered.stderr).toContain('Temporal may still deliver it when a worker runs the rollout');
  expect(steered.stderr).not.toMatch(STACK);

  // watch shows the server's view until a worker runs, then the rollout's own progress to its end.
  const watch = offpeakInBackground('rollout', 'watch', 'nw-1', '--interval', '0.2');
  await watch.until('showing what the server keeps');
  await runWorker(() => watch.closed);
  const watched = await watch.closed;
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/Rollout nw-1: Completed/);
  expect(watched.stdout).toContain(`Temporal UI: ${server.uiUrl}/namespaces/${server.namespace}/workflows/`);
  expect(watched.stdout).toContain('Next: offpeak rollout report nw-1');
  expect(watched.stdout).not.toContain('\x1b['); // piped: plain lines, no redrawing
  expect(watched.stdout + watched.stderr).not.toMatch(STACK);
  const after = JSON.parse((await offpeak('rollout', 'status', 'nw-1', '-o', 'json')).stdout) as {
    gates: Array<{ name: string; decision: string; by: string }>;
  };
  expect(after.gates.filter((g) => g.by === 'carol')).toEqual([
    expect.objectContaining({ name: 'phase-9', decision: 'refused' }),
  ]);
});

test('offpeak worker: JSON log lines on stdout only, human lines on stderr, SIGTERM drains and says so', async () => {
  const worker = offpeakInBackground('worker', '--sim-state', tempDir('ops-worker'));
  await worker.untilStderr('Worker polling offpeak');
  worker.kill('SIGTERM');
  const { code, stdout, stderr } = await worker.closed;
  expect(stderr).toContain('SIGTERM: stopping. Running activities have 5 s to finish');
  expect(stderr.trim().split('\n').at(-1)).toBe('Worker stopped.');
  expect(code).toBe(0);
  const lines = stdout.split('\n').filter((l) => l.trim());
  for (const line of lines) expect(JSON.parse(line)).toMatchObject({ app: 'offpeak' });
  expect(stdout).not.toContain('\x1b['); // no colour codes from the SDK core
});

test('assess, install (a Manual machine too; --unsafe recorded), then compliance by fleet, rollout, patch and machine', async () => {
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(simulatedDrivers(tempDir('ops'), 0)),
  });
  const client = new Client({
    connection: await Connection.connect({ address: server.address }),
    namespace: server.namespace,
  });
  try {
    await worker.runUntil(async () => {
      const assessed = await offpeak('assess', '--fleet', fleet, '--machine', 'e1', 'm1', '--output', 'json');
      expect(assessed.code).toBe(0);
      const results = JSON.parse(assessed.stdout) as AssessmentResult[];
      expect(results.map((r) => [r.machine, r.outcome])).toEqual([
        ['e1', 'Succeeded'],
        ['m1', 'Succeeded'],
      ]);
      const kb = results[0].patches.find((p) => p.classification !== 'Other')!.patchId;

      const installed = await offpeak(
        'install',
        '--fleet',
        fleet,
        '--machine',
        'e1',
        'm1',
        '--id',
        'ops-1',
        '--wait',
        '--output',
        'json',
      );
      expect(installed.code).toBe(0);
      const report = JSON.parse(installed.stdout) as RolloutReport;
      expect(report.machines.map((m) => [m.name, m.outcome])).toEqual([
        ['e1', 'Succeeded'],
        ['m1', 'Succeeded'],
      ]);

      const unsafe = await offpeak(
        'install',
        '--fleet',
        fleet,
        '--machine',
        'w1',
        'w2',
        '--id',
        'ops-unsafe',
        '--unsafe',
        '--by',
        'carol',
        '--wait',
        '--output',
        'json',
      );
      expect(unsafe.code).toBe(0);
      expect(unsafe.stderr).toContain('UNSAFE install by carol');
      const described = await client.workflow.getHandle(rolloutWorkflowId('ops-unsafe')).describe();
      expect(described.memo?.offpeak).toMatchObject({ kind: 'install', unsafe: true, by: 'carol' });

      const all = await offpeak('compliance', '--fleet', fleet, '--output', 'json');
      expect(all.code).toBe(0);
      const fleetReport = JSON.parse(all.stdout) as ComplianceReport;
      // The first test's rollout patched machines of its own (nw-1, nw-2): Temporal knows them too.
      const ours = fleetReport.machines.filter((m) => !m.machine.startsWith('nw-'));
      const status = Object.fromEntries(ours.map((m) => [m.machine, m.status]));
      // The fleet is simulated (no driver): never counted compliant, whatever its evidence says.
      expect(Object.values(status)).toEqual(Array(5).fill('Simulated'));
      const evidence = Object.fromEntries(ours.map((m) => [m.machine, m.simulatedEvidence]));
      expect(evidence).toEqual({
        e1: 'Compliant',
        m1: 'Compliant',
        w1: 'Compliant',
        w2: 'Compliant',
        e2: 'Unknown',
      });
      expect(fleetReport.summary).toMatchObject({ compliant: 0, simulated: fleetReport.summary.machines });

      const byRollout = JSON.parse(
        (await offpeak('compliance', '--rollout', 'ops-1', '--output', 'json')).stdout,
      ) as ComplianceReport;
      expect(byRollout.machines.map((m) => m.machine)).toEqual(['e1', 'm1']);
      const byPatch = JSON.parse(
        (await offpeak('compliance', '--patch', kb, '--output', 'json')).stdout,
      ) as ComplianceReport;
      expect(byPatch.machines.find((m) => m.machine === 'e1')?.patch?.state).toBe('Installed');

      const csv = await offpeak('compliance', '--machine', 'e1', '--output', 'csv');
      expect(csv.stdout.split('\n')[0]).toBe(
        'machine,status,last assessed,critical,security,other,last install,outstanding',
      );
      // Without --fleet, the rollouts that patched e1 say it was simulated.
      expect(csv.stdout).toContain('e1,Simulated,');

      const unknownRollout = await offpeak('compliance', '--rollout', 'nope');
      expect(unknownRollout.code).toBe(1);
      expect(unknownRollout.stderr.trim()).toBe('--rollout: no rollout "nope"');
      const unknownSchedule = await offpeak('schedule', 'describe', 'nope');
      expect(unknownSchedule.code).toBe(1);
      expect(unknownSchedule.stderr.trim()).toBe('ID: no schedule "nope"');

      // Steering a rollout that has ended is one clear line and an operation failure, not a stack trace.
      const ended = await offpeak('rollout', 'cancel', 'ops-1', '--by', 'carol');
      expect(ended.code).toBe(1);
      expect(ended.stderr.trim()).toBe(
        'error: rollout ops-1 has already ended (Completed); nothing to cancel',
      );
    });
  } finally {
    await client.connection.close();
    await nativeConnection.close();
  }
});

test('large JSON arrives whole through a pipe: compliance of 12,000 machines, the report of a 4,001-machine rollout', async () => {
  const dir = tempDir('ops-large');
  const complianceFleet = join(dir, 'compliance.json');
  writeFileSync(complianceFleet, JSON.stringify(largeFleet(12_000)));
  const compliance = await offpeak('compliance', '--fleet', complianceFleet, '-o', 'json');
  expect(compliance.code).toBe(0);
  expect(Buffer.byteLength(compliance.stdout)).toBeGreaterThan(1024 * 1024);
  // The other tests' machines are in Temporal too; the fleet's 12,000 are all there, never assessed.
  const listed = (JSON.parse(compliance.stdout) as ComplianceReport).machines.filter((m) =>
    m.machine.startsWith('vm-'),
  );
  expect(listed).toHaveLength(12_000);
  // Simulated machines are never counted compliant; what their evidence says: never assessed.
  expect(listed.every((m) => m.status === 'Simulated' && m.simulatedEvidence === 'Unknown')).toBe(true);

  // 4,000 Manual machines are excluded at once (nothing to run), so the report is large and quick.
  const manual = largeFleet(4000).machines.map((m) => ({ ...m, zone: undefined, patchMode: 'Manual' }));
  const rolloutFleet = join(dir, 'rollout.json');
  writeFileSync(
    rolloutFleet,
    JSON.stringify({
      machines: [
        ...manual,
        { name: 'big-a1', region: 'eastus', zone: '1', os: 'Linux', patchMode: 'AutomaticByPlatform' },
      ],
    }),
  );
  const started = await runWorker(() =>
    offpeak('rollout', 'start', '--fleet', rolloutFleet, '--policy', policyNow, '--id', 'big-1', '--wait'),
  );
  expect(started.code).toBe(0);
  const report = await offpeak('rollout', 'report', 'big-1', '-o', 'json');
  expect(report.code).toBe(0);
  expect(Buffer.byteLength(report.stdout)).toBeGreaterThan(1024 * 1024);
  const parsed = JSON.parse(report.stdout) as RolloutReport;
  expect(parsed.machines).toHaveLength(4001);
  expect(parsed.machines.filter((m) => m.outcome === 'Excluded')).toHaveLength(4000);
});

test('schedule trigger starts the month now; schedule list has null, not "-", for a run that never happened', async () => {
  const created = await offpeak(
    'schedule',
    'create',
    '--id',
    'trig',
    '--fleet',
    fleet,
    '--policy',
    policyNow,
  );
  expect(created.code).toBe(0);
  const before = JSON.parse((await offpeak('schedule', 'list', '-o', 'json')).stdout) as Array<{
    id: string;
    lastRun: unknown;
  }>;
  expect(before.find((s) => s.id === 'trig')?.lastRun).toBeNull();

  const triggered = await offpeak('schedule', 'trigger', 'trig');
  expect(triggered.code).toBe(0);
  expect(triggered.stderr).toContain('trigger: offpeak/trig starts its rollout now');
  // The schedule records the run it took; describe reads it from the server (no worker needed).
  let runs: Array<{ workflowId?: string }> = [];
  for (let i = 0; i < 50 && runs.length === 0; i++) {
    runs = (
      JSON.parse((await offpeak('schedule', 'describe', 'trig', '-o', 'json')).stdout) as {
        recentRuns: typeof runs;
      }
    ).recentRuns;
  }
  expect(runs).toEqual([
    expect.objectContaining({ workflowId: expect.stringMatching(/^offpeak-scheduled\/trig/) }),
  ]);
  expect((await offpeak('schedule', 'trigger', 'nope')).code).toBe(1);
  expect((await offpeak('schedule', 'delete', 'trig')).code).toBe(0);
});
