import fc from 'fast-check';
import { monthType, patchTuesday, releaseMonthOf, rolloutDeadline } from '../../domain/calendar';

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
