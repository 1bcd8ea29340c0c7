import { parseFleet } from '../../domain/fleet';
import { importAzureResourceGraph } from '../../domain/import-azure';
import { ianaOfWindowsZone, resolveTimeZone } from '../../domain/timezones';
import { nextWindow, parseMaintenanceConfiguration } from '../../domain/windows';
import { CLDR_TO_IANA, WINDOWS_TO_IANA, WINDOWS_ZONES_SOURCE } from '../../domain/windows-zones';
import { installedWindowsZones } from '../../scripts/generate-windows-zones';

const at = (iso: string) => Date.parse(iso);
const acceptedByIntl = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};
/** The zone's offset from UTC at an instant, in minutes, as Intl computes it. */
const offsetAt = (zone: string, instant: number): number => {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT(?:([+-])(\d\d):(\d\d))?/.exec(parts)!;
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
};

describe('the Windows time zone data', () => {
  it('is what the pinned CLDR packages hold (regenerate with scripts/generate-windows-zones.ts)', () => {
    const installed = installedWindowsZones();
    expect(WINDOWS_ZONES_SOURCE).toEqual(installed.source);
    expect(WINDOWS_TO_IANA).toEqual(installed.windowsToIana);
    expect(CLDR_TO_IANA).toEqual(installed.cldrToIana);
    expect(Object.keys(WINDOWS_TO_IANA).length).toBeGreaterThanOrEqual(139);
  });

  it('maps every Windows zone of CLDR, not a hand-picked few', () => {
    for (const name of ['Central European Standard Time', 'SE Asia Standard Time', 'Taipei Standard Time'])
      expect(Object.keys(WINDOWS_TO_IANA)).toContain(name);
  });
});

describe('resolveTimeZone', () => {
  it.each([
    ['Central European Standard Time', 'Europe/Warsaw'],
    ['SE Asia Standard Time', 'Asia/Bangkok'],
    ['Taipei Standard Time', 'Asia/Taipei'],
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['Pacific Standard Time', 'America/Los_Angeles'],
    // CLDR keeps these under their old spellings; the current IANA name is reported.
    ['India Standard Time', 'Asia/Kolkata'],
    ['FLE Standard Time', 'Europe/Kyiv'],
    ['Nepal Standard Time', 'Asia/Kathmandu'],
    ['UTC', 'UTC'],
    ['Coordinated Universal Time', 'UTC'],
    ['Asia/Calcutta', 'Asia/Kolkata'],
    ['Europe/Berlin', 'Europe/Berlin'],
  ])('%s is %s', (name, iana) => {
    expect(resolveTimeZone(name)).toBe(iana);
  });

  it('refuses what is neither an IANA nor a Windows name', () => {
    expect(resolveTimeZone('Central European Time')).toBeUndefined();
    expect(resolveTimeZone('constructor')).toBeUndefined();
    expect(ianaOfWindowsZone('hasOwnProperty')).toBeUndefined();
  });

  it('resolves every zone CLDR maps, in Intl, to a current IANA name of the same clock', () => {
    const instants = [at('2025-01-15T12:00:00Z'), at('2025-07-15T12:00:00Z')];
    const mapped = Object.entries(WINDOWS_TO_IANA).flatMap(([windows, zones]) =>
      zones.map((zone) => ({ windows, zone })),
    );
    expect(mapped.length).toBeGreaterThan(400);
    const failures: string[] = [];
    for (const { windows, zone } of mapped) {
      const resolved = resolveTimeZone(zone);
      if (!acceptedByIntl(zone) || resolved === undefined || !acceptedByIntl(resolved)) {
        failures.push(`${windows}: ${zone} does not resolve`);
        continue;
      }
      if (Object.hasOwn(CLDR_TO_IANA, resolved))
        failures.push(`${zone}: resolved to the old name ${resolved}`);
      for (const t of instants)
        if (offsetAt(resolved, t) !== offsetAt(zone, t)) failures.push(`${zone} is not ${resolved}`);
    }
    for (const windows of Object.keys(WINDOWS_TO_IANA))
      if (resolveTimeZone(windows) !== resolveTimeZone(WINDOWS_TO_IANA[windows][0]))
        failures.push(`${windows} is not its territory-001 zone`);
    expect(failures).toEqual([]);
  });
});

describe('Windows names where Offpeak reads time zones', () => {
  const machine = { region: 'westeurope', os: 'Windows', driver: 'simulated' };

  it('fleets', () => {
    const parsed = parseFleet({
      machines: [
        { ...machine, name: 'a', timeZone: 'Central European Standard Time' },
        { ...machine, name: 'b', timeZone: 'SE Asia Standard Time', region: 'southeastasia' },
        { ...machine, name: 'c', timeZone: 'Taipei Standard Time', region: 'eastasia' },
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.value.machines.map((m) => m.timeZone)).toEqual([
      'Europe/Warsaw',
      'Asia/Bangkok',
      'Asia/Taipei',
    ]);
  });

  it('maintenance configurations: the window opens at the local time of the Windows zone', () => {
    const config = {
      startDateTime: '2025-03-01 22:00',
      duration: '02:00',
      recurEvery: 'Day',
    };
    const opens = (timeZone: string) => {
      const parsed = parseMaintenanceConfiguration({ ...config, timeZone });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      return nextWindow(parsed.value, at('2025-03-10T00:00:00Z'))!.start;
    };
    // 22:00 in Warsaw (UTC+1 in March), Bangkok (UTC+7, no DST), Taipei (UTC+8, no DST).
    expect(opens('Central European Standard Time')).toBe(at('2025-03-10T21:00:00Z'));
    expect(opens('SE Asia Standard Time')).toBe(at('2025-03-10T15:00:00Z'));
    expect(opens('Taipei Standard Time')).toBe(at('2025-03-10T14:00:00Z'));
  });

  it('imports: a Windows VM keeps its Windows zone, and the fleet resolves it', () => {
    const id = (name: string) =>
      `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`;
    const row = (name: string, timeZone: string) => ({
      id: id(name),
      name,
      type: 'microsoft.compute/virtualmachines',
      location: 'eastasia',
      properties: {
        storageProfile: { osDisk: { osType: 'Windows' } },
        osProfile: { windowsConfiguration: { timeZone } },
      },
    });
    const imported = importAzureResourceGraph({
      data: [row('tpe-01', 'Taipei Standard Time'), row('bkk-01', 'SE Asia Standard Time')],
    });
    expect(imported.problems).toEqual([]);
    const parsed = parseFleet(imported.fleet);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.value.machines.map((m) => [m.name, m.timeZone])).toEqual([
      ['tpe-01', 'Asia/Taipei'],
      ['bkk-01', 'Asia/Bangkok'],
    ]);
  });
});
