import {
  type MaintenanceSchedule,
  nextOccurrences,
  nextWindow,
  parseMaintenanceConfiguration,
  windowAt,
} from '../../domain/windows';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

/** Local wall clock as 'YYYY-MM-DD HH:mm', formatted independently of the code under test. */
function localTime(timeZone: string, instant: number): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(instant);
}

function daily(timeZone: string, time: string, duration = '02:00'): MaintenanceSchedule {
  const result = parseMaintenanceConfiguration({
    startDateTime: `2024-01-01 ${time}`,
    duration,
    timeZone,
    recurEvery: 'Day',
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

interface Transition {
  zone: string;
  /** Local date of the change. */
  date: string;
  kind: 'spring-forward' | 'fall-back';
  /** A local time inside the gap or the overlap, and the instant it maps to by the documented rule. */
  ambiguousTime: string;
  opensAt: string;
}

const transitions: Transition[] = [
  // New York: 02:00 EST -> 03:00 EDT; 02:00 EDT -> 01:00 EST.
  {
    zone: 'America/New_York',
    date: '2024-03-10',
    kind: 'spring-forward',
    ambiguousTime: '02:30',
    opensAt: '2024-03-10T07:00:00Z',
  },
  {
    zone: 'America/New_York',
    date: '2024-11-03',
    kind: 'fall-back',
    ambiguousTime: '01:30',
    opensAt: '2024-11-03T05:30:00Z',
  },
  // London: 01:00 GMT -> 02:00 BST; 02:00 BST -> 01:00 GMT.
  {
    zone: 'Europe/London',
    date: '2024-03-31',
    kind: 'spring-forward',
    ambiguousTime: '01:30',
    opensAt: '2024-03-31T01:00:00Z',
  },
  {
    zone: 'Europe/London',
    date: '2024-10-27',
    kind: 'fall-back',
    ambiguousTime: '01:30',
    opensAt: '2024-10-27T00:30:00Z',
  },
  // Sydney (southern hemisphere): DST ends in April (03:00 AEDT -> 02:00 AEST), starts in October (02:00 AEST -> 03:00 AEDT).
  {
    zone: 'Australia/Sydney',
    date: '2024-04-07',
    kind: 'fall-back',
    ambiguousTime: '02:30',
    opensAt: '2024-04-06T15:30:00Z',
  },
  {
    zone: 'Australia/Sydney',
    date: '2024-10-06',
    kind: 'spring-forward',
    ambiguousTime: '02:30',
    opensAt: '2024-10-05T16:00:00Z',
  },
];

describe.each(transitions)('$zone $kind on $date', ({ zone, date, kind, ambiguousTime, opensAt }) => {
  const dayBefore = (d: string) =>
    new Date(Date.parse(`${d}T12:00:00Z`) - 24 * HOUR).toISOString().slice(0, 10);

  it(`opens a ${ambiguousTime} window by the documented rule (${kind === 'spring-forward' ? 'first instant after the gap' : 'first occurrence'})`, () => {
    const s = daily(zone, ambiguousTime);
    const windows = nextOccurrences(s, at(opensAt) - 36 * HOUR, 3);
    const onTheDay = windows.find((w) => localTime(zone, w.start).startsWith(date));
    expect(onTheDay).toEqual({ start: at(opensAt), end: at(opensAt) + 2 * HOUR });
  });

  it('keeps the local start time, the absolute length, and a 23 or 25 hour step across the change', () => {
    const s = daily(zone, '22:00', '03:55');
    const windows = nextOccurrences(s, at(`${dayBefore(dayBefore(date))}T00:00:00Z`), 4);
    expect(windows.map((w) => localTime(zone, w.start).slice(11))).toEqual([
      '22:00',
      '22:00',
      '22:00',
      '22:00',
    ]);
    for (const w of windows) expect(w.end - w.start).toBe(235 * 60_000);
    const steps = windows.slice(1).map((w, i) => (w.start - windows[i].start) / HOUR);
    expect(steps.sort()).toEqual(kind === 'spring-forward' ? [23, 24, 24] : [24, 24, 25]);
  });

  it('a window spanning the change lasts its duration in absolute time and ends at a shifted local time', () => {
    const s = daily(zone, '00:30', '03:00');
    const window = windowAt(s, at(opensAt))!;
    expect(localTime(zone, window.start)).toBe(`${date} 00:30`);
    expect(window.end - window.start).toBe(3 * HOUR);
    expect(localTime(zone, window.end)).toBe(`${date} ${kind === 'spring-forward' ? '04:30' : '02:30'}`);
  });

  it('finds the next window from inside the gap or overlap', () => {
    const s = daily(zone, '12:00');
    const window = nextWindow(s, at(opensAt))!;
    expect(localTime(zone, window.start)).toBe(`${date} 12:00`);
  });
});

describe('Asia/Kolkata (no DST, +05:30)', () => {
  const s = daily('Asia/Kolkata', '23:00', '03:00');

  it('opens every 24 hours at 17:30Z all year, crossing midnight locally', () => {
    const windows = nextOccurrences(s, at('2024-03-09T00:00:00Z'), 3).concat(
      nextOccurrences(s, at('2024-11-02T00:00:00Z'), 3),
    );
    for (const w of windows) {
      expect(new Date(w.start).toISOString().slice(11, 16)).toBe('17:30');
      expect(localTime('Asia/Kolkata', w.end).slice(11)).toBe('02:00');
      expect(w.end - w.start).toBe(3 * HOUR);
    }
  });

  it('finds the window containing an instant after local midnight', () => {
    expect(windowAt(s, at('2024-03-09T19:00:00Z'))).toEqual({
      start: at('2024-03-09T17:30:00Z'),
      end: at('2024-03-09T20:30:00Z'),
    });
  });
});
