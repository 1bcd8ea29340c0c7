import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { ComplianceReport } from '../../domain/compliance';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { rolloutWorkflowId } from '../../workflows/ids';
import type { AssessmentResult } from '../../workflows/assess';
import type { RolloutReport } from '../../workflows/rollout-state';
import { tempDir } from '../support/rollouts';
import { testDevServer, testWorkflowBundle } from '../support/servers';

/** The operator's day through the real CLI (built by `npm test`) against a dev server and a worker. */
jest.setTimeout(180_000);

const root = join(__dirname, '..', '..');
const fleet = join('test', 'fixtures', 'fleets', 'small.yaml');
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

beforeAll(async () => {
  server = await testDevServer();
});
afterAll(async () => {
  await server?.stop();
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
      const status = Object.fromEntries(fleetReport.machines.map((m) => [m.machine, m.status]));
      // The fleet is simulated (no driver): never counted compliant, whatever its evidence says.
      expect(Object.values(status)).toEqual(Array(5).fill('Simulated'));
      const evidence = Object.fromEntries(fleetReport.machines.map((m) => [m.machine, m.simulatedEvidence]));
      expect(evidence).toEqual({
        e1: 'Compliant',
        m1: 'Compliant',
        w1: 'Compliant',
        w2: 'Compliant',
        e2: 'Unknown',
      });
      expect(fleetReport.summary).toMatchObject({ compliant: 0, simulated: 5, compliantPercent: 0 });

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
      expect(unknownRollout.code).toBe(2);
      expect(unknownRollout.stderr.trim()).toBe('--rollout: no rollout "nope"');
      const unknownSchedule = await offpeak('schedule', 'describe', 'nope');
      expect(unknownSchedule.code).toBe(2);
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
