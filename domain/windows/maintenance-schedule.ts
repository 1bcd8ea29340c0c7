import type { Recurrence } from './recurrence';

/**
 * A validated schedule. Plain JSON data (it travels in Temporal payloads): local fields are kept as
 * written, and the instants derived from them are stored beside them so queries need no re-parsing.
 */
export interface MaintenanceSchedule {
  /** Canonical IANA name. */
  timeZone: string;
  recurrence: Recurrence;
  /** 'YYYY-MM-DD HH:mm' local: the recurrence's anchor and the time of day every window opens. */
  startDateTime: string;
  /** Epoch ms of `startDateTime`; no window opens before it. */
  startsAt: number;
  /** 'YYYY-MM-DD HH:mm' local. */
  expirationDateTime?: string;
  /** Epoch ms of `expirationDateTime`; no window opens at or after it, and a window open then is cut. */
  expiresAt?: number;
  /** Elapsed (absolute) length of each window. */
  durationMinutes: number;
  /** 'HH:mm' local: when set, each window ends at this wall-clock time instead (off-peak hours). */
  endTime?: string;
  /** The script's path on the host, or a shipped script's text (domain/scripts.ts). */
  preScript?: string;
  postScript?: string;
  /** Arguments of a path script, as a list (absent: none). */
  scriptArgs?: { pre?: string[]; post?: string[] };
}
