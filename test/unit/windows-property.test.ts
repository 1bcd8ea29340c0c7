import fc from 'fast-check';
import {
  instantToLocalMs,
  localMsToInstant,
  type MaintenanceSchedule,
  nextOccurrences,
  nextWindow,
  parseMaintenanceConfiguration,
  type Recurrence,
  remainingMs,
  WEEKDAYS,
  windowAt,
} from '../../domain/windows';
import type { Parsed } from '../../domain/problems';

/*
 * Property tests against a brute-force oracle that shares no code with the implementation: it finds
 * instants by stepping minute by minute and reading the wall clock through its own Intl formatter, and
 * decides whether a date matches a recurrence straight from the definition (no day-number arithmetic).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Zones under test, with their largest UTC offset in hours (where the oracle's scan starts). */
const ZONES: Record<string, number> = {
  'America/New_York': -4,
  'Europe/London': 1,
  'Australia/Sydney': 11,
  'Australia/Lord_Howe': 11, // DST of 30 minutes
  'Asia/Kolkata': 5.5,
  UTC: 0,
};

// DST changes of 2024 and 2025, so that generated instants often fall near one.
const TRANSITIONS = [
  '2024-03-10T07:00Z',
  '2024-11-03T06:00Z',
  '2024-03-31T01:00Z',
  '2024-10-27T01:00Z',
  '2024-04-06T16:00Z',
  '2024-10-05T16:00Z',
  '2025-03-09T07:00Z',
  '2025-11-02T06:00Z',
  '2025-03-30T01:00Z',
  '2025-10-26T01:00Z',
  '2025-04-05T16:00Z',
  '2025-10-04T16:00Z',
].map((iso) => Date.parse(iso));

// ---- the oracle ----

const oracleFormatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock reading at an instant, in minutes since 1970-01-01T00:00 on that clock. */
function wallMinutes(zone: string, instant: number): number {
  let f = oracleFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    oracleFormatters.set(zone, f);
  }
  const m = /^(\d\d)\/(\d\d)\/(\d{4}), (\d\d):(\d\d)$/.exec(f.format(instant))!;
  return Date.UTC(+m[3], +m[2] - 1, +m[1], +m[4], +m[5]) / MINUTE;
}

/** The first minute whose wall clock reads `localMinutes` or later: covers gaps and overlaps alike. */
function oracleInstant(zone: string, localMinutes: number): number {
  for (let t = (localMinutes - ZONES[zone] * 60 - 60) * MINUTE; ; t += MINUTE)
    if (wallMinutes(zone, t) >= localMinutes) return t;
}

interface OracleDate {
  y: number;
  m: number; // 0..11
  d: number;
}
const toDate = (ms: number): OracleDate => {
  const x = new Date(ms);
  return { y: x.getUTCFullYear(), m: x.getUTCMonth(), d: x.getUTCDate() };
};
const lastDayOfMonth = (y: number, m: number) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
const mondayBasedWeekday = (ms: number) => (new Date(ms).getUTCDay() + 6) % 7;
const ORDINALS = ['First', 'Second', 'Third', 'Fourth'];

/** Whether the local date at UTC-midnight `ms` is one of the recurrence's dates (anchor at `anchorMs`). */
function matches(r: Recurrence, anchorMs: number, ms: number): boolean {
  if (ms < anchorMs) return false;
  const anchor = toDate(anchorMs);
  const months = (date: OracleDate) => (date.y - anchor.y) * 12 + date.m - anchor.m;
  switch (r.kind) {
    case 'daily':
      return Math.round((ms - anchorMs) / DAY) % r.interval === 0;
    case 'weekly': {
      const days = r.weekdays.length
        ? r.weekdays.map((w) => WEEKDAYS.indexOf(w))
        : [mondayBasedWeekday(anchorMs)];
      const anchorMonday = anchorMs - mondayBasedWeekday(anchorMs) * DAY;
      const week = Math.floor(Math.round((ms - anchorMonday) / DAY) / 7);
      return days.includes(mondayBasedWeekday(ms)) && week % r.interval === 0;
    }
    case 'monthlyByDay': {
      const date = toDate(ms);
      const days = r.days.length ? r.days : [anchor.d];
      return days.includes(date.d) && months(date) % r.interval === 0;
    }
    case 'monthlyByWeekday': {
      const baseMs = ms - r.offsetDays * DAY;
      const base = toDate(baseMs);
      if (months(base) < 0 || months(base) % r.interval !== 0) return false;
      if (mondayBasedWeekday(baseMs) !== WEEKDAYS.indexOf(r.weekday)) return false;
      return r.weekOfMonth === 'Last'
        ? base.d + 7 > lastDayOfMonth(base.y, base.m)
        : Math.ceil(base.d / 7) === ORDINALS.indexOf(r.weekOfMonth) + 1;
    }
  }
}

function oracleNextWindow(s: MaintenanceSchedule, after: number): { start: number; end: number } | undefined {
  const [date, time] = s.startDateTime.split(' ');
  const anchorMs = Date.parse(`${date}T00:00:00Z`);
  const startMinute = +time.slice(0, 2) * 60 + +time.slice(3);
  const afterDayMs = Math.floor((wallMinutes(s.timeZone, after) * MINUTE) / DAY) * DAY;
  for (let dayMs = Math.max(anchorMs, afterDayMs - 2 * DAY); dayMs < afterDayMs + 800 * DAY; dayMs += DAY) {
    if (!matches(s.recurrence, anchorMs, dayMs)) continue;
    const start = oracleInstant(s.timeZone, dayMs / MINUTE + startMinute);
    if (s.expiresAt !== undefined && start >= s.expiresAt) return undefined;
    if (start < s.startsAt) continue;
    const end = Math.min(start + s.durationMinutes * MINUTE, s.expiresAt ?? Infinity);
    if (end > after) return { start, end };
  }
  return undefined;
}

// ---- generators ----

const pad = (n: number) => String(n).padStart(2, '0');
const zone = fc.constantFrom(...Object.keys(ZONES));
const weekday = fc.constantFrom(...WEEKDAYS);

const recurEvery = fc.oneof(
  fc.integer({ min: 1, max: 5 }).map((n) => `${n}Days`),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.uniqueArray(weekday, { maxLength: 3 }))
    .map(([n, days]) => `${n}Weeks ${days.join(',')}`.trim()),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.uniqueArray(fc.integer({ min: 1, max: 31 }), { maxLength: 3 }))
    .map(([n, days]) => `${n}Months ${days.map((d) => `day${d}`).join(',')}`.trim()),
  fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom('First', 'Second', 'Third', 'Fourth', 'Last'),
      weekday,
      fc.integer({ min: -6, max: 6 }),
    )
    .map(([n, which, day, offset]) => `${n}Months ${which} ${day} Offset${offset}`),
);

// Start times cluster around 00:00-03:59, where DST changes happen, half of the time.
const startMinute = fc.oneof(
  fc.integer({ min: 0, max: 1439 }),
  fc.integer({ min: 0, max: 16 }).map((q) => q * 15),
);

// Last weekday of the month with a positive offset: half of these dates land in the next month.
const crossingMonthEnd = fc
  .tuple(weekday, fc.integer({ min: 1, max: 6 }))
  .map(([day, offset]) => `Month Last ${day} Offset${offset}`);

interface Configuration {
  zone: string;
  recurEvery: string;
  /** Days after 2023-07-01. */
  startDay: number;
  startMinute: number;
  durationMinutes: number;
  expiresAfterDays: number | undefined;
}

const configurationWith = (recurrences: fc.Arbitrary<string>): fc.Arbitrary<Configuration> =>
  fc.record({
    zone,
    recurEvery: recurrences,
    startDay: fc.integer({ min: 0, max: 700 }),
    startMinute,
    durationMinutes: fc.integer({ min: 90, max: 235 }),
    expiresAfterDays: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
  });
const configuration = configurationWith(recurEvery);

function toSchedule(c: Configuration): Parsed<MaintenanceSchedule> {
  const localDate = (dayOffset: number) =>
    new Date(Date.UTC(2023, 6, 1) + dayOffset * DAY).toISOString().slice(0, 10);
  const time = `${pad(Math.floor(c.startMinute / 60))}:${pad(c.startMinute % 60)}`;
  return parseMaintenanceConfiguration({
    startDateTime: `${localDate(c.startDay)} ${time}`,
    duration: `${pad(Math.floor(c.durationMinutes / 60))}:${pad(c.durationMinutes % 60)}`,
    timeZone: c.zone,
    recurEvery: c.recurEvery,
    ...(c.expiresAfterDays === undefined
      ? {}
      : { expirationDateTime: `${localDate(c.startDay + c.expiresAfterDays)} ${time}` }),
  });
}

const nearMonthEnd = fc
  .tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: -8 * 1440, max: 8 * 1440 }))
  .map(([month, m]) => Date.UTC(2023, 6 + month, 1) + m * MINUTE);

/** Around the first days of a month after the schedule's start, where a crossing offset lands. */
function monthStartsAfter(s: MaintenanceSchedule) {
  const [year, month] = s.startDateTime.split('-').map(Number);
  return fc
    .tuple(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1440, max: 6 * 1440 }))
    .map(([k, m]) => Date.UTC(year, month - 1 + k, 1) + m * MINUTE);
}

/** An instant near a DST change, near a month end, or from a week before the start to two years after. */
function instantFor(s: MaintenanceSchedule) {
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -3 * 1440, max: 3 * 1440 }))
      .map(([t, m]) => t + m * MINUTE),
    nearMonthEnd,
    fc.integer({ min: -7 * 1440, max: 730 * 1440 }).map((m) => s.startsAt + m * MINUTE),
  );
}

// ---- properties ----

describe('window queries agree with a brute-force oracle', () => {
  const agreesWithOracle = (
    configurations: fc.Arbitrary<Configuration>,
    instants: (s: MaintenanceSchedule) => fc.Arbitrary<number>,
    numRuns: number,
  ) => {
    fc.assert(
      fc.property(
        configurations.chain((c): fc.Arbitrary<{ parsed: Parsed<MaintenanceSchedule>; after: number }> => {
          const parsed = toSchedule(c);
          return parsed.ok
            ? instants(parsed.value).map((after) => ({ parsed, after }))
            : fc.constant({ parsed, after: 0 });
        }),
        ({ parsed, after }) => {
          if (!parsed.ok) {
            // Rejected only for expiring before the first window (every generated field is valid).
            expect(parsed.problems).toEqual([expect.objectContaining({ path: 'expirationDateTime' })]);
            return;
          }
          const s = parsed.value;
          const expected = oracleNextWindow(s, after);
          expect(nextWindow(s, after)).toEqual(expected);
          const containing = expected && expected.start <= after ? expected : undefined;
          expect(windowAt(s, after)).toEqual(containing);
          expect(remainingMs(s, after)).toBe(containing ? containing.end - after : 0);
        },
      ),
      { numRuns },
    );
  };

  it('nextWindow, windowAt and remainingMs', () => agreesWithOracle(configuration, instantFor, 150));

  it('the same for offsets crossing month ends', () =>
    agreesWithOracle(configurationWith(crossingMonthEnd), monthStartsAfter, 150));

  it('nextOccurrences is the oracle chain of windows, in order and without overlap', () => {
    fc.assert(
      fc.property(configuration, fc.integer({ min: 0, max: 400 }), (c, daysAfterStart) => {
        const parsed = toSchedule(c);
        fc.pre(parsed.ok);
        if (!parsed.ok) return;
        const s = parsed.value;
        const after = s.startsAt + daysAfterStart * DAY;
        const windows = nextOccurrences(s, after, 3);
        let cursor = after;
        for (const w of windows) {
          expect(w).toEqual(oracleNextWindow(s, cursor));
          expect(w.start).toBeGreaterThanOrEqual(cursor === after ? s.startsAt : cursor);
          cursor = w.end;
        }
        if (windows.length < 3) expect(oracleNextWindow(s, cursor)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });
});

describe('local <-> UTC conversion', () => {
  it('maps a local time to the first minute whose wall clock reaches it', () => {
    fc.assert(
      fc.property(
        zone,
        fc.constantFrom(...TRANSITIONS),
        fc.integer({ min: -36 * 60, max: 36 * 60 }),
        (z, t, m) => {
          const localMinutes = Math.floor((t + m * MINUTE) / MINUTE); // a wall-clock reading near a DST change
          expect(localMsToInstant(z, localMinutes * MINUTE)).toBe(oracleInstant(z, localMinutes));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads the same wall clock as Intl at any instant', () => {
    fc.assert(
      fc.property(
        zone,
        fc.integer({ min: Date.UTC(2020, 0, 1) / MINUTE, max: Date.UTC(2030, 0, 1) / MINUTE }),
        (z, m) => {
          expect(instantToLocalMs(z, m * MINUTE)).toBe(wallMinutes(z, m * MINUTE) * MINUTE);
        },
      ),
      { numRuns: 200 },
    );
  });
});
