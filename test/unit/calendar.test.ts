import fc from 'fast-check';
import {
  monthType,
  patchTuesday,
  releaseMonthAt,
  releaseMonthOf,
  releaseSettings,
  rolloutDeadline,
} from '../../domain/calendar';

describe('patchTuesday', () => {
  it.each([
    [2024, 1, '2024-01-09'],
    [2024, 10, '2024-10-08'], // the month starts on a Tuesday
    [2025, 1, '2025-01-14'], // the month starts on a Wednesday
    [2023, 8, '2023-08-08'],
    [2026, 12, '2026-12-08'],
  ])('%i-%i is %s', (year, month, expected) => {
    expect(patchTuesday(year, month)).toBe(expected);
  });

  it('is always a Tuesday between the 8th and the 14th', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 2200 }), fc.integer({ min: 1, max: 12 }), (year, month) => {
        const date = patchTuesday(year, month);
        const day = Number(date.slice(8));
        expect(date.slice(0, 7)).toBe(`${year}-${String(month).padStart(2, '0')}`);
        expect(new Date(`${date}T00:00:00Z`).getUTCDay()).toBe(2);
        expect(day).toBeGreaterThanOrEqual(8);
        expect(day).toBeLessThanOrEqual(14);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects months outside 1..12', () => {
    expect(() => patchTuesday(2024, 13)).toThrow(RangeError);
    expect(() => patchTuesday(2024, 0)).toThrow(RangeError);
  });
});

describe('releaseMonthOf', () => {
  it('belongs to the latest Patch Tuesday on or before the date', () => {
    expect(releaseMonthOf('2024-03-11')).toBe('2024-02');
    expect(releaseMonthOf('2024-03-12')).toBe('2024-03');
    expect(releaseMonthOf('2024-03-31')).toBe('2024-03');
    expect(releaseMonthOf('2024-01-05')).toBe('2023-12');
  });

  it('rejects invalid dates', () => {
    expect(() => releaseMonthOf('2024-02-30')).toThrow(/invalid date/);
  });
});

/** Every day from `from` to `to` (inclusive), as 'YYYY-MM-DD'. */
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

describe('releaseMonthAt: the default release of a rollout, on every day of the month', () => {
  // Patch Tuesdays: 2026-11-10, 2026-12-08, 2027-01-12, 2027-02-09.
  // [first day, last day, release month, deadline with 30 days]
  const table: Array<[string, string, string, string]> = [
    ['2026-11-01', '2026-11-09', '2026-10', '2026-11-12T23:59:59.000Z'], // October's release: 2026-10-13
    ['2026-11-10', '2026-12-07', '2026-11', '2026-12-10T23:59:59.000Z'],
    ['2026-12-08', '2027-01-11', '2026-12', '2027-01-07T23:59:59.000Z'], // across the year end
    ['2027-01-12', '2027-02-08', '2027-01', '2027-02-11T23:59:59.000Z'],
    ['2027-02-09', '2027-02-28', '2027-02', '2027-03-11T23:59:59.000Z'],
  ];
  it.each(table)('%s to %s belong to %s (deadline %s)', (from, to, month, deadline) => {
    for (const day of days(from, to))
      for (const time of ['00:00:00', '12:00:00', '23:59:59']) {
        const at = Date.parse(`${day}T${time}Z`);
        expect([day, time, releaseMonthAt(at)]).toEqual([day, time, month]);
        expect(new Date(releaseSettings(releaseMonthAt(at), 30).deadline).toISOString()).toBe(deadline);
      }
  });

  it('a rollout started late keeps its release deadline, even one already passed', () => {
    const november = releaseSettings('2026-11', 30);
    expect(november).toEqual({
      month: '2026-11',
      monthType: 'hotpatch',
      releaseDate: '2026-11-10',
      deadline: Date.parse('2026-12-10T23:59:59Z'),
    });
    // Started on the day of the deadline or weeks after it: the same deadline.
    expect(releaseSettings(releaseMonthAt(Date.parse('2026-12-07T23:00:00Z')), 30).deadline).toBe(
      november.deadline,
    );
    expect(releaseSettings('2026-11', 7).deadline).toBe(Date.parse('2026-11-17T23:59:59Z'));
  });

  it("counts the date in the given time zone (a schedule's own zone)", () => {
    // 2026-12-07T12:00Z is already December 8, Patch Tuesday, in Auckland, and still December 7 in UTC.
    const at = Date.parse('2026-12-07T12:00:00Z');
    expect(releaseMonthAt(at)).toBe('2026-11');
    expect(releaseMonthAt(at, 'Pacific/Auckland')).toBe('2026-12');
    // 2027-01-12T03:00Z is still January 11 in Los Angeles: December's release.
    expect(releaseMonthAt(Date.parse('2027-01-12T03:00:00Z'), 'America/Los_Angeles')).toBe('2026-12');
  });
});

describe('rolloutDeadline', () => {
  it('adds calendar days, 30 by default, across month and year ends', () => {
    expect(rolloutDeadline('2024-02-13')).toBe('2024-03-14'); // 29 days in February 2024
    expect(rolloutDeadline('2023-02-14')).toBe('2023-03-16');
    expect(rolloutDeadline('2024-12-10')).toBe('2025-01-09');
    expect(rolloutDeadline('2024-12-10', 7)).toBe('2024-12-17');
    expect(rolloutDeadline('2024-12-10', 0)).toBe('2024-12-10');
  });

  it('rejects invalid input', () => {
    expect(() => rolloutDeadline('12/10/2024')).toThrow(/invalid date/);
    expect(() => rolloutDeadline('2024-12-10', -1)).toThrow(/non-negative/);
  });
});

describe('monthType', () => {
  it('is baseline in January, April, July and October, hotpatch otherwise', () => {
    const types = Array.from({ length: 12 }, (_, i) => monthType(`2025-${String(i + 1).padStart(2, '0')}`));
    expect(types).toEqual([
      'baseline',
      'hotpatch',
      'hotpatch',
      'baseline',
      'hotpatch',
      'hotpatch',
      'baseline',
      'hotpatch',
      'hotpatch',
      'baseline',
      'hotpatch',
      'hotpatch',
    ]);
  });

  it('is baseline when an unplanned baseline is declared for that month only', () => {
    expect(monthType('2025-02', ['2025-02'])).toBe('baseline');
    expect(monthType('2025-03', ['2025-02'])).toBe('hotpatch');
    expect(monthType('2026-02', ['2025-02'])).toBe('hotpatch');
  });

  it('rejects malformed months', () => {
    expect(() => monthType('2025-13')).toThrow(/expected YYYY-MM/);
    expect(() => monthType('2025-2')).toThrow(/expected YYYY-MM/);
  });
});
