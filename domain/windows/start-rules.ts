import { MINUTE_MS } from './civil-date';
import type { TimeWindow } from './queries';

/**
 * Azure Update Manager's rules for starting work inside a window. Work already running is never
 * killed when the window closes; these rules only decide whether to start something.
 */

export type WindowOs = 'Linux' | 'Windows';

/** An install is not started unless this much of the window remains. */
export const INSTALL_MIN_REMAINING_MS = 15 * MINUTE_MS;
/** ...or this much for a Windows service pack. */
export const SERVICE_PACK_MIN_REMAINING_MS = 20 * MINUTE_MS;
/** A reboot is not started unless this much of the window remains. */
export const REBOOT_MIN_REMAINING_MS: Readonly<Record<WindowOs, number>> = {
  Windows: 10 * MINUTE_MS,
  Linux: 15 * MINUTE_MS,
};
/** How long a machine is given to come back after a reboot starts (it may run past the window's end). */
export const REBOOT_RECOVERY_MS = 15 * MINUTE_MS;

function remainsAtLeast(window: TimeWindow, at: number, minimumMs: number): boolean {
  return at >= window.start && window.end - at >= minimumMs;
}

export function canStartInstall(
  window: TimeWindow,
  at: number,
  options: { servicePack?: boolean } = {},
): boolean {
  return remainsAtLeast(
    window,
    at,
    options.servicePack ? SERVICE_PACK_MIN_REMAINING_MS : INSTALL_MIN_REMAINING_MS,
  );
}

export function canStartReboot(window: TimeWindow, at: number, os: WindowOs): boolean {
  return remainsAtLeast(window, at, REBOOT_MIN_REMAINING_MS[os]);
}

/** The instant by which an install must end so that its reboot can still start in this window. */
export function latestInstallEnd(window: TimeWindow, os: WindowOs): number {
  return window.end - REBOOT_MIN_REMAINING_MS[os];
}

/** The instant by which a machine whose reboot started at `rebootStartedAt` must be back. */
export function rebootRecoveryDeadline(rebootStartedAt: number): number {
  return rebootStartedAt + REBOOT_RECOVERY_MS;
}
