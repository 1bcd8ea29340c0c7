import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { prepareRollout } from '../../client/prepare';
import { startRollout } from '../../client/temporal';
import type { DevServer } from '../../servers/dev-server';
import { rolloutWorkflowId } from '../../workflows/ids';
import { rolloutReport } from '../../client/report';
import { gateDecisionSignal, statusQuery } from '../../workflows/messages';
import type { RolloutReport } from '../../workflows/messages';
import { fleetOf, policyOf, tempDir } from '../support/rollouts';
import { freePort, testDevServer } from '../support/servers';

/**
 * Operational signals of a real `offpeak worker` process (the package's bin, built by `npm test`): it
 * serves Prometheus metrics on `--metrics-port`, Temporal's and Offpeak's, and writes pino JSON lines in
 * which every workflow and activity line names its rollout, region and machine.
 */

jest.setTimeout(120_000);

const root = join(__dirname, '..', '..');
const ROLLOUT = 'e2e-metrics';

let server: DevServer;
let worker: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let metricsUrl: string;
let logFile: string;
let report: RolloutReport;
let whileGateOpen: string;

beforeAll(async () => {
  server = await testDevServer();
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const dir = tempDir('metrics');
  logFile = join(dir, 'worker.log');
  const out = openSync(logFile, 'a');
  worker = spawn(
    process.execPath,
    [
      join(root, 'bin', 'offpeak.js'),
      'worker',
      '--metrics-port',
      String(port),
      '--metrics-host',
      '127.0.0.1',
      '--sim-state',
      dir,
      '--time-scale',
      '0',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: server.namespace,
        OFFPEAK_LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', out, 'pipe'],
    },
  );
  const child = worker;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  exited = new Promise((resolve) => child.once('exit', () => resolve()));

  const input = prepareRollout({
    rolloutId: ROLLOUT,
    startedBy: 'tester',
    fleet: fleetOf({
      machines: [
        { name: 'm1', region: 'eastus', zone: '1', os: 'Linux', patchMode: 'AutomaticByPlatform' },
        { name: 'm2', region: 'eastus', zone: '2', os: 'Linux', patchMode: 'AutomaticByPlatform' },
      ],
    }),
    policy: policyOf({ windows: 'always', approvals: { beforePhases: [0], approvers: ['alice'] } }),
    now: new Date(),
  });
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: server.namespace });
    await startRollout(client, input);
    const handle = client.workflow.getHandle(rolloutWorkflowId(ROLLOUT));
    // While the gate waits, the worker says so; then the gate is approved.
    while ((await handle.query(statusQuery)).openGate !== 'phase-0') await delay(200); // poll pacing only
    const gateOpen = (text: string) => sample(text, 'offpeak_gates_waiting', { rollout: ROLLOUT })[0] === 1;
    whileGateOpen = await scrapeUntil(gateOpen);
    await handle.signal(gateDecisionSignal, { gate: 'phase-0', decision: 'approve', by: 'alice' });
    report = await Promise.race([
      handle.result().then(() => rolloutReport(client, ROLLOUT)),
      exited.then(() => Promise.reject(new Error(`the worker exited early:\n${stderr}`))),
    ]);
  } finally {
    await connection.close();
  }
});

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGTERM');
    const timer = setTimeout(() => worker?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await server?.stop();
});

const missing = (text: string, names: string[]) =>
  names.filter((n) => !new RegExp(`^${n}(_bucket|_count|_sum)?[{ ]`, 'm').test(text));

/** Scrapes the worker until `done` holds (metrics are exported as tasks complete) or 30 s pass. */
async function scrapeUntil(done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await fetch(metricsUrl).then(
      (r) => r.text(),
      () => '', // the worker is still starting
    );
    if (done(text) || Date.now() > deadline) return text;
    await delay(250); // poll pacing only
  }
}

const sample = (text: string, name: string, labels: Record<string, string>) =>
  text
    .split('\n')
    .filter(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    )
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));

test("the worker serves Temporal's own metrics on --metrics-port", async () => {
  expect(report.status).toBe('Completed');
  const names = [
    'temporal_workflow_completed',
    'temporal_activity_execution_latency',
    'temporal_worker_start',
  ];
  const text = await scrapeUntil((t) => missing(t, names).length === 0);
  expect(missing(text, names)).toEqual([]);
  expect(text).toMatch(/^temporal_workflow_completed\{[^}]*workflow_type="machineAttemptWorkflow"/m);
});

test("the worker serves Offpeak's metrics: attempts by outcome, machines patched, failed, pending, gates waiting, lease waits", async () => {
  const names = [
    'offpeak_machine_attempts',
    'offpeak_machines_patched',
    'offpeak_machines_failed',
    'offpeak_machines_pending',
    'offpeak_gates_waiting',
    'offpeak_lease_wait_seconds',
    'offpeak_leases_held',
    'offpeak_leases_waiting',
  ];
  // Emitted by workflows/metrics.ts helpers, called from the machine and rollout workflows.
  const text = await scrapeUntil((t) => missing(t, names).length === 0);
  expect(missing(text, names)).toEqual([]);
  expect(sample(whileGateOpen, 'offpeak_gates_waiting', { rollout: ROLLOUT })).toEqual([1]);
  expect(sample(whileGateOpen, 'offpeak_machines_pending', { rollout: ROLLOUT })).toEqual([2]);
  const rollout = { rollout: ROLLOUT };
  expect(
    sample(text, 'offpeak_machine_attempts', { ...rollout, region: 'eastus', outcome: 'Succeeded' }),
  ).toEqual([2]);
  expect(sample(text, 'offpeak_machines_patched', rollout)).toEqual([2]);
  expect(sample(text, 'offpeak_machines_failed', rollout)).toEqual([0]);
  expect(sample(text, 'offpeak_machines_pending', rollout)).toEqual([0]);
  expect(sample(text, 'offpeak_gates_waiting', rollout)).toEqual([0]);
  // Every step took a lease from the fleet guard: one wait recorded per step, all given back.
  expect(
    sample(text, 'offpeak_lease_wait_seconds_count', { ...rollout, region: 'eastus', unsafe: 'false' })[0],
  ).toBeGreaterThan(0);
  expect(sample(text, 'offpeak_leases_held', {})).toEqual([0]);
});

test('every workflow and activity log line is pino JSON naming its rollout, region and machine', () => {
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ours = lines.filter(
    (l) => typeof l.workflowId === 'string' && l.workflowId.startsWith(`offpeak/${ROLLOUT}`),
  );
  const machineLines = ours.filter((l) => String(l.workflowId).split('/').length === 5);
  expect(machineLines.length).toBeGreaterThan(0);
  expect(ours.filter((l) => l.activityType).length).toBeGreaterThan(0);
  for (const l of ours) expect(l).toMatchObject({ app: 'offpeak', rollout: ROLLOUT });
  for (const l of machineLines) {
    const [, , region, machine] = String(l.workflowId).split('/');
    expect(l).toMatchObject({ region, machine });
  }
  expect(ours.some((l) => l.msg === 'machine patched' && l.machine === 'm1' && l.region === 'eastus')).toBe(
    true,
  );
});
