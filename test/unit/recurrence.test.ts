import { parseRecurEvery, type Recurrence } from '../../domain/windows';

function parsed(text: string): Recurrence {
  const result = parseRecurEvery(text);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

function message(text: string): string {
  const result = parseRecurEvery(text);
  if (result.ok) throw new Error(`"${text}" parsed unexpectedly`);
  return result.message;
}

describe('parseRecurEvery: every Azure form', () => {
  it.each<[string, Recurrence]>([
    ['Day', { kind: 'daily', interval: 1 }],
    ['3Days', { kind: 'daily', interval: 3 }],
    ['Days', { kind: 'daily', interval: 1 }],
    ['Week', { kind: 'weekly', interval: 1, weekdays: [] }],
    ['3Weeks', { kind: 'weekly', interval: 3, weekdays: [] }],
    ['Week Saturday,Sunday', { kind: 'weekly', interval: 1, weekdays: ['Saturday', 'Sunday'] }],
    ['2Weeks Monday', { kind: 'weekly', interval: 2, weekdays: ['Monday'] }],
    ['Week Sunday, Monday', { kind: 'weekly', interval: 1, weekdays: ['Monday', 'Sunday'] }],
    ['Month', { kind: 'monthlyByDay', interval: 1, days: [] }],
    ['2Months', { kind: 'monthlyByDay', interval: 2, days: [] }],
    ['Month day23,day24', { kind: 'monthlyByDay', interval: 1, days: [23, 24] }],
    ['3Months day31,day1,day1', { kind: 'monthlyByDay', interval: 3, days: [1, 31] }],
    [
      'Month Second Tuesday Offset4',
      { kind: 'monthlyByWeekday', interval: 1, weekOfMonth: 'Second', weekday: 'Tuesday', offsetDays: 4 },
    ],
    [
      'Month Last Sunday Offset-3',
      { kind: 'monthlyByWeekday', interval: 1, weekOfMonth: 'Last', weekday: 'Sunday', offsetDays: -3 },
    ],
    [
      'Month Fourth Monday',
      { kind: 'monthlyByWeekday', interval: 1, weekOfMonth: 'Fourth', weekday: 'Monday', offsetDays: 0 },
    ],
    [
      '2Months Third Sunday Offset6',
      { kind: 'monthlyByWeekday', interval: 2, weekOfMonth: 'Third', weekday: 'Sunday', offsetDays: 6 },
    ],
    [
      'Month First Monday Offset+2',
      { kind: 'monthlyByWeekday', interval: 1, weekOfMonth: 'First', weekday: 'Monday', offsetDays: 2 },
    ],
  ])('%s', (text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });

  it('reads keywords in any case and tolerates surrounding spaces', () => {
    expect(parsed('  month LAST sunday OFFSET-3 ')).toEqual(parsed('Month Last Sunday Offset-3'));
    expect(parsed('2WEEKS monday')).toEqual(parsed('2Weeks Monday'));
    expect(parsed('month DAY23,Day24')).toEqual(parsed('Month day23,day24'));
  });

  it('normalises Offset-0 to 0, so the value survives JSON', () => {
    const value = parsed('Month First Friday Offset-0');
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
  });
});

describe('parseRecurEvery: invalid forms name the problem', () => {
  it.each([
    ['Month Fifth Tuesday', 'expected First|Second|Third|Fourth|Last'],
    ['Month Second Funday', 'expected a weekday (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'],
    ['Month Second Tuesday Offset7', 'the offset must be between -6 and 6, got 7'],
    ['Month Last Sunday Offset-9', 'the offset must be between -6 and 6, got -9'],
    ['Month Second Tuesday Plus4', 'expected "Offset<k>"'],
    ['Month Second Tuesday Offset1 extra', 'unexpected "extra"'],
    ['Month day0', '"day0" is not a month day: expected day1 to day31'],
    ['Month day32', '"day32" is not a month day'],
    ['Month dayX', '"dayX" is not a month day'],
    ['Week Saturday,Caturday', '"Caturday" is not a weekday'],
    ['Week Saturday Sunday', 'comma-separated list of weekdays'],
    ['Day Monday', 'a daily recurrence takes nothing after "Day"'],
    ['0Days', 'the interval must be between 1 and 35 for Day(s), got 0'],
    ['36Days', 'between 1 and 35 for Day(s), got 36'],
    ['6Weeks', 'between 1 and 5 for Week(s), got 6'],
    ['13Months', 'between 1 and 12 for Month(s), got 13'],
    ['Fortnight', 'expected [N]Day(s), [N]Week(s) or [N]Month(s)'],
    ['', 'expected [N]Day(s), [N]Week(s) or [N]Month(s)'],
    ['-2Days', 'expected [N]Day(s)'],
  ])('%j', (text, expected) => {
    const actual = message(text);
    expect(actual).toContain(`"${text}" is not valid: `);
    expect(actual).toContain(expected);
  });
});
