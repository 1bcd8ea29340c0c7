import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import { monthType } from '../../domain/calendar';
import { defaultPayloadConverter } from '@temporalio/common';
import { regionWorkflowId } from '../../workflows/ids';
import { stepReportSignal, type MachineReport, type StepReport } from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  machineOf,
  ms,
  rolloutResult,
  startRollout,
  withWorker,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('file', (e) => (env = e));

const hotpatchImage = {
  publisher: 'MicrosoftWindowsServer',
  offer: 'WindowsServer',
  sku: '2022-datacenter-azure-edition-hotpatch',
};

/**
 * The first month after `now`'s of the given type. Its release is still ahead, and so is its deadline: a
 * month whose deadline had passed would patch nothing (the time-skipping clock may be years ahead).
 */
function upcomingMonth(now: number, type: 'baseline' | 'hotpatch'): string {
  const at = new Date(now);
  for (let k = 1; ; k++) {
    const first = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + k, 1));
    const month = first.toISOString().slice(0, 7);
    if (monthType(month) === type) return month;
  }
}

/** Patches one hotpatch-capable Windows machine in a month of `type`, the simulated catalogue set to it. */
async function patchHotpatchMachine(type: 'baseline' | 'hotpatch') {
  const now = await env.currentTimeMs();
  const month = upcomingMonth(now, type);
  const stateDir = tempDir(`hotpatch-${month}`);
  const input = rolloutInputOf({
    rolloutId: `hotpatch-${month}`,
    fleet: { machines: [vm('hp1', { os: 'Windows', image: hotpatchImage })] },
    policy: { windows: 'always', month },
    now: new Date(now),
  });
  const report = await withWorker(env, driversOf({ stateDir, month }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );
  const ledger = (await readLedger(stateDir)).filter((e) => e.machine === 'hp1');
  return { report, machine: machineOf(report, 'hp1'), ledger };
}

test('a hotpatch-capable image is patched without a reboot in a hotpatch month', async () => {
  const { report, machine, ledger } = await patchHotpatchMachine('hotpatch');
  expect(report.monthType).toBe('hotpatch');
  expect(machine.outcome).toBe('Succeeded');
  expect(machine.installed).toBeGreaterThan(0);
  expect(machine.rebooted).toBe(false);
  expect(ledger.filter((e) => e.kind === 'install')).toHaveLength(machine.installed);
  expect(ledger.filter((e) => e.kind === 'reboot')).toEqual([]);
  // Everything else this month (cumulative update, servicing stack...) was left out on purpose.
  expect(machine.excluded).toBeGreaterThan(0);
});

test('the same machine is rebooted in a baseline month', async () => {
  const { report, machine, ledger } = await patchHotpatchMachine('baseline');
  expect(report.monthType).toBe('baseline');
  expect(machine.outcome).toBe('Succeeded');
  expect(machine.rebooted).toBe(true);
  expect(machine.excluded).toBe(0);
  expect(ledger.filter((e) => e.kind === 'reboot')).toHaveLength(1);
});

function overlaps(a: MachineReport, b: MachineReport): boolean {
  const [x] = a.attempts;
  const [y] = b.attempts;
  return ms(x.startedAt) < ms(y.finishedAt) && ms(y.startedAt) < ms(x.finishedAt);
}

test('inside a region, no two zones and no two update domains of a set are down at the same time', async () => {
  const stateDir = tempDir('availability');
  // Installs take 0.2 s and reboots 0.1 s of real time, so every attempt spans a measurable interval. A
  // set's installs take 1 s: the two sets' lanes ask the guard for their leases apart, and the overlap
  // asserted below must not hang on both grants landing within a fraction of a second on a busy machine.
  const simulation = { installSeconds: 10, rebootSeconds: 5 };
  const setSimulation = { installSeconds: 50, rebootSeconds: 5 };
  const zoned = ['z1a', 'z1b', 'z2a', 'z2b'].map((name) => vm(name, { zone: name[1], simulation }));
  const sets = [0, 1, 2].flatMap((ud) =>
    ['s1', 's2'].map((set) =>
      vm(`${set}u${ud}`, { availabilitySet: set, updateDomain: ud, simulation: setSimulation }),
    ),
  );
  const input = rolloutInputOf({
    rolloutId: 'availability',
    fleet: { machines: [...zoned, ...sets] },
    policy: { windows: 'always' },
    now: new Date(await env.currentTimeMs()),
  });
  const report = await withWorker(env, driversOf({ stateDir, timeScale: 0.02 }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );

  expect(report.status).toBe('Completed');
  const machines = report.machines;
  expect(machines).toHaveLength(10);
  for (const m of machines) {
    expect(m.outcome).toBe('Succeeded');
    expect(m.attempts).toHaveLength(1);
    expect(ms(m.attempts[0].finishedAt)).toBeGreaterThan(ms(m.attempts[0].startedAt));
  }
  const pairs = machines.flatMap((a, i) => machines.slice(i + 1).map((b) => [a, b] as const));
  const zonePairs = pairs.filter(([a, b]) => a.zone && b.zone && a.zone !== b.zone);
  const domainPairs = pairs.filter(
    ([a, b]) =>
      a.availabilitySet && a.availabilitySet === b.availabilitySet && a.updateDomain !== b.updateDomain,
  );
  expect(zonePairs).toHaveLength(4);
  expect(domainPairs).toHaveLength(6);
  for (const [a, b] of [...zonePairs, ...domainPairs])
    expect(`${a.name} and ${b.name}: ${overlaps(a, b) ? 'overlap' : 'apart'}`).toBe(
      `${a.name} and ${b.name}: apart`,
    );
  // The check can see concurrency: the two sets' machines in one update domain are patched together.
  expect(overlaps(machineOf(report, 's1u0'), machineOf(report, 's2u0'))).toBe(true);
});

/** The step reports eastus sent its rollout, in order: seq, step, machines and whether it was the end. */
async function reportsOf(rolloutId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(regionWorkflowId(rolloutId, 'eastus')).fetchHistory();
  return history
    .events!.map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)
    .filter((a) => a?.signalName === stepReportSignal.name)
    .map((a) => defaultPayloadConverter.fromPayload<StepReport>(a!.input!.payloads![0]))
    .map((r) => `${r.seq} ${r.step}: ${r.results.map((x) => x.name).join(',')}${r.end ? ' (end)' : ''}`);
}

test('a region reports each clean step once, and its last step carries its end (no report of its own)', async () => {
  const stateDir = tempDir('reports');
  const zoned = ['r1', 'r2', 'r3'].map((name, i) => vm(name, { zone: String(i + 1) }));
  const input = rolloutInputOf({
    rolloutId: 'reports',
    fleet: { machines: zoned },
    policy: { windows: 'always' },
    now: new Date(await env.currentTimeMs()),
  });
  const report = await withWorker(env, driversOf({ stateDir }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );
  expect(report.status).toBe('Completed');
  expect(await reportsOf('reports')).toEqual(['1 zone 1: r1', '2 zone 2: r2', '3 zone 3: r3 (end)']);
});

test("a rollout ends after its regions' workflows have closed: its last workflow task never meets their closing", async () => {
  // A region closes just after its last report is answered. A rollout that completed first would meet the
  // region's closing in its last workflow task, which the server then fails (UnhandledCommand) and the
  // worker replays.
  const stateDir = tempDir('regions-close');
  const input = rolloutInputOf({
    rolloutId: 'regions-close',
    fleet: { machines: [vm('e1'), vm('w1', { region: 'westus' })] },
    policy: { windows: 'always' },
    now: new Date(await env.currentTimeMs()),
  });
  const handle = await withWorker(env, driversOf({ stateDir }), async () => {
    const started = await startRollout(env, input);
    expect((await rolloutResult(env, started)).status).toBe('Completed');
    return started;
  });
  const events = (await handle.fetchHistory()).events!;
  const kinds = events.flatMap((e) => {
    if (e.childWorkflowExecutionCompletedEventAttributes)
      return [`closed ${e.childWorkflowExecutionCompletedEventAttributes.workflowExecution!.workflowId}`];
    if (e.workflowTaskFailedEventAttributes) return ['workflow task failed'];
    if (e.workflowExecutionCompletedEventAttributes) return ['completed'];
    return [];
  });
  // Nothing follows a workflow's completion in its history: a closing recorded at all came before it.
  expect(kinds.sort()).toEqual(
    [
      'completed',
      `closed ${regionWorkflowId('regions-close', 'eastus')}`,
      `closed ${regionWorkflowId('regions-close', 'westus')}`,
    ].sort(),
  );
});

test("a lane that ends while another runs reports its last step then, not with the region's end", async () => {
  const stateDir = tempDir('lane-reports');
  // The zone lane's one step takes 0.3 s of real time, each of the set lane's three steps 2.1 s: the
  // zone lane ends well before the set lane's first step (both start together).
  const machines = [
    vm('z1', { zone: '1', simulation: { installSeconds: 10, rebootSeconds: 5 } }),
    ...[0, 1, 2].map((ud) =>
      vm(`s${ud}`, {
        availabilitySet: 's',
        updateDomain: ud,
        simulation: { installSeconds: 100, rebootSeconds: 5 },
      }),
    ),
  ];
  const input = rolloutInputOf({
    rolloutId: 'lane-reports',
    fleet: { machines },
    policy: { windows: 'always' },
    now: new Date(await env.currentTimeMs()),
  });
  const report = await withWorker(env, driversOf({ stateDir, timeScale: 0.02 }), async () =>
    rolloutResult(env, await startRollout(env, input)),
  );
  expect(report.status).toBe('Completed');
  expect(await reportsOf('lane-reports')).toEqual([
    '1 zone 1: z1',
    '2 update domain 0 (set s): s0',
    '3 update domain 1 (set s): s1',
    '4 update domain 2 (set s): s2 (end)',
  ]);
});
