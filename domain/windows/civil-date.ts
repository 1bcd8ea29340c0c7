/**
 * Calendar arithmetic on local (wall-clock) dates, with no time zone involved.
 * A date is a day number: whole days since 1970-01-01, so adding days is adding integers.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const MINUTES_PER_DAY = 1440;

/** Weekdays in ISO order: Monday is index 0. */
export const WEEKDAYS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface CivilDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

export function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

export function civilDate(dayNum: number): CivilDate {
  const d = new Date(dayNum * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday). */
export function weekdayIndex(dayNum: number): number {
  return (((dayNum + 3) % 7) + 7) % 7;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Months counted from year 0, so that "N months later" is plain addition. */
export function monthNumber(year: number, month: number): number {
  return year * 12 + (month - 1);
}

export function monthFromNumber(monthNum: number): { year: number; month: number } {
  return { year: Math.floor(monthNum / 12), month: (((monthNum % 12) + 12) % 12) + 1 };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function formatDate(dayNum: number): string {
  const { year, month, day } = civilDate(dayNum);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

export function formatTimeOfDay(minuteOfDay: number): string {
  return `${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}`;
}

/** Parses a strict 'YYYY-MM-DD' into a day number, or undefined when it is not a real date. */
export function parseDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return dayNumber(year, month, day);
}

/** Parses a strict 24-hour 'HH:mm' into minutes after midnight, or undefined. */
export function parseTimeOfDay(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** Parses Azure's 'YYYY-MM-DD HH:mm' local date-time. */
export function parseLocalDateTime(text: string): { day: number; minuteOfDay: number } | undefined {
  const m = /^(\S+) (\S+)$/.exec(text);
  if (!m) return undefined;
  const day = parseDate(m[1]);
  const minuteOfDay = parseTimeOfDay(m[2]);
  return day === undefined || minuteOfDay === undefined ? undefined : { day, minuteOfDay };
}
