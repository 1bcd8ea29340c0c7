import { WEEKDAYS, type Weekday } from './civil-date';

/** Azure's "week of month" words; `Last` is the last such weekday of the month (the 4th or 5th). */
export const WEEKS_OF_MONTH = ['First', 'Second', 'Third', 'Fourth', 'Last'] as const;
export type WeekOfMonth = (typeof WEEKS_OF_MONTH)[number];

/** Offpeak's upper bounds on `N` in `[N]Day(s)` etc. Azure's API reference documents none. */
export const MAX_INTERVAL = { Day: 35, Week: 5, Month: 12 } as const;
export const MAX_OFFSET_DAYS = 6;

/** A parsed `recurEvery`. Plain data: it travels inside Temporal payloads. */
export type Recurrence =
  | { kind: 'daily'; interval: number }
  /** `weekdays` empty: the weekday of the schedule's start date. */
  | { kind: 'weekly'; interval: number; weekdays: Weekday[] }
  /** `days` empty: the day of month of the schedule's start date. Days a month lacks are skipped. */
  | { kind: 'monthlyByDay'; interval: number; days: number[] }
  /** The `weekOfMonth` `weekday` of the month, moved by `offsetDays` (possibly into a neighbouring month). */
  | {
      kind: 'monthlyByWeekday';
      interval: number;
      weekOfMonth: WeekOfMonth;
      weekday: Weekday;
      offsetDays: number;
    };

export type RecurrenceResult = { ok: true; value: Recurrence } | { ok: false; message: string };

const UNIT = /^(\d*)(day|week|month)s?$/i;
const DAY_OF_MONTH = /^day(\d+)$/i;
const OFFSET = /^offset([+-]?\d+)$/i;

function lookup<T extends string>(names: readonly T[], word: string): T | undefined {
  return names.find((name) => name.toLowerCase() === word.toLowerCase());
}

/**
 * Parses Azure's `recurEvery` grammar, keywords case-insensitive:
 * `[N]Day(s)`, `[N]Week(s) [Monday,...]`, `[N]Month(s) [dayX,...]`,
 * `[N]Month(s) First|Second|Third|Fourth|Last <Weekday> [Offset±k]`.
 */
export function parseRecurEvery(text: string): RecurrenceResult {
  const fail = (why: string): RecurrenceResult => ({ ok: false, message: `"${text}" is not valid: ${why}` });
  // "Saturday, Sunday" reads naturally in YAML; treat it as "Saturday,Sunday".
  const words = text
    .trim()
    .replace(/\s*,\s*/g, ',')
    .split(/\s+/)
    .filter(Boolean);
  const unitMatch = UNIT.exec(words[0] ?? '');
  if (!unitMatch)
    return fail('expected [N]Day(s), [N]Week(s) or [N]Month(s) first (e.g. "Day", "2Weeks Monday")');
  const unit = (unitMatch[2][0].toUpperCase() +
    unitMatch[2].slice(1).toLowerCase()) as keyof typeof MAX_INTERVAL;
  const interval = unitMatch[1] === '' ? 1 : Number(unitMatch[1]);
  if (interval < 1 || interval > MAX_INTERVAL[unit])
    return fail(`the interval must be between 1 and ${MAX_INTERVAL[unit]} for ${unit}(s), got ${interval}`);
  const rest = words.slice(1);

  if (unit === 'Day') {
    if (rest.length) return fail(`a daily recurrence takes nothing after "${words[0]}"`);
    return { ok: true, value: { kind: 'daily', interval } };
  }
  if (unit === 'Week') {
    if (rest.length > 1) return fail('expected a comma-separated list of weekdays such as "Saturday,Sunday"');
    const weekdays: Weekday[] = [];
    for (const word of rest.length ? rest[0].split(',') : []) {
      const weekday = lookup(WEEKDAYS, word);
      if (!weekday) return fail(`"${word}" is not a weekday: expected ${WEEKDAYS.join('|')}`);
      if (!weekdays.includes(weekday)) weekdays.push(weekday);
    }
    weekdays.sort((a, b) => WEEKDAYS.indexOf(a) - WEEKDAYS.indexOf(b));
    return { ok: true, value: { kind: 'weekly', interval, weekdays } };
  }
  return parseMonthly(rest, interval, fail);
}

function parseMonthly(
  rest: string[],
  interval: number,
  fail: (why: string) => RecurrenceResult,
): RecurrenceResult {
  if (rest.length === 0) return { ok: true, value: { kind: 'monthlyByDay', interval, days: [] } };
  if (/^day/i.test(rest[0])) {
    if (rest.length > 1) return fail('expected a comma-separated list of month days such as "day23,day24"');
    const days: number[] = [];
    for (const word of rest[0].split(',')) {
      const m = DAY_OF_MONTH.exec(word);
      const day = m ? Number(m[1]) : NaN;
      if (!(day >= 1 && day <= 31)) return fail(`"${word}" is not a month day: expected day1 to day31`);
      if (!days.includes(day)) days.push(day);
    }
    days.sort((a, b) => a - b);
    return { ok: true, value: { kind: 'monthlyByDay', interval, days } };
  }
  const weekOfMonth = lookup(WEEKS_OF_MONTH, rest[0]);
  if (!weekOfMonth)
    return fail(`expected ${WEEKS_OF_MONTH.join('|')} or month days such as "day23,day24", got "${rest[0]}"`);
  const weekday = lookup(WEEKDAYS, rest[1] ?? '');
  if (!weekday) return fail(`expected a weekday (${WEEKDAYS.join('|')}) after "${rest[0]}"`);
  let offsetDays = 0;
  if (rest.length > 2) {
    const m = OFFSET.exec(rest[2]);
    if (!m) return fail(`expected "Offset<k>" (e.g. Offset4, Offset-3) after the weekday, got "${rest[2]}"`);
    offsetDays = Number(m[1]) || 0; // "Offset-0" is 0, not -0
    if (Math.abs(offsetDays) > MAX_OFFSET_DAYS)
      return fail(`the offset must be between -${MAX_OFFSET_DAYS} and ${MAX_OFFSET_DAYS}, got ${offsetDays}`);
  }
  if (rest.length > 3) return fail(`unexpected "${rest.slice(3).join(' ')}" after the offset`);
  return { ok: true, value: { kind: 'monthlyByWeekday', interval, weekOfMonth, weekday, offsetDays } };
}
