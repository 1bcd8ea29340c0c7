import { DAY_MS, formatDate, parseDate } from './windows/civil-date';
import { nthWeekdayOfMonth } from './windows/occurrence-days';
import { instantToLocalMs } from './windows/zoned-time';

/** Microsoft's release calendar: Patch Tuesday, rollout deadlines and the hotpatch baseline cycle. */

const TUESDAY = 1; // Monday is 0

function checkMonth(year: number, month: number): void {
  if (!Number.isInteger(year) || year < 1970 || !Number.isInteger(month) || month < 1 || month > 12)
    throw new RangeError(`invalid year and month: ${year}-${month}`);
}

function parseDateOrThrow(date: string): number {
  const day = parseDate(date);
  if (day === undefined) throw new RangeError(`invalid date "${date}": expected YYYY-MM-DD`);
  return day;
}

/** The second Tuesday of the month (`month` 1..12), as 'YYYY-MM-DD'. */
export function patchTuesday(year: number, month: number): string {
  checkMonth(year, month);
  return formatDate(nthWeekdayOfMonth(year, month, 'Second', TUESDAY));
}

/**
 * The release a date belongs to, as 'YYYY-MM': the month of the latest Patch Tuesday on or before it.
 * 2024-03-11 is still in February's release; 2024-03-12 (Patch Tuesday) starts March's.
 */
export function releaseMonthOf(date: string): string {
  const day = parseDateOrThrow(date);
  let [year, month] = date.split('-').map(Number);
  if (day < nthWeekdayOfMonth(year, month, 'Second', TUESDAY)) {
    month -= 1;
    if (month === 0) [year, month] = [year - 1, 12];
  }
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

/** The date `days` after a release date, by which the rollout should be complete. */
export function rolloutDeadline(releaseDate: string, days = 30): string {
  if (!Number.isInteger(days) || days < 0)
    throw new RangeError(`days must be a non-negative integer, got ${days}`);
  return formatDate(parseDateOrThrow(releaseDate) + days);
}

/** Planned baseline months for hotpatch: January, April, July, October. */
export const BASELINE_MONTHS = [1, 4, 7, 10] as const;

/**
 * Whether a month ('YYYY-MM') is a hotpatch baseline month (full cumulative update, reboot) or a
 * hotpatch month (no reboot). Microsoft may declare an unplanned baseline in a hotpatch month when a fix
 * cannot be hotpatched; list those months in `unplannedBaselineMonths`.
 */
export function monthType(
  yearMonth: string,
  unplannedBaselineMonths: string[] = [],
): 'baseline' | 'hotpatch' {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(yearMonth);
  if (!m) throw new RangeError(`invalid month "${yearMonth}": expected YYYY-MM`);
  const month = Number(m[2]);
  if ((BASELINE_MONTHS as readonly number[]).includes(month)) return 'baseline';
  return unplannedBaselineMonths.includes(yearMonth) ? 'baseline' : 'hotpatch';
}

/**
 * The release a rollout started at `at` (epoch ms) belongs to when its policy names no month: the latest
 * Patch Tuesday on or before its date in `timeZone` (UTC for rollouts, the schedule's zone for schedules).
 * On December 1 that is November's release, not December's, which has not happened yet.
 */
export function releaseMonthAt(at: number, timeZone = 'UTC'): string {
  return releaseMonthOf(formatDate(Math.floor(instantToLocalMs(timeZone, at) / DAY_MS)));
}

/**
 * A release month's settings: the release date, the month type, and the deadline, the end of the UTC
 * day `deadlineDays` after the release. The deadline belongs to the release, not to the rollout: a
 * rollout started late (or an old month started now) keeps it, even when it has already passed.
 */
export function releaseSettings(
  month: string,
  deadlineDays: number,
  unplannedBaselineMonths: readonly string[] = [],
): { month: string; monthType: 'baseline' | 'hotpatch'; releaseDate: string; deadline: number } {
  const [year, mon] = month.split('-').map(Number);
  const releaseDate = patchTuesday(year, mon);
  const deadline = Date.parse(`${rolloutDeadline(releaseDate, deadlineDays)}T23:59:59Z`);
  return { month, monthType: monthType(month, [...unplannedBaselineMonths]), releaseDate, deadline };
}
