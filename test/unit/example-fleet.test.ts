import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { parseFleet, type Fleet } from '../../domain/fleet';
import { isHotpatchCapable } from '../../domain/patch-selection';
import { parsePolicy } from '../../domain/policy';
import { azureRegionHasZones, RegionConflicts } from '../../domain/regions';
import { renderDemoPolicy, renderExampleFleet } from '../../scripts/generate-example-fleet';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const read = (file: string) => fs.readFileSync(path.join(EXAMPLES, file), 'utf8');

const TIME_ZONES: Record<string, string> = {
  eastus: 'America/New_York',
  westus: 'America/Los_Angeles',
  northeurope: 'Europe/Dublin',
  westeurope: 'Europe/Amsterdam',
  australiaeast: 'Australia/Sydney',
  australiasoutheast: 'Australia/Melbourne',
};

function loadFleet(): Fleet {
  const parsed = parseFleet(parse(read('fleet.yaml')));
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.value;
}

describe('examples/fleet.yaml', () => {
  it('is what the generator writes (run scripts/generate-example-fleet after changing it)', () => {
    expect(read('fleet.yaml')).toBe(renderExampleFleet());
    expect(read('policy-demo.yaml')).toBe(renderDemoPolicy());
  });

  it('is a valid fleet of about 200 machines', () => {
    expect(loadFleet().machines.length).toBeGreaterThanOrEqual(190);
    expect(loadFleet().machines.length).toBeLessThanOrEqual(210);
  });

  it('spans three geo-pairs with matching time zones', () => {
    const { machines } = loadFleet();
    expect(new Set(machines.map((m) => m.region))).toEqual(new Set(Object.keys(TIME_ZONES)));
    for (const m of machines) expect(m.timeZone).toBe(TIME_ZONES[m.region]);
    const conflicts = new RegionConflicts();
    expect(conflicts.conflict('eastus', 'westus')).toBe(true);
    expect(conflicts.conflict('northeurope', 'westeurope')).toBe(true);
    expect(conflicts.conflict('australiaeast', 'australiasoutheast')).toBe(true);
  });

  it('puts zonal machines only in zone-capable regions, and uses every zone there', () => {
    const { machines } = loadFleet();
    for (const m of machines) if (m.zone) expect(azureRegionHasZones(m.region)).toBe(true);
    for (const region of Object.keys(TIME_ZONES)) {
      const zones = new Set(machines.filter((m) => m.region === region && m.zone).map((m) => m.zone));
      expect([...zones].sort()).toEqual(azureRegionHasZones(region) ? ['1', '2', '3'] : []);
    }
    expect(azureRegionHasZones('westus')).toBe(false);
    expect(azureRegionHasZones('australiasoutheast')).toBe(false);
  });

  it('has availability sets spread over 5 update domains and 2 fault domains, and standalone machines', () => {
    const { machines } = loadFleet();
    const sets = new Map<string, typeof machines>();
    for (const m of machines)
      if (m.availabilitySet) sets.set(m.availabilitySet, [...(sets.get(m.availabilitySet) ?? []), m]);
    expect(sets.size).toBeGreaterThanOrEqual(6);
    for (const members of sets.values()) {
      expect(new Set(members.map((m) => m.updateDomain))).toEqual(new Set([0, 1, 2, 3, 4]));
      expect(new Set(members.map((m) => m.faultDomain))).toEqual(new Set([0, 1]));
      expect(new Set(members.map((m) => m.region)).size).toBe(1);
    }
    expect(machines.filter((m) => !m.zone && !m.availabilitySet).length).toBeGreaterThan(0);
  });

  it('mixes Linux and Windows, hotpatch images and patch modes, mostly AutomaticByPlatform', () => {
    const { machines } = loadFleet();
    const byMode = new Map<string, number>();
    for (const m of machines) byMode.set(m.patchMode, (byMode.get(m.patchMode) ?? 0) + 1);
    expect([...byMode.keys()].sort()).toEqual([
      'AutomaticByOS',
      'AutomaticByPlatform',
      'ImageDefault',
      'Manual',
    ]);
    expect(byMode.get('AutomaticByPlatform')!).toBeGreaterThan(machines.length * 0.8);
    expect(new Set(machines.map((m) => m.os))).toEqual(new Set(['Linux', 'Windows']));
    const hotpatch = machines.filter((m) => isHotpatchCapable(m.image));
    expect(hotpatch.length).toBeGreaterThan(0);
    for (const m of hotpatch) expect(m).toMatchObject({ os: 'Windows', patchMode: 'AutomaticByPlatform' });
    for (const m of machines) {
      if (m.patchMode === 'AutomaticByOS') expect(m.os).toBe('Windows');
      if (m.patchMode === 'ImageDefault') expect(m.os).toBe('Linux');
    }
  });

  it('tags every machine with a service and an env', () => {
    const { machines } = loadFleet();
    for (const m of machines) expect(Object.keys(m.tags).sort()).toEqual(['env', 'service']);
    expect(new Set(machines.map((m) => m.tags.service))).toEqual(
      new Set(['web', 'api', 'db', 'cache', 'batch']),
    );
  });

  it('has four faulty machines, one per knob, in four regions, all platform-patched', () => {
    const faulty = loadFleet().machines.filter((m) => m.simulation);
    expect(faulty.map((m) => m.simulation)).toEqual(
      expect.arrayContaining([
        { failInstall: true },
        { pendingPatches: 1 },
        { unhealthyAfterReboot: true },
        { unreachable: 1 },
      ]),
    );
    expect(faulty).toHaveLength(4);
    expect(new Set(faulty.map((m) => m.region)).size).toBe(4);
    for (const m of faulty) expect(m.patchMode).toBe('AutomaticByPlatform');
  });

  it('gives Manual machines a maintenance configuration', () => {
    const fleet = loadFleet();
    const manual = fleet.machines.filter((m) => m.patchMode === 'Manual');
    expect(manual.length).toBeGreaterThan(0);
    for (const m of manual)
      expect(fleet.maintenanceConfigurations).toHaveProperty([m.maintenanceConfiguration!]);
  });
});

describe('examples/policy-demo.yaml', () => {
  it('is a valid policy with the demo settings', () => {
    const parsed = parsePolicy(parse(read('policy-demo.yaml')));
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    expect(parsed.value).toMatchObject({
      windows: 'always',
      errorBudget: '5%',
      approvals: { beforePhases: [1], approvers: ['alice', 'bob'] },
      serviceCapacity: { tag: 'service', minAvailable: '50%' },
    });
    expect(parsed.value.simulationSpeed).toBeLessThan(1);
  });
});
