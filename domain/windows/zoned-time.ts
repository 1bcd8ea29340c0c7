import { DAY_MS } from './civil-date';

/**
 * Local wall-clock time <-> absolute instants, with Intl.DateTimeFormat as the only source of zone rules.
 *
 * A wall-clock reading is expressed as "local milliseconds": the milliseconds since 1970-01-01T00:00 on
 * that zone's clock, i.e. what the instant would be if the zone were UTC.
 */

// Creating a DateTimeFormat costs far more than using one, so keep one per zone for the process.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's UTC offset in milliseconds at an instant (local = instant + offset). */
export function utcOffsetMs(timeZone: string, instant: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
    }
  }
  const wholeSecond = Math.floor(instant / 1000) * 1000;
  return Date.UTC(year, month - 1, day, hour, minute, second) - wholeSecond;
}

export function instantToLocalMs(timeZone: string, instant: number): number {
  return instant + utcOffsetMs(timeZone, instant);
}

/**
 * The instant at which the zone's clocks read `localMs`.
 * - Fall-back overlap (the reading happens twice): the first occurrence, i.e. the earlier instant.
 * - Spring-forward gap (the reading never happens): the first valid instant after the gap, i.e. the
 *   moment the clocks jump (02:30 on a New York spring-forward day gives 03:00 EDT).
 * Assumes at most one offset change within a day either side, which holds for every real zone.
 */
export function localMsToInstant(timeZone: string, localMs: number): number {
  const key = `${timeZone}|${localMs}`;
  let instant = conversions.get(key);
  if (instant === undefined) {
    if (conversions.size >= MAX_CACHED_CONVERSIONS) conversions.clear();
    instant = convertLocalMs(timeZone, localMs);
    conversions.set(key, instant);
  }
  return instant;
}

/*
 * Fleets share a few zones and schedules, so the same wall-clock times are converted over and over.
 * The conversion is a pure function of its inputs, so caching it cannot change a result (and keeps
 * workflow code that uses it deterministic); the bound keeps memory flat in long-lived workers.
 */
const conversions = new Map<string, number>();
const MAX_CACHED_CONVERSIONS = 50_000;

function convertLocalMs(timeZone: string, localMs: number): number {
  const before = utcOffsetMs(timeZone, localMs - DAY_MS);
  const after = utcOffsetMs(timeZone, localMs + DAY_MS);
  if (before === after) return localMs - before;

  const withBefore = localMs - before;
  const withAfter = localMs - after;
  const beforeFits = utcOffsetMs(timeZone, withBefore) === before;
  const afterFits = utcOffsetMs(timeZone, withAfter) === after;
  if (beforeFits && afterFits) return Math.min(withBefore, withAfter);
  if (beforeFits) return withBefore;
  if (afterFits) return withAfter;
  return transitionBetween(timeZone, withAfter, withBefore, after);
}

/** Bisects (in whole seconds) for the first instant in (lo, hi] whose offset is `target`. */
function transitionBetween(timeZone: string, lo: number, hi: number, target: number): number {
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (utcOffsetMs(timeZone, mid) === target) hi = mid;
    else lo = mid;
  }
  return hi;
}
