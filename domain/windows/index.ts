/**
 * Maintenance windows: when a machine may be patched. Pure functions over plain data; no Temporal,
 * no I/O. Instants are epoch milliseconds; windows are half-open, [start, end).
 *
 * Schedules come from Azure-style maintenance configurations (`parseMaintenanceConfiguration`) or from
 * the policy's off-peak hours (`offPeakSchedule`).
 *
 * Azure's limits, as enforced:
 * - `duration` 01:30 to 03:55 (in-guest patching). Off-peak schedules are not bound by it.
 * - `recurEvery`: `[N]Day(s)`, `[N]Week(s) [weekdays]`, `[N]Month(s) [day1..day31 list]`,
 *   `[N]Month(s) First|Second|Third|Fourth|Last <Weekday> [Offset-6..Offset6]`, keywords in any case.
 *   Azure documents no upper bound on N; Offpeak's are 35 days, 5 weeks and 12 months (`MAX_INTERVAL`),
 *   so every schedule opens at least yearly.
 * - `expirationDateTime` must follow `startDateTime`; a schedule that never opens a window is rejected.
 * - Start rules (`start-rules.ts`): installs need 15 minutes left (20 for a Windows service pack),
 *   reboots 10 (Windows) or 15 (Linux); a rebooting machine gets 15 minutes to come back.
 *
 * Recurrence (see `occurrence-days.ts`): counted from the start date. `Week` with no weekdays uses the
 * start date's weekday and `Month` with no days the start date's day of month. Weeks run Monday to
 * Sunday. A listed month day the month lacks (day31 in April) is skipped, as Azure does, never moved.
 * `Offset±k` applies to the weekday found in the recurrence's month and may cross into the month before
 * or after: `Month Last Friday Offset6` of March 2024 is Friday 29 March + 6 = Thursday 4 April.
 *
 * Time zones and DST (see `zoned-time.ts`): every window opens at the start time of day on the local
 * wall clock. A start time that does not exist (spring-forward gap) opens at the first valid instant
 * after the gap (02:30 in New York on the spring-forward day opens at 03:00 EDT). A start time that
 * happens twice (fall-back overlap) opens at its first occurrence. Configuration windows last `duration`
 * in elapsed time, so across a DST change they end at a different wall-clock time; off-peak windows end
 * at their wall-clock end time, so they are an hour longer or shorter that night.
 *
 * Boundaries: no window opens before `startDateTime` or at/after `expirationDateTime`; a window still
 * open at the expiration is cut there. Windows that cross midnight or a month end are ordinary windows.
 */
export { parseRecurEvery, MAX_INTERVAL, MAX_OFFSET_DAYS, WEEKS_OF_MONTH } from './recurrence';
export type { Recurrence, RecurrenceResult, WeekOfMonth } from './recurrence';
export { WEEKDAYS, type Weekday } from './civil-date';
export {
  maintenanceConfigurationSchema,
  parseMaintenanceConfiguration,
  offPeakSchedule,
  MIN_DURATION_MINUTES,
  MAX_DURATION_MINUTES,
} from './schedule';
export type { MaintenanceSchedule, MaintenanceConfigurationInput } from './schedule';
export { nextWindow, windowAt, remainingMs, nextOccurrences, SEARCH_HORIZON_YEARS } from './queries';
export type { TimeWindow } from './queries';
export {
  canStartInstall,
  canStartReboot,
  latestInstallEnd,
  rebootRecoveryDeadline,
  INSTALL_MIN_REMAINING_MS,
  SERVICE_PACK_MIN_REMAINING_MS,
  REBOOT_MIN_REMAINING_MS,
  REBOOT_RECOVERY_MS,
} from './start-rules';
export type { WindowOs } from './start-rules';
export { localMsToInstant, instantToLocalMs, utcOffsetMs } from './zoned-time';
