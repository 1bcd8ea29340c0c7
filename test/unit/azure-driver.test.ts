import { AzureDriver } from '../../activities/drivers/azure';
import { DriverError, type MachineTarget, type PatchDriver } from '../../activities/drivers/driver';
import { selectPatches } from '../../domain/patch-selection';
import { selectionOf } from '../../domain/rollout-spec';
import { policyOf } from '../support/rollouts';
import { AzureEmulator } from '../support/azure-emulator/server';
import { arcId, arcLinux, linuxVm, vmId, windowsVm } from '../fixtures/azure/emulated-machines';

/**
 * Contract tests of the azure driver: the real SDK (@azure/arm-compute, @azure/arm-hybridcompute,
 * @azure/core-lro) against the local ARM emulator, which follows Azure's published REST examples.
 */

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await AzureEmulator.start();
});
afterAll(async () => {
  await emu.close();
});

function driver(extra: Partial<ConstructorParameters<typeof AzureDriver>[0]> = {}): PatchDriver {
  return new AzureDriver({
    credential: emu.credential(),
    endpoint: emu.url,
    ca: emu.ca,
    pollIntervalMs: 10,
    backoffMs: 50,
    bootPollMs: 20,
    requestTimeoutMs: 5_000,
    retry: { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    ...extra,
  });
}

let seq = 0;
function target(
  resourceId: string,
  os: 'Windows' | 'Linux',
  rebootSetting: 'IfRequired' | 'Never' | 'Always' = 'IfRequired',
): MachineTarget {
  return {
    name: resourceId.split('/').pop()!,
    os,
    operation: { id: `op-${++seq}`, attempt: 1 },
    azure: { resourceId, rebootSetting },
  };
}

const IN_AN_HOUR = () => Date.now() + 3_600_000;
/** The default policy's selection: Critical and Security. */
const CRITICAL_AND_SECURITY = { ...selectionOf(policyOf({})), hotpatchOnly: false };

test('assess maps a Windows VM assessment (VirtualMachine_AssessPatches.json) to Offpeak patches, over the LRO protocol', async () => {
  emu.add(windowsVm('win-assess', { rebootPending: true }));
  const t = target(vmId('win-assess'), 'Windows');
  const a = await driver().assess(t);
  expect(a.rebootPending).toBe(true);
  expect(a.patches.map((p) => [p.patchId, p.classification, p.rebootBehavior])).toEqual([
    ['KB5044281', 'Security', 'CanRequestReboot'],
    ['KB5044099', 'Critical', 'NeverReboots'],
    ['KB890830', 'Other', 'NeverReboots'],
  ]);
  // One POST, then polls of the Azure-AsyncOperation status and the Location result.
  const path = vmId('win-assess');
  expect(
    emu.requests
      .filter((r) => r.path.startsWith(path) || r.path.includes('/locations/'))
      .map((r) => `${r.method} ${r.status}`),
  ).toEqual(expect.arrayContaining(['POST 202']));
  expect(emu.requestsTo('assessPatches').filter((r) => r.path === `${path}/assessPatches`)).toHaveLength(1);
  expect(emu.requests.some((r) => r.path.includes('/operations/') && r.status === 200)).toBe(true);
  expect(emu.requests.some((r) => r.path.includes('/operationResults/') && r.status === 200)).toBe(true);
});

test('install sends exactly the selected KBs, the window as maximumDuration and the reboot setting; Azure reboots inside it', async () => {
  emu.add(windowsVm('win-install', { rebootPending: false }));
  const t = target(vmId('win-install'), 'Windows', 'IfRequired');
  const d = driver();
  const a = await d.assess(t);
  const selection = selectPatches(a.patches, CRITICAL_AND_SECURITY);
  expect(selection.selected).toEqual(['KB5044281', 'KB5044099']);
  const deadline = Date.now() + 90 * 60_000 + 30_000;
  const result = await d.install(t, { patchIds: selection.selected, deadline });

  const post = emu.requestsTo('installPatches').find((r) => r.path.includes('win-install'))!;
  expect(post.body).toEqual({
    maximumDuration: 'PT1H30M',
    rebootSetting: 'IfRequired',
    windowsParameters: {
      classificationsToInclude: [],
      kbNumbersToInclude: ['5044281', '5044099'],
      excludeKbsRequiringReboot: false,
    },
  });
  expect(result).toEqual({
    patches: [
      { patchId: 'KB5044281', state: 'Installed' },
      { patchId: 'KB5044099', state: 'Installed' },
    ],
    rebootRequired: true,
    maintenanceWindowExceeded: false,
  });
  // The reboot step reports what installPatches did, and the machine is checked to run again.
  const before = await d.bootId(t);
  expect(await d.reboot(t, { expectedBootId: before })).toEqual({ rebooted: true });
  const after = await d.waitForBoot(t, { previousBootId: before, timeoutMs: 5_000 });
  expect(after.bootId).not.toBe(before);
  expect(await d.health(t)).toEqual({ healthy: true, detail: 'PowerState/running, VM agent Ready' });
  const ledger = emu.ledger.filter((e) => e.resourceId === vmId('win-install'));
  expect(ledger.map((e) => [e.kind, e.installed])).toEqual([
    ['assessPatches', undefined],
    ['installPatches', ['5044281', '5044099']],
    ['reboot', undefined],
  ]);
});

test('install with rebootSetting Never leaves the reboot to a later run: no reboot step, Azure says Required', async () => {
  emu.add(linuxVm('lin-never'));
  const t = target(vmId('lin-never'), 'Linux', 'Never');
  const result = await driver().install(t, {
    patchIds: ['openssl=3.0.15-1~deb12u1', 'linux-image-amd64=6.1.115-1'],
    deadline: IN_AN_HOUR(),
  });
  const post = emu.requestsTo('installPatches').find((r) => r.path.includes('lin-never'))!;
  expect(post.body).toMatchObject({
    rebootSetting: 'Never',
    linuxParameters: {
      packageNameMasksToInclude: ['openssl_3.0.15-1~deb12u1', 'linux-image-amd64_6.1.115-1'],
    },
  });
  expect(result.rebootRequired).toBe(false);
  expect(result.patches.every((p) => p.state === 'Installed')).toBe(true);
  expect(emu.ledger.filter((e) => e.resourceId === vmId('lin-never') && e.kind === 'reboot')).toEqual([]);
  expect(emu.machine(vmId('lin-never')).rebootPending).toBe(true);
});

test('maintenanceWindowExceeded: the patches Azure could not reach are Pending, and Azure does not reboot', async () => {
  emu.add(windowsVm('win-window', { windowFitsPatches: 1 }));
  const t = target(vmId('win-window'), 'Windows');
  const result = await driver().install(t, { patchIds: ['KB5044281', 'KB5044099'], deadline: IN_AN_HOUR() });
  expect(result).toEqual({
    patches: [
      { patchId: 'KB5044281', state: 'Installed' },
      { patchId: 'KB5044099', state: 'Pending' },
    ],
    rebootRequired: false,
    maintenanceWindowExceeded: true,
  });
});

test('an operation announced by Location alone (as in VirtualMachine_InstallPatches.json) is polled to its result', async () => {
  emu.add(windowsVm('win-location'));
  emu.asyncOperationHeader = false;
  emu.pollsToComplete = 3;
  try {
    const result = await driver().install(target(vmId('win-location'), 'Windows'), {
      patchIds: ['KB890830'],
      deadline: IN_AN_HOUR(),
    });
    expect(result.patches).toEqual([{ patchId: 'KB890830', state: 'Installed' }]);
    const polls = emu.requests.filter(
      (r) => r.path.includes('/operationResults/') && r.at >= emu.requestsTo('installPatches').at(-1)!.at,
    );
    expect(polls.map((r) => r.status)).toEqual([202, 202, 202, 200]);
    expect(emu.requests.filter((r) => r.path.includes('/operations/') && r.at >= polls[0].at)).toEqual([]);
  } finally {
    emu.asyncOperationHeader = true;
    emu.pollsToComplete = 1;
  }
});

test('429 with Retry-After is honoured before the one installPatches is accepted', async () => {
  emu.add(windowsVm('win-429'));
  emu.inject({
    method: 'POST',
    path: 'win-429/installPatches',
    status: 429,
    code: 'TooManyRequests',
    retryAfterSeconds: 1,
  });
  await driver().install(target(vmId('win-429'), 'Windows'), {
    patchIds: ['KB890830'],
    deadline: IN_AN_HOUR(),
  });
  const posts = emu.requestsTo('installPatches').filter((r) => r.path.includes('win-429'));
  expect(posts.map((r) => r.status)).toEqual([429, 202]);
  expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(1000);
  expect(
    emu.ledger.filter((e) => e.resourceId === vmId('win-429') && e.kind === 'installPatches'),
  ).toHaveLength(1);
});

test('5xx answers to polls are retried with backoff, and the operation still completes', async () => {
  emu.add(windowsVm('win-5xx'));
  emu.inject({ path: '/operations/', method: 'GET', status: 503, code: 'ServiceUnavailable', times: 2 });
  emu.inject({
    path: '/operationResults/',
    method: 'GET',
    status: 500,
    code: 'InternalServerError',
    times: 1,
  });
  const result = await driver().install(target(vmId('win-5xx'), 'Windows'), {
    patchIds: ['KB890830'],
    deadline: IN_AN_HOUR(),
  });
  expect(result.patches).toEqual([{ patchId: 'KB890830', state: 'Installed' }]);
  expect(emu.requests.filter((r) => r.status >= 500).length).toBeGreaterThanOrEqual(3);
  expect(emu.requestsTo('installPatches').filter((r) => r.path.includes('win-5xx'))).toHaveLength(1);
});

test('a request that times out is retried, for reads', async () => {
  emu.add(windowsVm('win-timeout'));
  emu.inject({ path: 'win-timeout/instanceView', method: 'GET', status: 200, hangMs: 600 });
  const health = await driver({ requestTimeoutMs: 200 }).health(target(vmId('win-timeout'), 'Windows'));
  expect(health.healthy).toBe(true);
  expect(emu.requests.filter((r) => r.path.endsWith('win-timeout/instanceView'))).toHaveLength(2);
});

test('409 (another operation in progress) is retried later; when it lasts past the deadline the attempt moves on', async () => {
  emu.add(windowsVm('win-409'));
  emu.inject({ method: 'POST', path: 'win-409/installPatches', status: 409, code: 'Conflict', times: 2 });
  const result = await driver().install(target(vmId('win-409'), 'Windows'), {
    patchIds: ['KB890830'],
    deadline: IN_AN_HOUR(),
  });
  expect(result.patches).toEqual([{ patchId: 'KB890830', state: 'Installed' }]);
  expect(
    emu
      .requestsTo('installPatches')
      .filter((r) => r.path.includes('win-409'))
      .map((r) => r.status),
  ).toEqual([409, 409, 202]);

  emu.inject({ method: 'POST', path: 'win-409/installPatches', status: 409, code: 'Conflict', times: 100 });
  const late = driver().install(target(vmId('win-409'), 'Windows'), {
    patchIds: ['KB5044281'],
    deadline: Date.now() + 300,
  });
  await expect(late).rejects.toMatchObject({
    kind: 'Unreachable',
    message: expect.stringContaining('another operation is still in progress'),
  });
});

test('403 AuthorizationFailed is not retried and names the missing action', async () => {
  emu.add(windowsVm('win-403'));
  const action = 'Microsoft.Compute/virtualMachines/installPatches/action';
  emu.inject({
    method: 'POST',
    path: 'win-403/installPatches',
    status: 403,
    code: 'AuthorizationFailed',
    message: `The client 'offpeak-worker' with object id '11111111-1111-4111-8111-111111111111' does not have authorization to perform action '${action}' over scope '${vmId('win-403')}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  });
  const err = await driver()
    .install(target(vmId('win-403'), 'Windows'), { patchIds: ['KB890830'], deadline: IN_AN_HOUR() })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DriverError);
  expect(err).toMatchObject({ kind: 'NotAuthorized', message: expect.stringContaining(action) });
  expect(emu.requestsTo('installPatches').filter((r) => r.path.includes('win-403'))).toHaveLength(1);
});

test('Arc machines: counts per classification become one entry per class, installs go by class, health is the agent status', async () => {
  emu.add(arcLinux('arc-lin'));
  const t = target(arcId('arc-lin'), 'Linux');
  const d = driver();
  const a = await d.assess(t);
  expect(a.patches.map((p) => [p.patchId, p.classification])).toEqual([
    ['arc-class:Security', 'Security'],
    ['arc-class:Other', 'Other'],
  ]);
  const selected = selectPatches(a.patches, CRITICAL_AND_SECURITY).selected;
  const result = await d.install(t, { patchIds: selected, deadline: IN_AN_HOUR() });
  const post = emu.requestsTo('installPatches').find((r) => r.path.includes('arc-lin'))!;
  expect(post.apiVersion).toBe('2024-07-10');
  expect(post.body).toMatchObject({
    linuxParameters: { classificationsToInclude: ['Security'], packageNameMasksToInclude: [] },
  });
  expect(result).toEqual({
    patches: [{ patchId: 'arc-class:Security', state: 'Installed' }],
    rebootRequired: true,
    maintenanceWindowExceeded: false,
  });
  expect(emu.ledger.filter((e) => e.resourceId === arcId('arc-lin')).map((e) => e.kind)).toEqual([
    'assessPatches',
    'installPatches',
    'reboot',
  ]);
  expect(await d.health(t)).toEqual({ healthy: true, detail: 'Arc status Connected' });
  emu.machine(arcId('arc-lin')).arcStatus = 'Disconnected';
  expect(await d.health(t)).toEqual({ healthy: false, detail: 'Arc status Disconnected' });
});

test('a retried install resumes the operation saved in its checkpoint and never submits a second installPatches', async () => {
  emu.add(windowsVm('win-resume'));
  const t = target(vmId('win-resume'), 'Windows');
  emu.hold();
  let saved: unknown;
  let firstTry: Promise<unknown> | undefined;
  await new Promise<void>((resolve) => {
    firstTry = driver().install(t, {
      patchIds: ['KB890830'],
      deadline: IN_AN_HOUR(),
      checkpoint: { saved: undefined, save: (s) => ((saved = s), resolve()) },
    });
  });
  expect(saved).toMatchObject({
    azureOperation: { resourceId: vmId('win-resume'), operation: t.operation.id, attempt: 1 },
  });
  // A second worker takes over with the heartbeat details; the first one's polling is abandoned.
  const retry = driver().install(t, {
    patchIds: ['KB890830'],
    deadline: IN_AN_HOUR(),
    checkpoint: { saved, save: () => undefined },
  });
  emu.release();
  expect((await retry).patches).toEqual([{ patchId: 'KB890830', state: 'Installed' }]);
  await firstTry;
  expect(emu.requestsTo('installPatches').filter((r) => r.path.includes('win-resume'))).toHaveLength(1);
  expect(
    emu.ledger.filter((e) => e.resourceId === vmId('win-resume') && e.kind === 'installPatches'),
  ).toHaveLength(1);
});

test('pre-flight: a VM Azure patches itself (AutomaticByPlatform without the bypass flag) is reported before anything runs', async () => {
  emu.add(windowsVm('win-platform', { bypassPlatformSafetyChecksOnUserSchedule: false }));
  const err = await driver()
    .assess(target(vmId('win-platform'), 'Windows'))
    .catch((e: unknown) => e);
  expect(err).toMatchObject({
    kind: 'PlatformManaged',
    message: expect.stringContaining('bypassPlatformSafetyChecksOnUserSchedule'),
  });
  expect(emu.requests.filter((r) => r.path.startsWith(vmId('win-platform'))).map((r) => r.method)).toEqual([
    'GET',
  ]);
  // Manual and AutomaticByOS VMs are not Azure's to patch on its schedule: they pass.
  emu.add(linuxVm('lin-manual', { patchMode: 'Manual', bypassPlatformSafetyChecksOnUserSchedule: false }));
  expect((await driver().assess(target(vmId('lin-manual'), 'Linux'))).patches).toHaveLength(3);
});

test("Azure's reboot failing inside installPatches is DidNotComeBack; a stopped VM is unhealthy and does not come back", async () => {
  emu.add(linuxVm('lin-reboot-fails', { rebootFails: true }));
  const t = target(vmId('lin-reboot-fails'), 'Linux');
  const d = driver();
  const result = await d.install(t, { patchIds: ['linux-image-amd64=6.1.115-1'], deadline: IN_AN_HOUR() });
  expect(result.rebootRequired).toBe(true);
  const before = await d.bootId(t);
  expect(await d.reboot(t, { expectedBootId: before })).toEqual({ rebooted: true });
  await expect(d.waitForBoot(t, { previousBootId: before, timeoutMs: 1_000 })).rejects.toMatchObject({
    kind: 'DidNotComeBack',
    message: expect.stringContaining('Failed'),
  });

  emu.add(linuxVm('lin-stopped', { power: 'stopped' }));
  const s = target(vmId('lin-stopped'), 'Linux');
  expect(await d.health(s)).toEqual({ healthy: false, detail: 'PowerState/stopped, VM agent Not Ready' });
  await expect(d.waitForBoot(s, { previousBootId: 'x', timeoutMs: 100 })).rejects.toMatchObject({
    kind: 'DidNotComeBack',
  });
});

test("an assessment that outlasts its step's time is left running and resumed by the step's next try", async () => {
  emu.add(windowsVm('win-slow-assess'));
  const t = target(vmId('win-slow-assess'), 'Windows');
  emu.hold(['assessPatches']);
  let saved: unknown;
  const save = (s: unknown) => (saved = s);
  await expect(
    driver().assess(t, { checkpoint: { saved: undefined, save }, budgetMs: 200 }),
  ).rejects.toMatchObject({
    kind: 'Unreachable',
    message: expect.stringContaining('still running in Azure'),
  });
  expect(saved).toMatchObject({ azureOperation: { verb: 'assessPatches' } });
  emu.release();
  const a = await driver().assess(t, { checkpoint: { saved, save }, budgetMs: 5_000 });
  expect(a.patches).toHaveLength(3);
  expect(emu.requestsTo('assessPatches').filter((r) => r.path.includes('win-slow-assess'))).toHaveLength(1);
});
