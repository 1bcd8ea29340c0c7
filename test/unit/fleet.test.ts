import { parseFleet } from '../../domain/fleet';
import { formatProblem } from '../../domain/problems';

const base = { name: 'vm-1', region: 'eastus', os: 'Linux' };

function problems(doc: unknown): string[] {
  const parsed = parseFleet(doc);
  return parsed.ok ? [] : parsed.problems.map(formatProblem);
}

describe('fleet file validation', () => {
  test('a valid machine gets Azure defaults: Linux → ImageDefault, Windows → AutomaticByOS, UTC', () => {
    const parsed = parseFleet({ machines: [base, { ...base, name: 'win-1', os: 'Windows' }] });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.machines.map((m) => [m.patchMode, m.timeZone])).toEqual([
      ['ImageDefault', 'UTC'],
      ['AutomaticByOS', 'UTC'],
    ]);
  });

  test('a Windows time zone name is accepted and resolved to IANA', () => {
    const parsed = parseFleet({ machines: [{ ...base, timeZone: 'Pacific Standard Time' }] });
    expect(parsed.ok && parsed.value.machines[0].timeZone).toBe('America/Los_Angeles');
  });

  test.each([
    [
      'duplicate names',
      { machines: [base, base] },
      'machines[1].name: duplicate name "vm-1" (also machines[0])',
    ],
    [
      'zone and availabilitySet together',
      { machines: [{ ...base, zone: '1', availabilitySet: 'as-1', updateDomain: 0 }] },
      'machines[0]: a machine cannot have both "zone" and "availabilitySet"',
    ],
    [
      'updateDomain without a set',
      { machines: [{ ...base, updateDomain: 2 }] },
      'machines[0].updateDomain: is only valid with "availabilitySet"',
    ],
    [
      'unknown time zone',
      { machines: [{ ...base, timeZone: 'Mars/Olympus' }] },
      'machines[0].timeZone: unknown time zone "Mars/Olympus"',
    ],
    [
      'unknown region without a pair',
      { machines: [{ ...base, region: 'moon-1' }] },
      'machines[0].region: unknown region "moon-1"',
    ],
    [
      'unknown patch mode',
      { machines: [{ ...base, patchMode: 'Sometimes' }] },
      'machines[0].patchMode: Invalid option',
    ],
    [
      'update domain out of range',
      { machines: [{ ...base, availabilitySet: 'a', updateDomain: 20 }] },
      'machines[0].updateDomain:',
    ],
    ['zone out of range', { machines: [{ ...base, zone: '4' }] }, 'machines[0].zone:'],
    [
      'a misspelt field',
      { machines: [{ ...base, patchmode: 'Manual' }] },
      'machines[0]: Unrecognized key: "patchmode"',
    ],
    ['no machines', { machines: [] }, 'machines: a fleet needs at least one machine'],
    ['not a fleet at all', 'hello', 'Invalid input'],
  ])('%s is reported with its path', (_name, doc, expected) => {
    expect(problems(doc).join('\n')).toContain(expected);
  });

  test('an unknown region with a declared pair is accepted', () => {
    const doc = {
      regionPairs: { 'dc-east': 'dc-west' },
      machines: [
        { ...base, region: 'dc-east' },
        { ...base, name: 'b', region: 'dc-west' },
      ],
    };
    expect(problems(doc)).toEqual([]);
  });

  test('every problem is reported at once', () => {
    const doc = {
      machines: [
        { ...base, timeZone: 'Nowhere/Zone' },
        { ...base, region: 'moon-1' },
        { ...base, name: 'x', updateDomain: 1 },
      ],
    };
    expect(problems(doc)).toHaveLength(4); // time zone, duplicate name, region, updateDomain
  });
});
