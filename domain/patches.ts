import type { Classification } from './policy';

/** How an update behaves with respect to reboots, in Azure's words. */
export type RebootBehavior = 'NeverReboots' | 'AlwaysRequiresReboot' | 'CanRequestReboot';

export interface AvailablePatch {
  /** Stable id: the KB number on Windows ("KB5031234"), "name=version" on Linux. */
  patchId: string;
  name: string;
  kbId?: string;
  version?: string;
  classification: Classification;
  rebootBehavior: RebootBehavior;
  /** Installable without a reboot (Windows hotpatch). */
  hotpatch: boolean;
}

export interface Assessment {
  machine: string;
  assessedAt: string;
  bootId: string;
  rebootPending: boolean;
  patches: AvailablePatch[];
}

export type PatchInstallState = 'Installed' | 'Failed' | 'Pending' | 'Excluded' | 'NotSelected';

/** Why a patch was `Excluded`: the policy's exclusion lists, its no-reboot rule, or a hotpatch month. */
export const EXCLUSION_REASONS = ['PolicyExclusion', 'RequiresReboot', 'HotpatchMonth'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface PatchOutcome {
  patchId: string;
  state: PatchInstallState;
  /** Set on `Excluded` outcomes (absent in attempts recorded before reasons were kept). */
  reason?: ExclusionReason;
}

export interface InstallResult {
  patches: PatchOutcome[];
  /** The host now asks for a reboot (some installed patch needs one, or one was already pending). */
  rebootRequired: boolean;
  maintenanceWindowExceeded: boolean;
}

export type PatchCounts = Record<'installed' | 'failed' | 'pending' | 'excluded' | 'notSelected', number>;

export function countOutcomes(outcomes: readonly PatchOutcome[]): PatchCounts {
  const counts: PatchCounts = { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 };
  for (const o of outcomes) {
    if (o.state === 'Installed') counts.installed++;
    else if (o.state === 'Failed') counts.failed++;
    else if (o.state === 'Pending') counts.pending++;
    else if (o.state === 'Excluded') counts.excluded++;
    else counts.notSelected++;
  }
  return counts;
}

/** No patches at all: a machine that was never assessed, or an attempt that did nothing. */
export const zeroCounts = (): PatchCounts => countOutcomes([]);
