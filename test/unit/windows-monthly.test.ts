import {
  type MaintenanceSchedule,
  nextOccurrences,
  parseMaintenanceConfiguration,
  windowAt,
} from '../../domain/windows';

const at = (iso: string) => Date.parse(iso);

function schedule(recurEvery: string, startDateTime: string, timeZone = 'UTC'): MaintenanceSchedule {
  const result = parseMaintenanceConfiguration({ startDateTime, duration: '02:00', timeZone, recurEvery });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

/** The local dates (UTC here) of the first `count` windows. */
function dates(recurEvery: string, startDateTime: string, count = 4): string[] {
  const s = schedule(recurEvery, startDateTime);
  return nextOccurrences(s, s.startsAt, count).map((w) => new Date(w.start).toISOString().slice(0, 10));
}

describe('monthly by weekday with an offset', () => {
  it('Month Second Tuesday Offset4: the Saturday after Patch Tuesday', () => {
    expect(dates('Month Second Tuesday Offset4', '2024-01-01 03:00')).toEqual([
      '2024-01-13',
      '2024-02-17',
      '2024-03-16',
      '2024-04-13',
    ]);
  });

  it('Month Last Sunday Offset-3', () => {
    expect(dates('Month Last Sunday Offset-3', '2024-01-01 03:00')).toEqual([
      '2024-01-25',
      '2024-02-22',
      '2024-03-28',
      '2024-04-25',
    ]);
  });

  it('Month Last Friday Offset6 lands in the next month (the offset applies to the date found in the month)', () => {
    // Last Fridays: 29 March, 26 April, 31 May, 28 June 2024.
    expect(dates('Month Last Friday Offset6', '2024-03-01 03:00')).toEqual([
      '2024-04-04',
      '2024-05-02',
      '2024-06-06',
      '2024-07-04',
    ]);
  });

  it('Month First Monday Offset-6 lands in the previous month; one before the start is skipped', () => {
    // First Mondays: 1 January (-6: 26 December 2023, before the start), 5 February, 4 March, 1 April 2024.
    expect(dates('Month First Monday Offset-6', '2024-01-01 03:00', 3)).toEqual([
      '2024-01-30',
      '2024-02-27',
      '2024-03-26',
    ]);
  });

  it('counts the interval on the month of the recurrence, not the month the offset lands in', () => {
    expect(dates('2Months Last Friday Offset6', '2024-03-01 03:00', 3)).toEqual([
      '2024-04-04',
      '2024-06-06',
      '2024-08-01',
    ]);
  });

  it('finds the window that an offset pushed across the year end', () => {
    // Last Friday of December 2024 is the 27th; +6 is 2 January 2025.
    const s = schedule('Month Last Friday Offset6', '2024-12-01 23:00');
    expect(windowAt(s, at('2025-01-03T00:30:00Z'))).toEqual({
      start: at('2025-01-02T23:00:00Z'),
      end: at('2025-01-03T01:00:00Z'),
    });
  });
});

describe('monthly by day', () => {
  it('skips months without a 31st, as Azure does', () => {
    expect(dates('Month day31', '2024-01-01 03:00', 5)).toEqual([
      '2024-01-31',
      '2024-03-31',
      '2024-05-31',
      '2024-07-31',
      '2024-08-31',
    ]);
  });

  it('takes 29 February only in leap years', () => {
    expect(dates('Month day29', '2023-01-01 03:00', 2)).toEqual(['2023-01-29', '2023-03-29']);
    expect(dates('Month day29', '2024-01-01 03:00', 2)).toEqual(['2024-01-29', '2024-02-29']);
  });

  it('uses the start date when no day is listed, skipping short months', () => {
    expect(dates('Month', '2024-01-31 03:00', 3)).toEqual(['2024-01-31', '2024-03-31', '2024-05-31']);
    expect(dates('2Months', '2024-01-15 03:00', 3)).toEqual(['2024-01-15', '2024-03-15', '2024-05-15']);
  });

  it('lists days in order and skips those before the start', () => {
    expect(dates('Month day24,day1,day23', '2024-01-24 03:30', 4)).toEqual([
      '2024-01-24',
      '2024-02-01',
      '2024-02-23',
      '2024-02-24',
    ]);
  });
});

describe('daily and weekly across month ends', () => {
  it('3Days continues across a month end', () => {
    expect(dates('3Days', '2024-01-30 03:00', 3)).toEqual(['2024-01-30', '2024-02-02', '2024-02-05']);
  });

  it('Week with no weekday uses the start date weekday', () => {
    expect(dates('Week', '2024-01-31 03:00', 3)).toEqual(['2024-01-31', '2024-02-07', '2024-02-14']);
  });

  it('2Weeks Monday counts weeks (Monday to Sunday) from the start week', () => {
    // Wednesday 3 January 2024: that week's Monday (1 January) is before the start.
    expect(dates('2Weeks Monday', '2024-01-03 03:00', 3)).toEqual(['2024-01-15', '2024-01-29', '2024-02-12']);
  });

  it('a window opened on the last day of a month is found from the next month', () => {
    const s = schedule('Month day31', '2024-01-01 23:00');
    expect(windowAt(s, at('2024-02-01T00:59:00Z'))).toEqual({
      start: at('2024-01-31T23:00:00Z'),
      end: at('2024-02-01T01:00:00Z'),
    });
    expect(windowAt(s, at('2024-03-01T00:30:00Z'))).toBeUndefined();
  });
});
