import type { TokenCredential } from '@azure/core-auth';
import { restorePoller, type ComputeManagementClient } from '@azure/arm-compute';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAzureResourceId, type AzureResource } from '../../../domain/azure-resource';
import type { Assessment, InstallResult } from '../../../domain/patches';
import { DriverError, type Checkpoint, type MachineTarget, type PatchDriver } from '../driver';
import { arcOperation } from './arc-lro';
import { Operations, type Poller } from './operations';
import { createArmClients, type ArmClients, type ArmOptions } from './clients';
import {
  installRequest,
  toAssessment,
  toInstallResult,
  type AzureAssessResult,
  type AzureInstallResult,
} from './mapping';

export interface AzureDriverOptions {
  /** Default: DefaultAzureCredential (managed identity, workload identity, environment, `az login`). */
  credential: TokenCredential;
  endpoint?: string;
  scope?: string;
  requestTimeoutMs?: number;
  retry?: ArmOptions['retry'];
  ca?: string;
  /** Pause between polls of a running operation when Azure gives no Retry-After; default 15 s. */
  pollIntervalMs?: number;
  /** First pause after a 409 (another operation in progress) or a timeout; doubles up to 5 minutes. Default 30 s. */
  backoffMs?: number;
  /** Pause between checks while waiting for a machine to run again after Azure's reboot; default 10 s. */
  bootPollMs?: number;
}

/**
 * Patches Azure VMs and Arc-enabled servers through Azure's own installer (assessPatches,
 * installPatches), on the official SDK. The reboot happens inside installPatches: `reboot` reports what
 * it did, `waitForBoot` checks the machine runs again. Every call checks Azure first, and a retried
 * install resumes polling the operation it submitted (heartbeat details) instead of submitting another.
 */
export class AzureDriver implements PatchDriver {
  private readonly clients = new Map<string, ArmClients>();
  private readonly arm: ArmOptions;
  private readonly pollIntervalMs: number;
  private readonly ops: Operations;
  private readonly bootPollMs: number;
  /** rebootStatus of installs this process finished, for the reboot step that follows (key: resource|operation|attempt). */
  private readonly rebootStatus = new Map<string, string>();

  constructor(options: AzureDriverOptions) {
    this.arm = {
      credential: options.credential,
      endpoint: options.endpoint ?? 'https://management.azure.com',
      scope: options.scope ?? 'https://management.azure.com/.default',
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      retry: options.retry ?? { maxRetries: 4, retryDelayInMs: 2_000, maxRetryDelayInMs: 60_000 },
      ca: options.ca,
    };
    this.pollIntervalMs = options.pollIntervalMs ?? 15_000;
    this.ops = new Operations(options.backoffMs ?? 30_000);
    this.bootPollMs = options.bootPollMs ?? 10_000;
  }

  private resource(target: MachineTarget): AzureResource {
    const parsed = target.azure ? parseAzureResourceId(target.azure.resourceId) : undefined;
    if (!parsed?.ok)
      throw new DriverError(
        'InstallFailed',
        `${target.name}: no usable azure.resourceId (fleet "azure" settings)`,
      );
    return parsed.value;
  }

  private clientsOf(r: AzureResource): ArmClients {
    let c = this.clients.get(r.subscriptionId);
    if (!c) this.clients.set(r.subscriptionId, (c = createArmClients(r.subscriptionId, this.arm)));
    return c;
  }

  private restoreVm<T>(c: ArmClients, state: string, op: 'assess' | 'install'): Poller<T> {
    const source =
      op === 'install' ? c.compute.virtualMachines.installPatches : c.compute.virtualMachines.assessPatches;
    return restorePoller<never, T>(c.compute as ComputeManagementClient, state, source as never, {
      updateIntervalInMs: this.pollIntervalMs,
    });
  }

  private arcPath(r: AzureResource, verb: string): string {
    return `/subscriptions/${r.subscriptionId}/resourceGroups/${r.resourceGroup}/providers/Microsoft.HybridCompute/machines/${r.name}/${verb}`;
  }

  async bootId(target: MachineTarget): Promise<string> {
    // Azure exposes no boot id and reboots inside installPatches: the token names the attempt.
    await this.state(target);
    return `azure:${target.operation.id}:${target.operation.attempt}:before-install-reboot`;
  }

  /** Whether the machine runs: a VM's power state and agent, an Arc machine's connection status. */
  private async state(target: MachineTarget): Promise<{ running: boolean; detail: string }> {
    const r = this.resource(target);
    const c = this.clientsOf(r);
    if (r.kind === 'arc') {
      const m = await this.ops.read(r, 'Microsoft.HybridCompute/machines/read', () =>
        c.hybrid.machines.get(r.resourceGroup, r.name),
      );
      const status = m.properties?.status;
      return { running: status === 'Connected', detail: `Arc status ${status ?? 'unknown'}` };
    }
    const view = await this.ops.read(r, 'Microsoft.Compute/virtualMachines/instanceView/read', () =>
      c.compute.virtualMachines.instanceView(r.resourceGroup, r.name),
    );
    const power = view.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code ?? 'PowerState/unknown';
    const agent = view.vmAgent?.statuses?.[0]?.displayStatus ?? 'unknown';
    return {
      running: power === 'PowerState/running' && agent === 'Ready',
      detail: `${power}, VM agent ${agent}`,
    };
  }

  /**
   * Pre-flight: a VM in AutomaticByPlatform is patched by Azure itself unless the bypass flag hands it
   * to a customer schedule. Such a VM is reported before anything runs, not orchestrated twice.
   */
  private async preflight(r: AzureResource, c: ArmClients): Promise<void> {
    if (r.kind !== 'vm') return;
    const vm = await this.ops.read(r, 'Microsoft.Compute/virtualMachines/read', () =>
      c.compute.virtualMachines.get(r.resourceGroup, r.name),
    );
    const settings =
      vm.osProfile?.linuxConfiguration?.patchSettings ?? vm.osProfile?.windowsConfiguration?.patchSettings;
    if (
      settings?.patchMode === 'AutomaticByPlatform' &&
      !settings.automaticByPlatformSettings?.bypassPlatformSafetyChecksOnUserSchedule
    )
      throw new DriverError(
        'PlatformManaged',
        `${r.id}: Azure patches this VM itself (patchMode AutomaticByPlatform without automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule); set that to true to hand it to Offpeak (docs/azure-driver.md)`,
      );
  }

  async assess(
    target: MachineTarget,
    request: { checkpoint?: Checkpoint; budgetMs?: number } = {},
  ): Promise<Assessment> {
    const r = this.resource(target);
    const c = this.clientsOf(r);
    await this.preflight(r, c);
    const until = Date.now() + 30 * 60_000;
    const submitUntil = until;
    const path = this.arcPath(r, 'assessPatches');
    const interval = { intervalInMs: this.pollIntervalMs };
    const result =
      r.kind === 'arc'
        ? await this.ops.operate<AzureAssessResult>(target, r, 'assessPatches', {
            ...request,
            submitUntil,
            until,
            start: () => arcOperation<AzureAssessResult>(c.arm, path, interval),
            restore: (s) => arcOperation<AzureAssessResult>(c.arm, path, { ...interval, restoreFrom: s }),
          })
        : await this.ops.operate<AzureAssessResult>(target, r, 'assessPatches', {
            ...request,
            submitUntil,
            until,
            start: () =>
              c.compute.virtualMachines.assessPatches(r.resourceGroup, r.name, {
                updateIntervalInMs: this.pollIntervalMs,
              }) as Poller<AzureAssessResult>,
            restore: (s) => this.restoreVm<AzureAssessResult>(c, s, 'assess'),
          });
    return toAssessment(target.name, target.os, r.kind, result, await this.bootId(target));
  }

  async install(
    target: MachineTarget,
    request: { patchIds: string[]; deadline: number; checkpoint?: Checkpoint },
  ): Promise<InstallResult> {
    const r = this.resource(target);
    const c = this.clientsOf(r);
    const body = installRequest(
      target.os,
      request.patchIds,
      request.deadline,
      Date.now(),
      target.azure?.rebootSetting ?? 'IfRequired',
    );
    const path = this.arcPath(r, 'installPatches');
    const interval = { intervalInMs: this.pollIntervalMs };
    // A retry after a crash finds the operation it submitted in its heartbeat details: poll it, never submit again.
    const o = {
      checkpoint: request.checkpoint,
      submitUntil: request.deadline,
      until: request.deadline + 30 * 60_000,
    };
    const result =
      r.kind === 'arc'
        ? await this.ops.operate<AzureInstallResult>(target, r, 'installPatches', {
            ...o,
            start: () => arcOperation<AzureInstallResult>(c.arm, path, { ...interval, body }),
            restore: (s) => arcOperation<AzureInstallResult>(c.arm, path, { ...interval, restoreFrom: s }),
          })
        : await this.ops.operate<AzureInstallResult>(target, r, 'installPatches', {
            ...o,
            start: () =>
              c.compute.virtualMachines.installPatches(r.resourceGroup, r.name, body as never, {
                updateIntervalInMs: this.pollIntervalMs,
              }) as Poller<AzureInstallResult>,
            restore: (s) => this.restoreVm<AzureInstallResult>(c, s, 'install'),
          });
    this.rebootStatus.set(
      `${r.id}|${target.operation.id}|${target.operation.attempt}`,
      result.rebootStatus ?? '',
    );
    return toInstallResult(target.os, request.patchIds, result);
  }

  async reboot(target: MachineTarget): Promise<{ rebooted: boolean }> {
    // installPatches rebooted (or not) as its rebootSetting said; this step only reports it.
    const r = this.resource(target);
    const status = this.rebootStatus.get(`${r.id}|${target.operation.id}|${target.operation.attempt}`);
    return { rebooted: status === undefined || ['Completed', 'Started', 'Failed'].includes(status) };
  }

  async waitForBoot(
    target: MachineTarget,
    request: { previousBootId: string; timeoutMs: number },
  ): Promise<{ bootId: string }> {
    const r = this.resource(target);
    const status = this.rebootStatus.get(`${r.id}|${target.operation.id}|${target.operation.attempt}`);
    if (status === 'Failed')
      throw new DriverError(
        'DidNotComeBack',
        `${target.name}: Azure reports the reboot inside installPatches as Failed`,
      );
    const until = Date.now() + request.timeoutMs;
    for (;;) {
      const s = await this.state(target);
      if (s.running)
        return { bootId: request.previousBootId.replace(/before-install-reboot$/, 'after-install-reboot') };
      if (Date.now() + this.bootPollMs > until)
        throw new DriverError(
          'DidNotComeBack',
          `${target.name}: not running after Azure's reboot (${s.detail})`,
        );
      await delay(this.bootPollMs);
    }
  }

  async runScript(target: MachineTarget): Promise<{ exitCode: number; output: string }> {
    throw new DriverError(
      'ScriptFailed',
      `${target.name}: the azure driver does not run pre/post scripts (use Azure's pre and post events, docs/azure-driver.md)`,
    );
  }

  async health(target: MachineTarget): Promise<{ healthy: boolean; detail: string }> {
    const s = await this.state(target);
    return { healthy: s.running, detail: s.detail };
  }
}
