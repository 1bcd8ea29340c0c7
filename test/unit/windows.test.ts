import {
  canStartInstall,
  canStartReboot,
  INSTALL_MIN_REMAINING_MS,
  latestInstallEnd,
  maintenanceConfigurationSchema,
  type MaintenanceSchedule,
  nextOccurrences,
  nextWindow,
  offPeakSchedule,
  parseMaintenanceConfiguration,
  rebootRecoveryDeadline,
  REBOOT_MIN_REMAINING_MS,
  remainingMs,
  windowAt,
} from '../../domain/windows';
import { formatProblem } from '../../domain/problems';

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;

const valid = {
  startDateTime: '2024-03-01 22:00',
  duration: '03:00',
  timeZone: 'Pacific Standard Time',
  recurEvery: 'Week Saturday,Sunday',
};

function schedule(overrides: Partial<typeof valid> & Record<string, string> = {}): MaintenanceSchedule {
  const result = parseMaintenanceConfiguration({ ...valid, ...overrides });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.value;
}

function problems(overrides: Record<string, string | undefined>): string[] {
  const result = parseMaintenanceConfiguration({ ...valid, ...overrides } as typeof valid);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('maintenanceConfigurationSchema', () => {
  it('accepts the Azure fields and rejects unknown ones', () => {
    expect(maintenanceConfigurationSchema.safeParse({ ...valid, preScript: '/opt/pre.sh' }).success).toBe(
      true,
    );
    const unknown = maintenanceConfigurationSchema.safeParse({ ...valid, recurrence: 'Day' });
    expect(unknown.success).toBe(false);
  });

  it('only checks shapes: semantics are left to parseMaintenanceConfiguration', () => {
    expect(maintenanceConfigurationSchema.safeParse({ ...valid, duration: '99:99' }).success).toBe(true);
    expect(maintenanceConfigurationSchema.safeParse({ ...valid, duration: 90 }).success).toBe(false);
  });
});

describe('parseMaintenanceConfiguration', () => {
  it('resolves Windows zone names and keeps the data JSON-serializable', () => {
    const s = schedule({
      expirationDateTime: '2025-01-01 00:00',
      preScript: '/pre.sh',
      postScript: '/post.sh',
    });
    expect(s).toEqual({
      timeZone: 'America/Los_Angeles',
      recurrence: { kind: 'weekly', interval: 1, weekdays: ['Saturday', 'Sunday'] },
      startDateTime: '2024-03-01 22:00',
      startsAt: at('2024-03-02T06:00:00Z'),
      expirationDateTime: '2025-01-01 00:00',
      expiresAt: at('2025-01-01T08:00:00Z'),
      durationMinutes: 180,
      preScript: '/pre.sh',
      postScript: '/post.sh',
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('reports every problem at once, with paths relative to the configuration', () => {
    expect(
      problems({
        startDateTime: '2024-02-30 22:00',
        duration: '04:00',
        timeZone: 'Mars/Olympus_Mons',
        recurEvery: 'Month Fifth Tuesday',
        expirationDateTime: 'soon',
      }),
    ).toEqual([
      expect.stringMatching(/^timeZone: unknown time zone "Mars\/Olympus_Mons"/),
      'startDateTime: "2024-02-30 22:00" is not a valid local date and time: expected "YYYY-MM-DD HH:mm"',
      'expirationDateTime: "soon" is not a valid local date and time: expected "YYYY-MM-DD HH:mm"',
      'duration: "04:00" is out of range: Azure allows 01:30 to 03:55 for in-guest patching',
      expect.stringMatching(
        /^recurEvery: "Month Fifth Tuesday" is not valid: expected First\|Second\|Third\|Fourth\|Last/,
      ),
    ]);
  });

  it.each([
    ['01:29', 'out of range'],
    ['03:56', 'out of range'],
    ['2h', 'is not a valid duration: expected "HH:mm"'],
    ['01:60', 'is not a valid duration'],
  ])('rejects duration %s', (duration, expected) => {
    expect(problems({ duration })).toEqual([expect.stringContaining(expected)]);
  });

  it.each(['01:30', '03:55', '2:00'])('accepts duration %s', (duration) => {
    expect(problems({ duration })).toEqual([]);
  });

  it.each(['2024-03-01T22:00', '2024-03-01 24:00', '2024-13-01 22:00', '2024-03-01 22:00:00'])(
    'rejects startDateTime %s',
    (startDateTime) => {
      expect(problems({ startDateTime })).toEqual([expect.stringMatching(/^startDateTime: /)]);
    },
  );

  it('requires the expiration to follow the start', () => {
    expect(problems({ expirationDateTime: '2024-03-01 22:00' })).toEqual([
      'expirationDateTime: must be after startDateTime (2024-03-01 22:00)',
    ]);
    expect(problems({ expirationDateTime: '2024-03-01 22:01' })).toEqual([
      expect.stringMatching(/^expirationDateTime: the schedule expires before its first window/),
    ]);
  });

  it('rejects a recurrence that can never match', () => {
    expect(problems({ startDateTime: '2024-02-01 22:00', recurEvery: '12Months day31' })).toEqual([
      'recurEvery: "12Months day31" never matches a date within 12 years of 2024-02-01 22:00',
    ]);
    expect(problems({ startDateTime: '2024-01-01 22:00', recurEvery: '12Months day31' })).toEqual([]);
  });
});

describe('window queries', () => {
  // Saturdays and Sundays 22:00-01:00 Los Angeles time, from Friday 2024-03-01.
  const s = schedule();
  const saturday = { start: at('2024-03-03T06:00:00Z'), end: at('2024-03-03T09:00:00Z') };

  it('finds the next window, the one containing an instant, and the time left in it', () => {
    expect(nextWindow(s, at('2024-03-01T00:00:00Z'))).toEqual(saturday);
    expect(windowAt(s, at('2024-03-01T00:00:00Z'))).toBeUndefined();
    expect(windowAt(s, saturday.start)).toEqual(saturday);
    expect(windowAt(s, saturday.end - 1)).toEqual(saturday);
    expect(windowAt(s, saturday.end)).toBeUndefined();
    expect(nextWindow(s, saturday.start + 30 * MIN)).toEqual(saturday);
    expect(remainingMs(s, saturday.start + 30 * MIN)).toBe(150 * MIN);
    expect(remainingMs(s, saturday.end)).toBe(0);
  });

  it('lists occurrences in order, crossing midnight', () => {
    expect(nextOccurrences(s, saturday.start + MIN, 4)).toEqual([
      saturday,
      { start: at('2024-03-04T06:00:00Z'), end: at('2024-03-04T09:00:00Z') },
      { start: at('2024-03-10T06:00:00Z'), end: at('2024-03-10T09:00:00Z') },
      // DST began at 02:00 on Sunday 2024-03-10 in Los Angeles: 22:00 PDT is 05:00Z.
      { start: at('2024-03-11T05:00:00Z'), end: at('2024-03-11T08:00:00Z') },
    ]);
    expect(nextOccurrences(s, saturday.start, 0)).toEqual([]);
  });

  it('opens no window before the start and none at or after the expiration, cutting one open then', () => {
    const limited = schedule({ recurEvery: 'Day', expirationDateTime: '2024-03-03 23:00' });
    expect(nextOccurrences(limited, 0, 10)).toEqual([
      { start: at('2024-03-02T06:00:00Z'), end: at('2024-03-02T09:00:00Z') },
      { start: at('2024-03-03T06:00:00Z'), end: at('2024-03-03T09:00:00Z') },
      { start: at('2024-03-04T06:00:00Z'), end: at('2024-03-04T07:00:00Z') },
    ]);
    expect(nextWindow(limited, at('2024-03-04T07:00:00Z'))).toBeUndefined();
  });
});

describe('offPeakSchedule', () => {
  const s = offPeakSchedule('Europe/Berlin', { start: '22:00', end: '06:00' });

  it('is a daily window in the machine zone crossing midnight', () => {
    expect(s.timeZone).toBe('Europe/Berlin');
    expect(windowAt(s, at('2024-06-15T01:00:00Z'))).toEqual({
      start: at('2024-06-14T20:00:00Z'),
      end: at('2024-06-15T04:00:00Z'),
    });
    expect(windowAt(s, at('2024-06-15T12:00:00Z'))).toBeUndefined();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('ends at its wall-clock end time across DST changes', () => {
    // Berlin: clocks go back on 2024-10-27 at 03:00 CEST, forward on 2024-03-31 at 02:00 CET.
    const autumn = windowAt(s, at('2024-10-27T02:00:00Z'))!;
    expect(autumn).toEqual({ start: at('2024-10-26T20:00:00Z'), end: at('2024-10-27T05:00:00Z') });
    const spring = windowAt(s, at('2024-03-31T02:00:00Z'))!;
    expect(spring).toEqual({ start: at('2024-03-30T21:00:00Z'), end: at('2024-03-31T04:00:00Z') });
  });

  it('takes windows longer than Azure allows, or within one day', () => {
    const daytime = offPeakSchedule('UTC', { start: '09:00', end: '17:30' });
    expect(nextWindow(daytime, at('2024-01-01T18:00:00Z'))).toEqual({
      start: at('2024-01-02T09:00:00Z'),
      end: at('2024-01-02T17:30:00Z'),
    });
  });

  it('rejects unknown zones and empty hours', () => {
    expect(() => offPeakSchedule('Nowhere/Special', { start: '22:00', end: '06:00' })).toThrow(
      /unknown time zone/,
    );
    expect(() => offPeakSchedule('UTC', { start: '22:00', end: '22:00' })).toThrow(/two different/);
    expect(() => offPeakSchedule('UTC', { start: '25:00', end: '06:00' })).toThrow(/two different/);
  });
});

describe('start rules', () => {
  const window = { start: at('2024-01-01T00:00:00Z'), end: at('2024-01-01T02:00:00Z') };

  it('starts an install only with 15 minutes left (20 for a service pack)', () => {
    expect(INSTALL_MIN_REMAINING_MS).toBe(15 * MIN);
    expect(canStartInstall(window, window.end - 15 * MIN)).toBe(true);
    expect(canStartInstall(window, window.end - 15 * MIN + 1)).toBe(false);
    expect(canStartInstall(window, window.end - 19 * MIN, { servicePack: true })).toBe(false);
    expect(canStartInstall(window, window.end - 20 * MIN, { servicePack: true })).toBe(true);
    expect(canStartInstall(window, window.start - 1)).toBe(false);
  });

  it('starts a reboot only with 10 (Windows) or 15 (Linux) minutes left', () => {
    expect(REBOOT_MIN_REMAINING_MS).toEqual({ Windows: 10 * MIN, Linux: 15 * MIN });
    expect(canStartReboot(window, window.end - 10 * MIN, 'Windows')).toBe(true);
    expect(canStartReboot(window, window.end - 10 * MIN, 'Linux')).toBe(false);
    expect(canStartReboot(window, window.end - 15 * MIN, 'Linux')).toBe(true);
    expect(canStartReboot(window, window.end, 'Windows')).toBe(false);
  });

  it('gives the latest install end that still leaves room for a reboot, and 15 minutes to come back', () => {
    expect(latestInstallEnd(window, 'Windows')).toBe(window.end - 10 * MIN);
    expect(latestInstallEnd(window, 'Linux')).toBe(window.end - 15 * MIN);
    expect(canStartReboot(window, latestInstallEnd(window, 'Linux'), 'Linux')).toBe(true);
    expect(rebootRecoveryDeadline(window.end - 10 * MIN)).toBe(window.end + 5 * MIN);
  });
});
