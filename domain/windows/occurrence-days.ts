import {
  civilDate,
  dayNumber,
  daysInMonth,
  monthFromNumber,
  monthNumber,
  WEEKDAYS,
  weekdayIndex,
} from './civil-date';
import type { Recurrence, WeekOfMonth } from './recurrence';

/**
 * Which local dates a recurrence falls on, counted from the schedule's start date (the anchor):
 * - `N Days`: the anchor and every N-th day after it.
 * - `N Weeks`: the listed weekdays (default: the anchor's weekday) of the anchor's week (Monday to Sunday)
 *   and of every N-th week after it.
 * - `N Months`: the anchor's month and every N-th month after it. Listed days a month lacks (day31 in
 *   April) are skipped, as Azure does. For `<Nth> <Weekday> Offset±k`, the weekday is found in the
 *   recurrence's month and the offset then applies to that date, so it may land in the month before or
 *   after (Last Friday Offset6 of March can fall in April).
 * Dates before the anchor are never returned, but callers still filter by instant: an occurrence moved
 * before the start by a negative offset does not count.
 */
export function nextOccurrenceDay(
  recurrence: Recurrence,
  anchorDay: number,
  fromDay: number,
  untilDay: number,
): number | undefined {
  const from = Math.max(fromDay, anchorDay);
  if (from > untilDay) return undefined;
  switch (recurrence.kind) {
    case 'daily': {
      const steps = Math.ceil((from - anchorDay) / recurrence.interval);
      const day = anchorDay + steps * recurrence.interval;
      return day <= untilDay ? day : undefined;
    }
    case 'weekly':
      return nextWeeklyDay(recurrence, anchorDay, from, untilDay);
    default:
      return nextMonthlyDay(recurrence, anchorDay, from, untilDay);
  }
}

function nextWeeklyDay(
  recurrence: Extract<Recurrence, { kind: 'weekly' }>,
  anchorDay: number,
  from: number,
  untilDay: number,
): number | undefined {
  const offsets = recurrence.weekdays.length
    ? recurrence.weekdays.map((w) => WEEKDAYS.indexOf(w))
    : [weekdayIndex(anchorDay)];
  const anchorMonday = anchorDay - weekdayIndex(anchorDay);
  let week = Math.floor((from - anchorMonday) / 7);
  week = Math.ceil(week / recurrence.interval) * recurrence.interval;
  for (; anchorMonday + week * 7 <= untilDay; week += recurrence.interval) {
    for (const offset of offsets) {
      const day = anchorMonday + week * 7 + offset;
      if (day >= from) return day <= untilDay ? day : undefined;
    }
  }
  return undefined;
}

function nextMonthlyDay(
  recurrence: Extract<Recurrence, { kind: 'monthlyByDay' | 'monthlyByWeekday' }>,
  anchorDay: number,
  from: number,
  untilDay: number,
): number | undefined {
  const anchor = civilDate(anchorDay);
  const anchorMonth = monthNumber(anchor.year, anchor.month);
  const fromDate = civilDate(from);
  // A positive offset can carry the previous month's occurrence into this month: start one month back.
  const firstMonth = Math.max(anchorMonth, monthNumber(fromDate.year, fromDate.month) - 1);
  let month = anchorMonth + Math.ceil((firstMonth - anchorMonth) / recurrence.interval) * recurrence.interval;
  for (; ; month += recurrence.interval) {
    const { year, month: monthOfYear } = monthFromNumber(month);
    const firstOfMonth = dayNumber(year, monthOfYear, 1);
    if (firstOfMonth - 7 > untilDay) return undefined;
    for (const day of daysOfMonth(recurrence, anchor.day, year, monthOfYear)) {
      if (day >= from) return day <= untilDay ? day : undefined;
    }
  }
}

/** The recurrence's dates belonging to one month of the recurrence, in ascending order. */
function daysOfMonth(
  recurrence: Extract<Recurrence, { kind: 'monthlyByDay' | 'monthlyByWeekday' }>,
  anchorDayOfMonth: number,
  year: number,
  month: number,
): number[] {
  if (recurrence.kind === 'monthlyByWeekday') {
    const found = nthWeekdayOfMonth(
      year,
      month,
      recurrence.weekOfMonth,
      WEEKDAYS.indexOf(recurrence.weekday),
    );
    return [found + recurrence.offsetDays];
  }
  const length = daysInMonth(year, month);
  const days = recurrence.days.length ? recurrence.days : [anchorDayOfMonth];
  return days.filter((d) => d <= length).map((d) => dayNumber(year, month, d));
}

const ORDINAL: Record<Exclude<WeekOfMonth, 'Last'>, number> = { First: 0, Second: 1, Third: 2, Fourth: 3 };

export function nthWeekdayOfMonth(year: number, month: number, which: WeekOfMonth, weekday: number): number {
  if (which === 'Last') {
    const last = dayNumber(year, month, daysInMonth(year, month));
    return last - ((weekdayIndex(last) - weekday + 7) % 7);
  }
  const first = dayNumber(year, month, 1);
  return first + ((weekday - weekdayIndex(first) + 7) % 7) + 7 * ORDINAL[which];
}
