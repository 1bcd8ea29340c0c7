import { DAY_MS, HOUR_MS, MINUTE_MS, parseLocalDateTime, parseTimeOfDay } from './civil-date';
import { nextOccurrenceDay } from './occurrence-days';
import type { MaintenanceSchedule } from './maintenance-schedule';
import { instantToLocalMs, localMsToInstant } from './zoned-time';

/** A maintenance window as absolute instants (epoch ms): open on [start, end). */
export interface TimeWindow {
  start: number;
  end: number;
}

/**
 * How far ahead to look for the next matching date. The widest gap the grammar allows is far shorter
 * (e.g. `5Months day31` from January: 30 months); the bound only stops schedules that never match.
 */
export const SEARCH_HORIZON_YEARS = 12;
const SEARCH_HORIZON_DAYS = SEARCH_HORIZON_YEARS * 366;

/** A window can outlast its nominal duration by a DST change; look back far enough to catch it. */
const DST_SLACK_MS = 2 * HOUR_MS;

/**
 * The window containing `after`, else the next one to open; undefined once the schedule has expired.
 * Windows are enumerated date by date from the recurrence, never minute by minute.
 */
export function nextWindow(schedule: MaintenanceSchedule, after: number): TimeWindow | undefined {
  const { timeZone, recurrence, expiresAt } = schedule;
  const anchor = parseLocalDateTime(schedule.startDateTime);
  if (!anchor) throw new RangeError(`invalid startDateTime "${schedule.startDateTime}"`);
  const endMinute = schedule.endTime === undefined ? undefined : parseTimeOfDay(schedule.endTime);

  const longestMs = schedule.durationMinutes * MINUTE_MS + DST_SLACK_MS;
  const lookbackDay = Math.floor(instantToLocalMs(timeZone, after - longestMs) / DAY_MS) - 1;
  let day = Math.max(lookbackDay, anchor.day);
  const untilDay = day + SEARCH_HORIZON_DAYS;
  for (;;) {
    const found = nextOccurrenceDay(recurrence, anchor.day, day, untilDay);
    if (found === undefined) return undefined;
    day = found + 1;
    const start = localMsToInstant(timeZone, found * DAY_MS + anchor.minuteOfDay * MINUTE_MS);
    if (expiresAt !== undefined && start >= expiresAt) return undefined;
    if (start < schedule.startsAt) continue;
    let end =
      endMinute === undefined
        ? start + schedule.durationMinutes * MINUTE_MS
        : localMsToInstant(timeZone, wallClockEnd(found, anchor.minuteOfDay, endMinute));
    if (expiresAt !== undefined) end = Math.min(end, expiresAt);
    // An end later than `after` also rules out windows that DST squeezed to nothing (end <= start).
    if (end > after && end > start) return { start, end };
  }
}

/** Local end of an off-peak window opening on `day`: the next day when it crosses midnight. */
function wallClockEnd(day: number, startMinute: number, endMinute: number): number {
  const endDay = endMinute <= startMinute ? day + 1 : day;
  return endDay * DAY_MS + endMinute * MINUTE_MS;
}

/** The window containing `at`, if any. */
export function windowAt(schedule: MaintenanceSchedule, at: number): TimeWindow | undefined {
  const window = nextWindow(schedule, at);
  return window && window.start <= at ? window : undefined;
}

/** Milliseconds left in the window containing `at`; 0 outside any window. */
export function remainingMs(schedule: MaintenanceSchedule, at: number): number {
  const window = windowAt(schedule, at);
  return window ? window.end - at : 0;
}

/** Up to `count` windows in order, starting with the one containing `after` (if any). */
export function nextOccurrences(schedule: MaintenanceSchedule, after: number, count: number): TimeWindow[] {
  const windows: TimeWindow[] = [];
  let cursor = after;
  while (windows.length < count) {
    const window = nextWindow(schedule, cursor);
    if (!window) break;
    windows.push(window);
    cursor = window.end;
  }
  return windows;
}
