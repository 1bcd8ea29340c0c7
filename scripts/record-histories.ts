/**
 * Records the workflow histories that `test/workflows/replay.test.ts` replays against the current code:
 * real runs of the rollout, region, machine and fleet guard workflows with the simulated driver, on the time-skipping
 * test server (so the "retry in the next window" run skips its nights at once).
 *
 * Until Offpeak's first tagged release there are no users' histories to protect: when the workflows change
 * on purpose, delete the set and record it again. From the first release on, every change that alters
 * commands is guarded with `patched()`, each release's set is kept (recorded with `--prefix <version>`),
 * and a replay test that fails is that warning, never a reason to overwrite a history.
 *
 *   npm run build && node dist/scripts/setup-servers.js && node dist/scripts/record-histories.js \
 *     [--prefix P] [--only SCENARIO]
 *
 * Writes `test/histories/[P.]<scenario>.<workflow>.json` (proto3 JSON, the format of `temporal workflow
 * show --output json`; see test/support/histories.ts) and merges their entries into
 * `test/histories/manifest.json`, which names each file's workflow ID; entries of other files are kept.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout as pause } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { stageRolloutInput } from '../store/spec-store';
import { runsOf } from '../client/runs';
import { prepareRollout } from '../client/prepare';
import { parseFleet } from '../domain/fleet';
import { parsePolicy } from '../domain/policy';
import { DEFAULT_TASK_QUEUE, type RolloutInput } from '../domain/rollout-spec';
import { findServerBinary } from '../servers/binaries';
import { registerSearchAttributes } from '../servers/search-attributes';
import { simulatedDrivers } from '../worker/worker';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../workflows/ids';
import {
  approveUpdate,
  FLEET_GUARD_ID,
  gateDecisionSignal,
  leasesQuery,
  resumeUpdate,
  statusQuery,
  type RolloutSummary,
} from '../workflows/messages';
import { historyToJson, type HistoryRecord } from '../test/support/histories';
import { skipToLocalNoon } from '../test/support/workflow-harness';

/** The source tree's `test/histories/`, from `dist/scripts/`. */
const OUT = join(__dirname, '..', '..', 'test', 'histories');

const vm = (name: string, region: string, extra: Record<string, unknown> = {}) => ({
  name,
  region,
  os: 'Linux',
  patchMode: 'AutomaticByPlatform',
  ...extra,
});

function inputOf(
  rolloutId: string,
  fleetDoc: unknown,
  policyDoc: unknown,
  startedBy = 'recorder',
  now = new Date(),
): RolloutInput {
  const fleet = parseFleet(fleetDoc);
  const policy = parsePolicy(policyDoc);
  if (!fleet.ok || !policy.ok) throw new Error(`bad scenario ${rolloutId}`);
  return prepareRollout({ rolloutId, startedBy, fleet: fleet.value, policy: policy.value, now });
}

async function start(client: Client, input: RolloutInput) {
  return client.workflow.start('rolloutWorkflow', {
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowId: rolloutWorkflowId(input.rolloutId),
    args: [input],
  });
}

/** Queries until the rollout's state satisfies `ready` (queries do not advance the test server's clock). */
async function waitFor(
  client: Client,
  input: RolloutInput,
  ready: (r: RolloutSummary) => boolean,
): Promise<void> {
  const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
  while (!ready(await handle.query(statusQuery))) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Waits until the workflow's latest run closed, by describing it: the time-skipping server sometimes never
 * wakes a result poll that follows continued runs (see test/workflows/scale.test.ts).
 */
async function closed(handle: WorkflowHandle): Promise<void> {
  while ((await handle.describe()).status.name === 'RUNNING') await pause(100);
}

/** The run IDs of a workflow once it closed, first to last. */
async function runIds(client: Client, workflowId: string): Promise<string[]> {
  await closed(client.workflow.getHandle(workflowId));
  return (await runsOf(client, workflowId)).map((r) => r.runId);
}

type Part = Omit<HistoryRecord, 'scenario' | 'file' | 'note'> & { part: string; runId?: string };

/** The first and the last run of a workflow that continued as new, as two parts. */
async function firstAndLastRuns(
  client: Client,
  part: string,
  workflowType: HistoryRecord['workflowType'],
  workflowId: string,
): Promise<Part[]> {
  const ids = await runIds(client, workflowId);
  if (ids.length < 2) throw new Error(`${workflowId} did not continue as new`);
  return [
    { part: `${part}-run-1`, workflowType, workflowId, runId: ids[0] },
    { part: `${part}-run-last`, workflowType, workflowId, runId: ids.at(-1) },
  ];
}

/** Each scenario runs one rollout to its end and names the histories to keep. */
const scenarios: Array<{
  name: string;
  run(client: Client, env: TestWorkflowEnvironment): Promise<Part[]>;
}> = [
  {
    name: 'happy-path',
    async run(client) {
      const fleet = {
        machines: [
          vm('a1', 'eastus', { zone: '1' }),
          vm('a2', 'eastus', { zone: '2' }),
          // eastus runs two lanes side by side: its zones, and this standalone machine.
          vm('a3', 'eastus'),
          vm('w1', 'westus', { availabilitySet: 's', updateDomain: 0 }),
          vm('w2', 'westus', { availabilitySet: 's', updateDomain: 1, os: 'Windows' }),
        ],
      };
      const input = inputOf('replay-happy', fleet, { windows: 'always' });
      await (await start(client, input)).result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
        {
          part: 'region-eastus',
          workflowType: 'regionWorkflow',
          workflowId: regionWorkflowId(input.rolloutId, 'eastus'),
        },
        {
          part: 'machine-a1',
          workflowType: 'machineAttemptWorkflow',
          workflowId: machineWorkflowId(input.rolloutId, 'eastus', 'a1', 1),
        },
      ];
    },
  },
  {
    name: 'error-budget',
    async run(client) {
      // b2's installs fail; no error is allowed: the rollout halts, an operator overrides, it completes.
      const fleet = {
        machines: [
          vm('b1', 'eastus', { zone: '1' }),
          vm('b2', 'eastus', { zone: '2', simulation: { failInstall: true } }),
        ],
      };
      const input = inputOf('replay-error-budget', fleet, {
        windows: 'always',
        errorBudget: 0,
        maxAttempts: 2,
      });
      const handle = await start(client, input);
      await waitFor(client, input, (r) => r.status === 'Halted');
      await handle.executeUpdate(resumeUpdate, {
        args: [{ by: 'bob', override: true, comment: 'known bad patch, accepted' }],
      });
      await handle.result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
      ];
    },
  },
  {
    name: 'bake',
    async run(client) {
      // eastus bakes 20 minutes, its health signals asked after each step and every 5 minutes; then westus.
      const fleet = { machines: [vm('k1', 'eastus', { zone: '1' }), vm('k2', 'westus')] };
      const policy = {
        windows: 'always',
        phases: [['eastus'], ['westus']],
        bakeMinutes: [20, 0],
        health: {
          prometheus: { url: 'http://prometheus:9090', alerts: ['HighErrorRate'], intervalSeconds: 300 },
        },
      };
      const input = inputOf('replay-bake', fleet, policy);
      await (await start(client, input)).result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
      ];
    },
  },
  {
    name: 'approval-gate',
    async run(client) {
      const fleet = { machines: [vm('g1', 'eastus', { zone: '1' }), vm('g2', 'westus')] };
      const policy = {
        windows: 'always',
        approvals: { beforePhases: [0], approvers: ['alice', 'bob'], fourEyes: true },
      };
      const input = inputOf('replay-approval-gate', fleet, policy, 'alice');
      const handle = await start(client, input);
      await waitFor(client, input, (r) => r.openGate === 'phase-0');
      // A refusal by signal (the Temporal UI's way), then an approval by update (the CLI's).
      await handle.signal(gateDecisionSignal, { gate: 'phase-0', decision: 'approve', by: 'alice' });
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'phase-0', by: 'bob', comment: 'go' }] });
      await handle.result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
      ];
    },
  },
  {
    name: 'next-window',
    async run(client) {
      // Off-peak windows; n1's first window "runs out" (patches Pending): it is retried in the next night.
      const fleet = {
        machines: [vm('n1', 'eastus', { timeZone: 'America/New_York', simulation: { pendingPatches: 1 } })],
      };
      const input = inputOf('replay-next-window', fleet, { windows: 'offPeak' });
      await (await start(client, input)).result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
        {
          part: 'machine-n1-attempt-2',
          workflowType: 'machineAttemptWorkflow',
          workflowId: machineWorkflowId(input.rolloutId, 'eastus', 'n1', 2),
        },
      ];
    },
  },
];

scenarios.push({
  name: 'pipelined',
  async run(client, env) {
    // One zone, two machines a step (workflows/lane-follower.ts): a2 waits for a later window while a1 is
    // done at once, and the second step follows into a1's place within its open window.
    const now = await env.currentTimeMs();
    const hour = 3_600_000;
    const at = (t: number) => new Date(t).toISOString().slice(0, 13).replace('T', ' ') + ':00';
    const window = (from: number) => ({
      startDateTime: at(from),
      duration: '03:00',
      timeZone: 'UTC',
      recurEvery: '1Day',
    });
    const fleet = {
      maintenanceConfigurations: { open: window(now - hour), later: window(now + 10 * hour) },
      machines: ['a1:open', 'a2:later', 'b1:open', 'b2:open'].map((m) => {
        const [name, config] = m.split(':');
        return vm(name, 'eastus', { zone: '1', maintenanceConfiguration: config });
      }),
    };
    const input = inputOf(
      'replay-pipelined',
      fleet,
      { windows: 'offPeak', disruptionBudget: 2 },
      'recorder',
      new Date(now),
    );
    await (await start(client, input)).result();
    const regionId = regionWorkflowId(input.rolloutId, 'eastus');
    const history = JSON.stringify(await client.workflow.getHandle(regionId).fetchHistory());
    if (!history.includes('followerFit')) throw new Error('the pipelined scenario followed no step');
    return [
      { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
      { part: 'region-eastus', workflowType: 'regionWorkflow', workflowId: regionId },
    ];
  },
});

scenarios.push({
  name: 'sliced',
  async run(client) {
    // A large rollout's shape at small size: slices of two machines in the spec store, regions and (since
    // tallies) the rollout continuing as new. e2 is retried in the next round; e4's first install fails
    // (an error, within the budget) and its retry patches it.
    const fleet = {
      machines: [
        ...['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((n) =>
          vm(n, 'eastus', {
            simulation: n === 'e2' ? { pendingPatches: 1 } : n === 'e4' ? { failInstall: 1 } : {},
          }),
        ),
        ...['w1', 'w2', 'w3'].map((n) => vm(n, 'westus')),
      ],
    };
    const planned = inputOf('replay-sliced', fleet, { windows: 'always', errorBudget: 2 });
    const input = {
      ...stageRolloutInput(planned, { dir: specStore(), sliceMachines: 2, inlineLimitBytes: 0 }),
      childrenPerRun: 3,
      eventsPerRun: 40,
    };
    await start(client, input);
    await closed(client.workflow.getHandle(rolloutWorkflowId(input.rolloutId)));
    const rollout = await runIds(client, rolloutWorkflowId(input.rolloutId));
    return [
      ...(rollout.length > 1
        ? await firstAndLastRuns(client, 'rollout', 'rolloutWorkflow', rolloutWorkflowId(input.rolloutId))
        : [
            {
              part: 'rollout',
              workflowType: 'rolloutWorkflow' as const,
              workflowId: rolloutWorkflowId(input.rolloutId),
            },
          ]),
      ...(await firstAndLastRuns(
        client,
        'region-eastus',
        'regionWorkflow',
        regionWorkflowId(input.rolloutId, 'eastus'),
      )),
      {
        part: 'machine-e4-attempt-2',
        workflowType: 'machineAttemptWorkflow',
        workflowId: machineWorkflowId(input.rolloutId, 'eastus', 'e4', 2),
      },
    ];
  },
});

scenarios.push({
  name: 'webhooks',
  async run(client) {
    // Hooks before and after each phase, westus's beforePhase refused (the rollout halts before w1, an
    // operator overrides), and notices of the halt and the end to a chat webhook: local receivers.
    const receiver = await listen((body) => (body.event === 'beforePhase' && body.phase === 1 ? 409 : 200));
    process.env.OFFPEAK_RECORD_HOOK_SECRET = 'recorder';
    process.env.OFFPEAK_RECORD_CHAT_URL = receiver.url;
    try {
      const hook = { url: receiver.url, secretEnv: 'OFFPEAK_RECORD_HOOK_SECRET', onFailure: 'halt' };
      const input = inputOf(
        'replay-webhooks',
        { machines: [vm('h1', 'eastus'), vm('w1', 'westus')] },
        {
          windows: 'always',
          phases: [['eastus'], ['westus']],
          approvals: { approvers: ['bob'] },
          hooks: { beforePhase: hook, afterPhase: hook },
          notifications: { webhook: { urlEnv: 'OFFPEAK_RECORD_CHAT_URL' } },
        },
      );
      const handle = await start(client, input);
      await waitFor(client, input, (r) => r.status === 'Halted');
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob', override: true }] });
      await handle.result();
      return [
        { part: 'rollout', workflowType: 'rolloutWorkflow', workflowId: rolloutWorkflowId(input.rolloutId) },
      ];
    } finally {
      await receiver.close();
    }
  },
});

scenarios.push({
  name: 'fleet-guard',
  async run(client, env) {
    // Two rollouts of the same two machines in New York's off-peak hours, started at local noon: the
    // first one's step holds its lease while its machine waits for the window, so the second one's step
    // queues; each release grants the next. The guard, started first with a short run, continues as new
    // carrying the book; it runs until stopped, so the recorder terminates it once both rollouts ended.
    const guard = client.workflow.getHandle(FLEET_GUARD_ID);
    await client.workflow.start('fleetGuardWorkflow', {
      workflowId: FLEET_GUARD_ID,
      taskQueue: DEFAULT_TASK_QUEUE,
      args: [{ eventsPerRun: 40 }],
    });
    const now = new Date(await skipToLocalNoon(env, 'America/New_York'));
    const fleet = {
      machines: ['1', '2'].map((zone) => vm(`q${zone}`, 'eastus', { zone, timeZone: 'America/New_York' })),
    };
    const policy = { windows: 'offPeak', rebootSetting: 'Always' };
    const [one, two] = ['replay-guard-one', 'replay-guard-two'].map((rolloutId) =>
      inputOf(rolloutId, fleet, policy, 'recorder', now),
    );
    const h1 = await start(client, one);
    const book = () => guard.query(leasesQuery);
    while (!(await book()).held.some((l) => l.rolloutId === one.rolloutId)) await pause(50);
    const h2 = await start(client, two);
    while (!(await book()).waiting.some((l) => l.rolloutId === two.rolloutId)) await pause(50);
    await h1.result();
    await h2.result();
    await guard.terminate('recorded: the guard runs until stopped');
    return firstAndLastRuns(client, 'guard', 'fleetGuardWorkflow', FLEET_GUARD_ID);
  },
});

/** A local HTTP receiver of hooks and notices, answering `status(body)`. */
async function listen(status: (body: Record<string, unknown>) => number) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.writeHead(status(JSON.parse(Buffer.concat(chunks).toString('utf8')))).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The spec store the recording worker reads slices from (set before the worker starts). */
function specStore(): string {
  return process.env.OFFPEAK_SPEC_STORE!;
}

/** A fresh time-skipping server per scenario: a skipped clock must not carry over into the next run. */
async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const found = findServerBinary('testServer', { install: false });
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    found.source === 'sdk-download'
      ? {}
      : { server: { executable: { type: 'existing-path', path: found.path } } },
  );
  await registerSearchAttributes(env.connection.operatorService, env.namespace ?? 'default');
  return env;
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--prefix');
  const prefix = at >= 0 ? `${argv[at + 1]}.` : '';
  const only = argv.indexOf('--only');
  const chosen = only >= 0 ? scenarios.filter((s) => s.name === argv[only + 1]) : scenarios;
  if (chosen.length === 0) throw new Error(`no scenario named ${argv[only + 1]}`);
  const records: HistoryRecord[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'offpeak-record-'));
  process.env.OFFPEAK_SPEC_STORE = mkdtempSync(join(tmpdir(), 'offpeak-record-specs-'));
  for (const scenario of chosen) {
    const env = await timeSkippingEnv();
    try {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowsPath: require.resolve('../workflows'),
        // Health signals that always answer ok: the bake scenario records their checks.
        activities: createActivities({
          ...simulatedDrivers(stateDir, 0),
          healthSignals: { check: async () => ({ status: 'ok' }) },
        }),
      });
      await worker.runUntil(async () => {
        for (const { part, workflowType, workflowId, runId } of await scenario.run(env.client, env)) {
          const handle = env.client.workflow.getHandle(workflowId, runId);
          const file = `${prefix}${scenario.name}.${part}.json`;
          await closed(env.client.workflow.getHandle(workflowId));
          const ended = await handle.describe();
          const note =
            ended.status.name === 'CONTINUED_AS_NEW'
              ? 'continued as new'
              : workflowType === 'rolloutWorkflow'
                ? `ended ${((await handle.result()) as RolloutSummary).status}`
                : ended.status.name.toLowerCase();
          mkdirSync(OUT, { recursive: true });
          writeFileSync(join(OUT, file), historyToJson(await handle.fetchHistory()));
          records.push({ file, scenario: scenario.name, workflowType, workflowId, note });
          process.stdout.write(`${file}: ${workflowId} (${note})\n`);
        }
      });
    } finally {
      await env.teardown();
    }
  }
  const manifest = join(OUT, 'manifest.json');
  const kept = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { histories: HistoryRecord[] }).histories.filter(
        (old) => !records.some((r) => r.file === old.file),
      )
    : [];
  const histories = [...kept, ...records].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  writeFileSync(manifest, `${JSON.stringify({ histories }, null, 2)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
