import type { TokenCredential } from '@azure/core-auth';
import { restorePoller, type ComputeManagementClient } from '@azure/arm-compute';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AZURE_MACHINE_TYPES,
  parseAzureResourceId,
  type AzureResource,
} from '../../../domain/azure-resource';
import type { Assessment, InstallResult } from '../../../domain/patches';
import { DriverError, type Checkpoint, type MachineTarget, type PatchDriver } from '../driver';
import { arcOperation } from './arc-lro';
import { createArmClients, type ArmClients, type ArmOptions } from './clients';
import { asDriverError, conflictRetryAfterMs, isTransient } from './errors';
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

type Verb = 'assessPatches' | 'installPatches';

const actionOf = (r: AzureResource, verb: Verb) => `${AZURE_MACHINE_TYPES[r.kind]}/${verb}/action`;

/** What a retried step finds in its heartbeat details: the operation it already submitted. */
interface SavedOperation {
  azureOperation: { resourceId: string; verb: Verb; operation: string; attempt: number; poller: string };
}

function savedOperation(
  saved: unknown,
  target: MachineTarget,
  resourceId: string,
  verb: Verb,
): string | undefined {
  const op = (saved as Partial<SavedOperation> | undefined)?.azureOperation;
  return op &&
    op.resourceId === resourceId &&
    op.verb === verb &&
    op.operation === target.operation.id &&
    op.attempt === target.operation.attempt
    ? op.poller
    : undefined;
}

type Poller<T> = {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  pollUntilDone(o?: { abortSignal?: AbortSignal }): Promise<T>;
};

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
  private readonly backoffMs: number;
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
    this.backoffMs = options.backoffMs ?? 30_000;
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

  /** Runs a read, retrying timeouts and dropped connections with backoff until `until` (the SDK retries 429 and 5xx itself). */
  private async read<T>(
    r: AzureResource,
    action: string,
    call: () => Promise<T>,
    until = Date.now() + 5 * 60_000,
  ): Promise<T> {
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      try {
        return await call();
      } catch (err) {
        if (!isTransient(err) || Date.now() + pause > until) throw asDriverError(err, r, action);
        await delay(pause);
      }
    }
  }

  /**
   * Submits a long-running operation; a 409 (another operation on the machine in progress) is retried
   * after Retry-After or a growing pause until `until`. Only a submission Azure refused is repeated.
   */
  private async submit<P extends { submitted(): Promise<void> }>(
    r: AzureResource,
    action: string,
    start: () => P,
    until: number,
  ): Promise<{ poller: P }> {
    // Wrapped: a poller is a thenable, and returning it bare would await the whole operation.
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      const poller = start();
      try {
        await poller.submitted();
        return { poller };
      } catch (err) {
        const wait = conflictRetryAfterMs(err, pause);
        if (wait === undefined) throw asDriverError(err, r, action);
        if (Date.now() + wait > until)
          throw new DriverError(
            'Unreachable',
            `${r.id}: another operation is still in progress (409); try again in the next window`,
          );
        await delay(wait);
      }
    }
  }

  /**
   * Polls to the end; a poll that times out or loses its connection resumes from the serialized state,
   * until `until` (then the attempt moves on; the operation itself is Azure's to finish). When `signal`
   * aborts (the step's time is up) the operation is left running for the step's next try to resume.
   */
  private async finish<T>(
    r: AzureResource,
    verb: Verb,
    state: string,
    restore: (state: string) => Poller<T>,
    until: number,
    first: Poller<T> | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    let poller = first ?? restore(state);
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      try {
        return await poller.pollUntilDone({ abortSignal: signal });
      } catch (err) {
        if (signal.aborted)
          throw new DriverError(
            'Unreachable',
            `${r.id}: ${verb} is still running in Azure; the step's next try resumes it`,
          );
        if (!isTransient(err) || Date.now() + pause > until) throw asDriverError(err, r, actionOf(r, verb));
        await delay(pause);
        poller = restore(state);
      }
    }
  }

  /**
   * Runs one long-running operation: resumes the one saved in the checkpoint (a retried step), or
   * submits it and saves it there at once, then polls it to its result within `budgetMs`.
   */
  private async operate<T>(
    target: MachineTarget,
    r: AzureResource,
    verb: Verb,
    o: {
      start: () => Poller<T>;
      restore: (state: string) => Poller<T>;
      /** Submissions refused with 409 are repeated until this instant; polls go on until `until`. */
      submitUntil: number;
      until: number;
      checkpoint?: Checkpoint;
      budgetMs?: number;
    },
  ): Promise<T> {
    let state = savedOperation(o.checkpoint?.saved, target, r.id, verb);
    let first: Poller<T> | undefined;
    if (!state) {
      const { poller } = await this.submit(r, actionOf(r, verb), o.start, o.submitUntil);
      state = await poller.serialize();
      const saved: SavedOperation = {
        azureOperation: {
          resourceId: r.id,
          verb,
          operation: target.operation.id,
          attempt: target.operation.attempt,
          poller: state,
        },
      };
      o.checkpoint?.save(saved);
      first = poller;
    }
    const controller = new AbortController();
    const timer = o.budgetMs === undefined ? undefined : setTimeout(() => controller.abort(), o.budgetMs);
    try {
      return await this.finish(r, verb, state, o.restore, o.until, first, controller.signal);
    } finally {
      clearTimeout(timer);
    }
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
      const m = await this.read(r, 'Microsoft.HybridCompute/machines/read', () =>
        c.hybrid.machines.get(r.resourceGroup, r.name),
      );
      const status = m.properties?.status;
      return { running: status === 'Connected', detail: `Arc status ${status ?? 'unknown'}` };
    }
    const view = await this.read(r, 'Microsoft.Compute/virtualMachines/instanceView/read', () =>
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
    const vm = await this.read(r, 'Microsoft.Compute/virtualMachines/read', () =>
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
        ? await this.operate<AzureAssessResult>(target, r, 'assessPatches', {
            ...request,
            submitUntil,
            until,
            start: () => arcOperation<AzureAssessResult>(c.arm, path, interval),
            restore: (s) => arcOperation<AzureAssessResult>(c.arm, path, { ...interval, restoreFrom: s }),
          })
        : await this.operate<AzureAssessResult>(target, r, 'assessPatches', {
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
        ? await this.operate<AzureInstallResult>(target, r, 'installPatches', {
            ...o,
            start: () => arcOperation<AzureInstallResult>(c.arm, path, { ...interval, body }),
            restore: (s) => arcOperation<AzureInstallResult>(c.arm, path, { ...interval, restoreFrom: s }),
          })
        : await this.operate<AzureInstallResult>(target, r, 'installPatches', {
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
