import { inlineSpecOf } from '../../domain/spec-slices';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DriverError, type MachineTarget } from '../../activities/drivers/driver';
import { readLedger, SimulatedDriver } from '../../activities/drivers/simulated';
import { ledgerPath } from '../../activities/drivers/simulated/ledger';
import { monthType } from '../../domain/calendar';
import { rolloutInputOf } from '../support/rollouts';

const HOTPATCH_IMAGE = {
  publisher: 'MicrosoftWindowsServer',
  offer: 'WindowsServer',
  sku: '2022-datacenter-azure-edition-hotpatch',
};
const WINDOWS_IMAGE = {
  publisher: 'MicrosoftWindowsServer',
  offer: 'WindowsServer',
  sku: '2022-datacenter-g2',
};
const UBUNTU_IMAGE = { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2' };
const HOTPATCH_MONTH = '2024-05';
const BASELINE_MONTH = '2024-04';

let dir: string;
const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'offpeak-sim-'));
  dirs.push(d);
  return d;
};
beforeEach(() => {
  dir = tempDir();
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const driver = (over: Partial<ConstructorParameters<typeof SimulatedDriver>[0]> = {}) =>
  new SimulatedDriver({ stateDir: dir, timeScale: 0, month: HOTPATCH_MONTH, ...over });

const target = (over: Partial<MachineTarget> = {}): MachineTarget => ({
  name: 'web-01',
  os: 'Windows',
  image: WINDOWS_IMAGE,
  operation: { id: 'rollout-1', attempt: 1 },
  ...over,
});
const linux = (over: Partial<MachineTarget> = {}) =>
  target({ name: 'db-01', os: 'Linux', image: UBUNTU_IMAGE, ...over });
const attempt = (t: MachineTarget, n: number): MachineTarget => ({
  ...t,
  operation: { ...t.operation, attempt: n },
});
const FOREVER = () => Date.now() + 3_600_000;

async function installAll(d: SimulatedDriver, t: MachineTarget) {
  const { patches } = await d.assess(t);
  return d.install(t, { patchIds: patches.map((p) => p.patchId), deadline: FOREVER() });
}

async function expectDriverError(p: Promise<unknown>, kind: DriverError['kind']) {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DriverError);
  expect((error as DriverError).kind).toBe(kind);
}

describe('patch catalogue', () => {
  it('is deterministic for a machine and a month, across drivers and directories', async () => {
    const a = await driver().assess(linux());
    const b = await driver({ stateDir: tempDir() }).assess(linux());
    expect(a.patches).toEqual(b.patches);
    expect(a.patches.length).toBeGreaterThan(0);
  });

  it('is a function of the seed, not of the name, when a seed is given', () => {
    const d = driver();
    const one = d.patchesFor(linux({ name: 'a', simulation: { seed: 7 } }));
    expect(d.patchesFor(linux({ name: 'b', simulation: { seed: 7 } }))).toEqual(one);
  });

  it('changes from month to month', () => {
    for (const t of [target(), linux()]) {
      const may = driver()
        .patchesFor(t)
        .map((p) => p.patchId);
      const june = driver({ month: '2024-06' })
        .patchesFor(t)
        .map((p) => p.patchId);
      expect(june).not.toEqual(may);
      expect(june.filter((id) => may.includes(id))).toEqual([]);
    }
  });

  it('offers Windows KBs with a rebooting cumulative update', () => {
    const patches = driver().patchesFor(target());
    for (const p of patches) {
      expect(p.patchId).toMatch(/^KB5\d{6}$/);
      expect(p.kbId).toBe(p.patchId);
      expect(p.name).toContain(p.patchId);
    }
    const lcu = patches.find((p) => p.name.includes('Cumulative Update for Windows Server'));
    expect(lcu).toMatchObject({
      classification: 'Security',
      rebootBehavior: 'AlwaysRequiresReboot',
      hotpatch: false,
    });
  });

  it('offers Linux packages as name=version, the kernel needing a reboot', () => {
    const all = Array.from({ length: 40 }, (_, i) => driver().patchesFor(linux({ name: `vm-${i}` }))).flat();
    for (const p of all) expect(p.patchId).toBe(`${p.name}=${p.version}`);
    expect(
      all.some((p) => p.name.startsWith('linux-image-') && p.rebootBehavior === 'AlwaysRequiresReboot'),
    ).toBe(true);
    const classes = new Set(all.map((p) => p.classification));
    expect([...classes].sort()).toEqual(['Critical', 'Other', 'Security']);
    const rhel = driver().patchesFor(
      linux({ image: { publisher: 'RedHat', offer: 'RHEL', sku: '9-lvm-gen2' } }),
    );
    expect(rhel.every((p) => /\.el9$/.test(p.version ?? ''))).toBe(true);
  });

  it('gives hotpatch-capable images a hotpatch in a hotpatch month, a rebooting baseline otherwise', () => {
    expect(monthType(BASELINE_MONTH)).toBe('baseline');
    expect(monthType(HOTPATCH_MONTH)).toBe('hotpatch');
    const hot = driver().patchesFor(target({ image: HOTPATCH_IMAGE }));
    const security = hot.filter((p) => p.classification === 'Security' && p.hotpatch);
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({ rebootBehavior: 'NeverReboots' });

    const baseline = driver({ month: BASELINE_MONTH }).patchesFor(target({ image: HOTPATCH_IMAGE }));
    expect(baseline.some((p) => p.hotpatch)).toBe(false);
    expect(baseline.some((p) => p.rebootBehavior === 'AlwaysRequiresReboot')).toBe(true);

    const unplanned = driver({ unplannedBaselineMonths: [HOTPATCH_MONTH] }).patchesFor(
      target({ image: HOTPATCH_IMAGE }),
    );
    expect(unplanned.some((p) => p.hotpatch)).toBe(false);

    expect(
      driver()
        .patchesFor(target())
        .some((p) => p.hotpatch),
    ).toBe(false);
  });

  it('derives default durations from the seed, knobs override them', () => {
    for (let i = 0; i < 50; i++) {
      const { installSeconds, rebootSeconds } = driver().durations(target({ name: `m-${i}` }));
      expect(installSeconds).toBeGreaterThanOrEqual(60);
      expect(installSeconds).toBeLessThanOrEqual(300);
      expect(rebootSeconds).toBeGreaterThanOrEqual(30);
      expect(rebootSeconds).toBeLessThanOrEqual(90);
    }
    expect(driver().durations(target({ simulation: { installSeconds: 5, rebootSeconds: 0 } }))).toEqual({
      installSeconds: 5,
      rebootSeconds: 0,
    });
  });
});

describe('install', () => {
  it('installs, records one ledger entry per patch, and asks for a reboot after a cumulative update', async () => {
    const d = driver();
    const t = target();
    const { patches } = await d.assess(t);
    const progress: number[] = [];
    const result = await d.install(t, {
      patchIds: patches.map((p) => p.patchId),
      deadline: FOREVER(),
      onProgress: (n) => progress.push(n),
    });
    expect(result.patches).toEqual(patches.map((p) => ({ patchId: p.patchId, state: 'Installed' })));
    expect(result.rebootRequired).toBe(true);
    expect(result.maintenanceWindowExceeded).toBe(false);
    expect(progress).toEqual(patches.map((_, i) => i + 1));

    const ledger = await readLedger(dir);
    expect(ledger.map((e) => e.patchIds)).toEqual(patches.map((p) => [p.patchId]));
    expect(ledger[0]).toMatchObject({
      machine: 'web-01',
      operation: 'rollout-1',
      attempt: 1,
      kind: 'install',
    });

    const after = await d.assess(t);
    expect(after.patches).toEqual([]);
    expect(after.rebootPending).toBe(true);
  });

  it('is idempotent: a retry reports Installed and writes nothing new', async () => {
    const d = driver();
    const t = linux();
    const ids = d.patchesFor(t).map((p) => p.patchId);
    await d.install(t, { patchIds: ids, deadline: FOREVER() });
    const before = fs.readFileSync(ledgerPath(dir), 'utf8');
    const retry = await d.install(t, { patchIds: ids, deadline: FOREVER() });
    expect(retry.patches.every((p) => p.state === 'Installed')).toBe(true);
    expect(fs.readFileSync(ledgerPath(dir), 'utf8')).toBe(before);
  });

  it('serialises concurrent calls for one machine: each patch is installed once', async () => {
    const d = driver({ timeScale: 0.0001 });
    const t = target();
    const ids = d.patchesFor(t).map((p) => p.patchId);
    const [a, b] = await Promise.all([
      d.install(t, { patchIds: ids, deadline: FOREVER() }),
      d.install(t, { patchIds: ids, deadline: FOREVER() }),
    ]);
    expect(a.patches.every((p) => p.state === 'Installed')).toBe(true);
    expect(b.patches.every((p) => p.state === 'Installed')).toBe(true);
    const installs = (await readLedger(dir)).flatMap((e) => e.patchIds ?? []);
    expect(installs.sort()).toEqual([...ids].sort());
  });

  it('runs machines concurrently and keeps their ledgers apart', async () => {
    const d = driver();
    const names = Array.from({ length: 12 }, (_, i) => `vm-${i}`);
    await Promise.all(names.map((name) => installAll(d, linux({ name }))));
    const ledger = await readLedger(dir);
    for (const name of names)
      expect(ledger.filter((e) => e.machine === name).map((e) => e.patchIds?.[0])).toEqual(
        d.patchesFor(linux({ name })).map((p) => p.patchId),
      );
  });

  it('keeps state across driver instances (a restarted worker)', async () => {
    const t = target();
    const first = driver();
    await installAll(first, t);
    const bootId = await first.bootId(t);
    const lines = (await readLedger(dir)).length;

    const second = driver();
    expect(await second.bootId(t)).toBe(bootId);
    const assessment = await second.assess(t);
    expect(assessment.patches).toEqual([]);
    expect(assessment.rebootPending).toBe(true);
    const retry = await second.install(t, {
      patchIds: first.patchesFor(t).map((p) => p.patchId),
      deadline: FOREVER(),
    });
    expect(retry.patches.every((p) => p.state === 'Installed')).toBe(true);
    expect(await readLedger(dir)).toHaveLength(lines);
  });

  it('marks ids the machine is not offered as Failed, and reports each id once', async () => {
    const d = driver();
    const t = target();
    const [first] = d.patchesFor(t);
    const result = await d.install(t, {
      patchIds: [first.patchId, 'KB0000001', first.patchId],
      deadline: FOREVER(),
    });
    expect(result.patches).toEqual([
      { patchId: first.patchId, state: 'Installed' },
      { patchId: 'KB0000001', state: 'Failed' },
    ]);
  });

  it('leaves everything Pending when the deadline has passed', async () => {
    const d = driver();
    const t = target();
    const ids = d.patchesFor(t).map((p) => p.patchId);
    const result = await d.install(t, { patchIds: ids, deadline: Date.now() - 1 });
    expect(result.patches.every((p) => p.state === 'Pending')).toBe(true);
    expect(result.maintenanceWindowExceeded).toBe(true);
    expect(result.rebootRequired).toBe(false);
    expect(await readLedger(dir)).toEqual([]);
  });

  it('installs what fits before the deadline and leaves the rest Pending', async () => {
    // Two patches share 0.4 s: the first finishes at ~200 ms, the second would end at ~400 ms > 300 ms.
    const d = driver({ timeScale: 1 });
    const t = linux({ simulation: { installSeconds: 0.4 } });
    const ids = d
      .patchesFor(t)
      .slice(0, 2)
      .map((p) => p.patchId);
    expect(ids).toHaveLength(2);
    const result = await d.install(t, { patchIds: ids, deadline: Date.now() + 300 });
    expect(result.patches).toEqual([
      { patchId: ids[0], state: 'Installed' },
      { patchId: ids[1], state: 'Pending' },
    ]);
    expect(result.maintenanceWindowExceeded).toBe(true);
  });
});

describe('faults', () => {
  it('failInstall: true fails every attempt, changes nothing', async () => {
    const d = driver();
    const t = target({ simulation: { failInstall: true } });
    for (const n of [1, 2, 5]) {
      const result = await installAll(d, attempt(t, n));
      expect(result.patches.length).toBeGreaterThan(0);
      expect(result.patches.every((p) => p.state === 'Failed')).toBe(true);
    }
    expect(await readLedger(dir)).toEqual([]);
  });

  it('failInstall: 1 fails the first attempt only', async () => {
    const d = driver();
    const t = target({ simulation: { failInstall: 1 } });
    expect((await installAll(d, t)).patches.every((p) => p.state === 'Failed')).toBe(true);
    expect((await installAll(d, attempt(t, 2))).patches.every((p) => p.state === 'Installed')).toBe(true);
    expect(new Set((await readLedger(dir)).map((e) => e.attempt))).toEqual(new Set([2]));
  });

  it('pendingPatches: 1 leaves patches Pending with the window exceeded, then succeeds', async () => {
    const d = driver();
    const t = linux({ simulation: { pendingPatches: 1 } });
    const first = await installAll(d, t);
    expect(first.patches.every((p) => p.state === 'Pending')).toBe(true);
    expect(first.maintenanceWindowExceeded).toBe(true);
    const second = await installAll(d, attempt(t, 2));
    expect(second.patches.every((p) => p.state === 'Installed')).toBe(true);
    expect(second.maintenanceWindowExceeded).toBe(false);
  });

  it('unreachable: 1 throws Unreachable on the first attempt only', async () => {
    const d = driver();
    const t = target({ simulation: { unreachable: 1 } });
    await expectDriverError(d.bootId(t), 'Unreachable');
    await expectDriverError(d.assess(t), 'Unreachable');
    await expectDriverError(d.install(t, { patchIds: [], deadline: FOREVER() }), 'Unreachable');
    expect(typeof (await d.bootId(attempt(t, 2)))).toBe('string');
    expect((await d.assess(attempt(t, 2))).patches.length).toBeGreaterThan(0);
  });

  it('unreachable: true is never reachable', async () => {
    const d = driver();
    const t = target({ simulation: { unreachable: true } });
    await expectDriverError(d.bootId(attempt(t, 9)), 'Unreachable');
    await expectDriverError(d.health(attempt(t, 9)), 'Unreachable');
  });

  it('unhealthyAfterReboot: healthy until rebooted in the operation', async () => {
    const d = driver();
    const t = target({ simulation: { unhealthyAfterReboot: true } });
    expect((await d.health(t)).healthy).toBe(true);
    const bootId = await d.bootId(t);
    await d.reboot(t, { expectedBootId: bootId });
    await d.waitForBoot(t, { previousBootId: bootId, timeoutMs: 1000 });
    expect(await d.health(t)).toMatchObject({ healthy: false });
    expect((await d.health(target())).healthy).toBe(true);
    // A later operation starts healthy again until its own reboot.
    expect((await d.health({ ...t, operation: { id: 'rollout-2', attempt: 1 } })).healthy).toBe(true);
  });
});

describe('reboot', () => {
  it('reboots once per boot id; a retry is a no-op and records nothing', async () => {
    const d = driver();
    const t = target();
    await installAll(d, t);
    const before = await d.bootId(t);
    expect(await d.reboot(t, { expectedBootId: before })).toEqual({ rebooted: true });
    expect(await d.reboot(t, { expectedBootId: before })).toEqual({ rebooted: false });
    const { bootId } = await d.waitForBoot(t, { previousBootId: before, timeoutMs: 1000 });
    expect(bootId).not.toBe(before);
    expect(await d.bootId(t)).toBe(bootId);
    expect((await d.assess(t)).rebootPending).toBe(false);
    // A retry on a new driver (restarted worker) is a no-op too.
    expect(await driver().reboot(t, { expectedBootId: before })).toEqual({ rebooted: false });

    const reboots = (await readLedger(dir)).filter((e) => e.kind === 'reboot');
    expect(reboots).toEqual([
      expect.objectContaining({ machine: 'web-01', attempt: 1, bootIdBefore: before, bootIdAfter: bootId }),
    ]);
  });

  it('is unreachable while rebooting, and waitForBoot returns once it is back', async () => {
    const d = driver({ timeScale: 1 });
    const t = target({ simulation: { rebootSeconds: 0.05 } });
    const before = await d.bootId(t);
    await d.reboot(t, { expectedBootId: before });
    await expectDriverError(d.bootId(t), 'Unreachable');
    expect((await d.health(t)).healthy).toBe(false);
    const { bootId } = await d.waitForBoot(t, { previousBootId: before, timeoutMs: 5000 });
    expect(await d.bootId(t)).toBe(bootId);
    expect((await d.health(t)).healthy).toBe(true);
  });

  it('waitForBoot fails with DidNotComeBack without a reboot, or when the reboot outlasts the timeout', async () => {
    const d = driver({ timeScale: 1 });
    const t = target({ simulation: { rebootSeconds: 60 } });
    const before = await d.bootId(t);
    await expectDriverError(d.waitForBoot(t, { previousBootId: before, timeoutMs: 10 }), 'DidNotComeBack');
    await d.reboot(t, { expectedBootId: before });
    await expectDriverError(d.waitForBoot(t, { previousBootId: before, timeoutMs: 10 }), 'DidNotComeBack');
  });
});

describe('runScript and the ledger', () => {
  it('records each script run; "exit N" exits with N', async () => {
    const d = driver();
    const t = target();
    expect(
      await d.runScript(t, { kind: 'pre', script: 'systemctl stop app', timeoutMs: 1000 }),
    ).toMatchObject({
      exitCode: 0,
    });
    expect(await d.runScript(t, { kind: 'post', script: 'exit 3', timeoutMs: 1000 })).toMatchObject({
      exitCode: 3,
    });
    expect((await readLedger(dir)).map((e) => [e.kind, e.script])).toEqual([
      ['script', 'systemctl stop app'],
      ['script', 'exit 3'],
    ]);
  });

  it('reads an empty ledger as [] and ignores an unterminated last line', async () => {
    expect(await readLedger(dir)).toEqual([]);
    await driver().runScript(target(), { kind: 'pre', script: 'true', timeoutMs: 1000 });
    fs.appendFileSync(ledgerPath(dir), '{"at":"2024');
    expect(await readLedger(dir)).toHaveLength(1);
  });
});

describe("the policy's simulationSpeed drives the simulator's time scale for its rollout", () => {
  test("a machine's timeScale replaces the worker's; without one the worker's applies", () => {
    const d = driver({ timeScale: 1 });
    expect(d.scaleOf(target({ timeScale: 0.01 }))).toBe(0.01);
    expect(d.scaleOf(target({ timeScale: 0 }))).toBe(0);
    expect(d.scaleOf(target())).toBe(1);
  });

  test('a reboot of a machine with timeScale 0 is back at once, though the worker scales by 1', async () => {
    const d = driver({ timeScale: 1 });
    const t = linux({ timeScale: 0, simulation: { rebootSeconds: 3600 } });
    const before = await d.bootId(t);
    await d.reboot(t, { expectedBootId: before });
    const back = await d.waitForBoot(t, { previousBootId: before, timeoutMs: 60_000 });
    expect(back.bootId).not.toBe(before);
  });

  test('rollout specs carry simulationSpeed as each machine timeScale, and nothing at the default 1', () => {
    const fleet = {
      machines: [{ name: 'a', region: 'eastus', zone: '1', os: 'Linux', patchMode: 'AutomaticByPlatform' }],
    };
    const fast = rolloutInputOf({
      rolloutId: 'r',
      fleet,
      policy: { simulationSpeed: 0.01 },
      now: new Date(),
    });
    expect(fast.regions.flatMap((r) => inlineSpecOf(r).machines).map((m) => m.timeScale)).toEqual([0.01]);
    const plain = rolloutInputOf({ rolloutId: 'r', fleet, now: new Date() });
    expect(plain.regions.flatMap((r) => inlineSpecOf(r).machines).map((m) => m.timeScale)).toEqual([
      undefined,
    ]);
  });
});
