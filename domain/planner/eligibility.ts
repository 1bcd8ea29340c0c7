import type { Machine, OsType, PatchMode } from '../fleet';
import type { ExclusionReason } from '../plan';

/** Expected minutes when a machine gives no `durations`: a typical cumulative update and its reboot. */
export const DEFAULT_MINUTES: Readonly<Record<OsType, { installMinutes: number; rebootMinutes: number }>> = {
  Linux: { installMinutes: 15, rebootMinutes: 5 },
  Windows: { installMinutes: 30, rebootMinutes: 10 },
};

/** Install plus reboot, in minutes: the machine's own `durations`, else the default for its OS. */
export function machineMinutes(machine: Machine): number {
  const d = machine.durations ?? DEFAULT_MINUTES[machine.os];
  return d.installMinutes + d.rebootMinutes;
}

export interface Exclusion {
  reason: ExclusionReason;
  detail: string;
}

/** Only AutomaticByPlatform joins the rollout, as in Azure's availability-first patching. */
export function exclusionByPatchMode(mode: PatchMode): Exclusion | undefined {
  switch (mode) {
    case 'AutomaticByPlatform':
      return undefined;
    case 'Manual':
      return {
        reason: 'ManualPatchMode',
        detail: 'patch mode Manual: only an explicit schedule or an on-demand run patches it',
      };
    default:
      return { reason: 'LeftToOS', detail: `patch mode ${mode}: the operating system patches itself` };
  }
}

export function regionNotInPhases(region: string): Exclusion {
  return { reason: 'RegionNotInPhases', detail: `region "${region}" is in none of the policy's phases` };
}
