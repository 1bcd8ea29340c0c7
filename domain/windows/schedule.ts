import { z } from 'zod';
import type { Parsed, Problem } from '../problems';
import { resolveTimeZone } from '../timezones';
import { scriptCallOf, scriptSchema } from '../scripts';
import { DAY_MS, MINUTE_MS, MINUTES_PER_DAY, parseLocalDateTime, parseTimeOfDay } from './civil-date';
import { parseRecurEvery } from './recurrence';
import { nextWindow, SEARCH_HORIZON_YEARS } from './queries';
import { localMsToInstant } from './zoned-time';
import type { MaintenanceSchedule } from './maintenance-schedule';

export type { MaintenanceSchedule } from './maintenance-schedule';

/** Azure's duration limits for guest-scope (in-guest patching) maintenance configurations. */
export const MIN_DURATION_MINUTES = 90;
export const MAX_DURATION_MINUTES = 235;

/** One maintenance configuration as written in a fleet file (Azure's field names and formats). */
export const maintenanceConfigurationSchema = z
  .object({
    /** 'YYYY-MM-DD HH:mm', local time in `timeZone`: the first window opens at or after it. */
    startDateTime: z.string(),
    /** 'HH:mm', 01:30 to 03:55. */
    duration: z.string(),
    /** IANA ("Europe/Berlin") or Windows ("W. Europe Standard Time") name. */
    timeZone: z.string(),
    /** 'YYYY-MM-DD HH:mm', local time: no window opens at or after it. */
    expirationDateTime: z.string().optional(),
    recurEvery: z.string(),
    /** A path on the host (arguments as a list: `{ path, args }`) or a shipped script (domain/scripts.ts). */
    preScript: scriptSchema.optional(),
    postScript: scriptSchema.optional(),
  })
  .strict();

export type MaintenanceConfigurationInput = z.infer<typeof maintenanceConfigurationSchema>;

function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,2}):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

const formatDuration = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** Semantic checks of one configuration; every problem at once, paths relative to the configuration. */
export function parseMaintenanceConfiguration(
  raw: MaintenanceConfigurationInput,
): Parsed<MaintenanceSchedule> {
  const problems: Problem[] = [];
  const timeZone = resolveTimeZone(raw.timeZone);
  if (!timeZone)
    problems.push({
      path: 'timeZone',
      message: `unknown time zone "${raw.timeZone}": use an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time)`,
    });

  const start = parseLocalDateTime(raw.startDateTime);
  if (!start) problems.push({ path: 'startDateTime', message: invalidDateTime(raw.startDateTime) });

  const expiration =
    raw.expirationDateTime === undefined ? undefined : parseLocalDateTime(raw.expirationDateTime);
  if (raw.expirationDateTime !== undefined && !expiration)
    problems.push({ path: 'expirationDateTime', message: invalidDateTime(raw.expirationDateTime) });

  const durationMinutes = parseDuration(raw.duration);
  if (durationMinutes === undefined)
    problems.push({
      path: 'duration',
      message: `"${raw.duration}" is not a valid duration: expected "HH:mm"`,
    });
  else if (durationMinutes < MIN_DURATION_MINUTES || durationMinutes > MAX_DURATION_MINUTES)
    problems.push({
      path: 'duration',
      message: `"${raw.duration}" is out of range: Azure allows ${formatDuration(MIN_DURATION_MINUTES)} to ${formatDuration(MAX_DURATION_MINUTES)} for in-guest patching`,
    });

  const recurrence = parseRecurEvery(raw.recurEvery);
  if (!recurrence.ok) problems.push({ path: 'recurEvery', message: recurrence.message });

  if (start && expiration && localMs(expiration) <= localMs(start))
    problems.push({
      path: 'expirationDateTime',
      message: `must be after startDateTime (${raw.startDateTime})`,
    });

  if (problems.length || !timeZone || !start || durationMinutes === undefined || !recurrence.ok)
    return { ok: false, problems };

  const schedule: MaintenanceSchedule = {
    timeZone,
    recurrence: recurrence.value,
    startDateTime: raw.startDateTime,
    startsAt: localMsToInstant(timeZone, localMs(start)),
    durationMinutes,
  };
  if (raw.expirationDateTime !== undefined && expiration) {
    schedule.expirationDateTime = raw.expirationDateTime;
    schedule.expiresAt = localMsToInstant(timeZone, localMs(expiration));
  }
  for (const [kind, input] of [
    ['pre', raw.preScript],
    ['post', raw.postScript],
  ] as const) {
    if (input === undefined) continue;
    const { script, args } = scriptCallOf(input);
    schedule[kind === 'pre' ? 'preScript' : 'postScript'] = script;
    if (args.length) schedule.scriptArgs = { ...schedule.scriptArgs, [kind]: args };
  }

  const neverOpens = checkOpensAtLeastOnce(schedule, raw.recurEvery);
  return neverOpens ? { ok: false, problems: [neverOpens] } : { ok: true, value: schedule };
}

/** Dates before 1970 are refused (instants are epoch milliseconds): say so rather than "invalid". */
function invalidDateTime(text: string): string {
  const year = /^(\d{4})-\d{2}-\d{2} /.exec(text)?.[1];
  if (year !== undefined && Number(year) < 1970) return `"${text}" is before 1970: dates start at 1970-01-01`;
  return `"${text}" is not a valid local date and time: expected "YYYY-MM-DD HH:mm"`;
}

const localMs = (t: { day: number; minuteOfDay: number }) => t.day * DAY_MS + t.minuteOfDay * MINUTE_MS;

/** E.g. `12Months day31` started in February, or an expiration before the first matching date. */
function checkOpensAtLeastOnce(schedule: MaintenanceSchedule, recurEvery: string): Problem | undefined {
  if (nextWindow(schedule, schedule.startsAt)) return undefined;
  const { expiresAt: _expiresAt, ...unbounded } = schedule;
  const first = nextWindow(unbounded, schedule.startsAt);
  if (first && schedule.expirationDateTime !== undefined)
    return {
      path: 'expirationDateTime',
      message: `the schedule expires before its first window (${new Date(first.start).toISOString()}) opens`,
    };
  return {
    path: 'recurEvery',
    message: `"${recurEvery}" never matches a date within ${SEARCH_HORIZON_YEARS} years of ${schedule.startDateTime}`,
  };
}

/** Anchor of off-peak schedules: any date works for a daily recurrence; a fixed one keeps them comparable. */
const OFF_PEAK_ANCHOR_DATE = '2000-01-01';

/**
 * A window every day from `start` to `end`, local wall-clock times in `timeZone` (IANA or Windows name).
 * `end` earlier than `start` crosses midnight. Both ends follow the wall clock, so across a DST change the
 * window is an hour longer or shorter. Not bound by Azure's duration limits. Throws on invalid input,
 * which the policy schema has already rejected.
 */
export function offPeakSchedule(
  timeZone: string,
  hours: { start: string; end: string },
): MaintenanceSchedule {
  const zone = resolveTimeZone(timeZone);
  const startMinute = parseTimeOfDay(hours.start);
  const endMinute = parseTimeOfDay(hours.end);
  if (!zone) throw new RangeError(`unknown time zone "${timeZone}"`);
  if (startMinute === undefined || endMinute === undefined || startMinute === endMinute)
    throw new RangeError(`off-peak hours must be two different HH:mm times, got ${hours.start}-${hours.end}`);
  const startDateTime = `${OFF_PEAK_ANCHOR_DATE} ${hours.start}`;
  const anchor = parseLocalDateTime(startDateTime)!;
  return {
    timeZone: zone,
    recurrence: { kind: 'daily', interval: 1 },
    startDateTime,
    startsAt: localMsToInstant(zone, anchor.day * DAY_MS + startMinute * MINUTE_MS),
    durationMinutes: (endMinute - startMinute + MINUTES_PER_DAY) % MINUTES_PER_DAY,
    endTime: hours.end,
  };
}
