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
  | 'DidNotComeBack';

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
 * A machine's patch tooling. Every mutating call is idempotent: it checks the host before acting, so
 * an activity retried after a crash never installs a patch or reboots a machine twice.
 */
export interface PatchDriver {
  /** The host's current boot id; throws DriverError('Unreachable') when it cannot be reached. */
  bootId(target: MachineTarget): Promise<string>;
  assess(target: MachineTarget): Promise<Assessment>;
  /** Installs exactly `patchIds` (already installed ones count as Installed), stopping at `deadline`. */
  install(
    target: MachineTarget,
    request: { patchIds: string[]; deadline: number; onProgress?: (installed: number) => void },
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
