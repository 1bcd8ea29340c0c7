import type { OsType } from '../fleet';
import type { RebootSetting } from '../policy';
import { shouldReboot } from '../reboot';
import { DEFAULT_MINUTES } from './eligibility';

/*
 * What a machine is expected to take, as the forecast models its attempt and a lane's follower orders its
 * machines (workflows/lane-follower.ts): one rule for both, so that the runs follow their forecast.
 */

/** The machine's own `durations`, else the default for its OS. */
export function expectedDurations(m: {
  os: OsType;
  durations?: { installMinutes: number; rebootMinutes: number };
}): { installMinutes: number; rebootMinutes: number } {
  return m.durations ?? DEFAULT_MINUTES[m.os];
}

/**
 * A reboot's expected minutes: as workflows/machine.ts decides it (`shouldReboot`), with the host assumed to
 * ask for a reboot unless the month is a hotpatch month on a hotpatch-capable image.
 */
export function expectedRebootMinutes(
  setting: RebootSetting,
  minutes: number,
  hotpatchOnly: boolean,
): number {
  return shouldReboot(setting, !hotpatchOnly, hotpatchOnly) ? minutes : 0;
}
