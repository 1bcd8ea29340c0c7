import type { OsType } from '../../domain/fleet';
import type { Assessment, InstallResult } from '../../domain/patches';

/** What an activity tells a driver about the machine it acts on. Never secrets. */
export interface MachineTarget {
  name: string;
  os: OsType;
  image?: { publisher: string; offer: string; sku: string };
  simulation?: Record<string, unknown>;
  /** The simulator's time scale for this machine (the policy's `simulationSpeed`); other drivers ignore it. */
  timeScale?: number;
  /** The azure driver's resource and the reboot setting installPatches applies. */
  azure?: { resourceId: string; rebootSetting?: 'IfRequired' | 'Never' | 'Always' };
  /** The operation this call belongs to (a rollout or an on-demand run) and its attempt on this machine, from 1. */
  operation: { id: string; attempt: number };
}

/** Failure kinds a driver reports; activities map them to the failure catalogue. */
export type DriverFailureKind =
  | 'Unreachable'
  | 'InstallFailed'
  | 'ScriptFailed'
  | 'HostKeyMismatch'
  | 'UnsupportedShell'
  | 'DidNotComeBack'
  /** The cloud refused the call for want of a permission (Azure 403 AuthorizationFailed). */
  | 'NotAuthorized'
  /** The platform patches the machine itself (an Azure VM in AutomaticByPlatform without the bypass flag). */
  | 'PlatformManaged';

export class DriverError extends Error {
  constructor(
    readonly kind: DriverFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/**
 * Where a long call keeps what it needs to resume after its worker dies: the activity's heartbeat
 * details. `saved` is what the previous try of the same activity saved (undefined on the first try).
 */
export interface Checkpoint {
  saved: unknown;
  save(state: unknown): void;
}

/**
 * A machine's patch tooling. Every mutating call is idempotent: it checks the host before acting, so
 * an activity retried after a crash never installs a patch or reboots a machine twice.
 */
export interface PatchDriver {
  /**
   * The host's current boot id; throws DriverError('Unreachable') when it cannot be reached. A driver
   * whose platform reboots inside its install (azure) returns a token of the attempt instead, and its
   * `reboot` reports what the install did.
   */
  bootId(target: MachineTarget): Promise<string>;
  /**
   * Drivers of remote long-running operations (azure) resume the assessment saved in `checkpoint`, and
   * leave it running for the step's next try when `budgetMs` (the step's time left) runs out.
   */
  assess(
    target: MachineTarget,
    request?: { checkpoint?: Checkpoint; budgetMs?: number },
  ): Promise<Assessment>;
  /** Installs exactly `patchIds` (already installed ones count as Installed), stopping at `deadline`. */
  install(
    target: MachineTarget,
    request: {
      patchIds: string[];
      deadline: number;
      onProgress?: (installed: number) => void;
      /** Drivers of remote long-running operations (azure) resume from it instead of submitting again. */
      checkpoint?: Checkpoint;
    },
  ): Promise<InstallResult>;
  /** Reboots only when the host still has `expectedBootId`: a retry after the reboot is a no-op. */
  reboot(target: MachineTarget, request: { expectedBootId: string }): Promise<{ rebooted: boolean }>;
  /** Waits until the host is back with a boot id different from `previousBootId`. */
  waitForBoot(
    target: MachineTarget,
    request: { previousBootId: string; timeoutMs: number },
  ): Promise<{ bootId: string }>;
  /** `script`: a path on the host run with `args`, or a shipped script's text (domain/scripts.ts). */
  runScript(
    target: MachineTarget,
    request: { kind: 'pre' | 'post'; script: string; args?: readonly string[]; timeoutMs: number },
  ): Promise<{ exitCode: number; output: string }>;
  health(target: MachineTarget): Promise<{ healthy: boolean; detail: string }>;
}
