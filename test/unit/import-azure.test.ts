import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFleet } from '../../domain/fleet';
import { importAzureResourceGraph } from '../../domain/import-azure';

/** Fixtures written from Microsoft's documented VM resource schema and `az graph query` output shape. */
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'azure', name), 'utf8'));

test('whole Resources rows become a valid fleet: zones, sets, images, patch modes, time zones, tags', () => {
  const { fleet, warnings, problems } = importAzureResourceGraph(fixture('resources-vms.json'));
  expect(problems).toEqual([]);
  const parsed = parseFleet(fleet);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const byName = new Map(parsed.value.machines.map((m) => [m.name, m]));
  expect([...byName.keys()]).toEqual(['rg-web.web-01', 'sql-01', 'jump-01', 'rg-test.web-01']);
  expect(byName.get('rg-web.web-01')).toMatchObject({
    region: 'eastus',
    zone: '2',
    os: 'Linux',
    patchMode: 'AutomaticByPlatform',
    image: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
    tags: { service: 'web', env: 'prod' },
    timeZone: 'UTC',
  });
  const sql = byName.get('sql-01')!;
  expect(sql).toMatchObject({
    region: 'westeurope',
    availabilitySet: 'rg-sql/sql-avset',
    os: 'Windows',
    timeZone: 'Europe/Berlin',
  });
  expect(sql.updateDomain).toBeUndefined();
  // A gallery image has no marketplace reference; no patch mode means Azure's default for the OS.
  expect(byName.get('jump-01')).toMatchObject({ region: 'eastus', patchMode: 'AutomaticByOS' });
  expect(byName.get('jump-01')!.image).toBeUndefined();
  expect(byName.get('rg-test.web-01')).toMatchObject({
    region: 'westus',
    zone: '1',
    patchMode: 'ImageDefault',
  });
  expect(warnings).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^data\[4\]: skipped a microsoft\.compute\/disks/),
      expect.stringMatching(/^sql-01: availability set without its update domain/),
      expect.stringMatching(/^jump-01: power state PowerState\/deallocated/),
      expect.stringMatching(/^web-01: .* imported as rg-web\.web-01$/),
    ]),
  );
});

test('projected rows with merged update and fault domains keep them; a set machine without one is warned about', () => {
  const { fleet, warnings, problems } = importAzureResourceGraph(fixture('projected-vms.json'));
  expect(problems).toEqual([]);
  const parsed = parseFleet(fleet);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const [db1, db2] = parsed.value.machines;
  expect(db1).toMatchObject({
    name: 'db-01',
    availabilitySet: 'rg-db/db-avset',
    updateDomain: 1,
    faultDomain: 0,
    patchMode: 'AutomaticByPlatform',
  });
  expect(db2.updateDomain).toBeUndefined();
  expect(warnings.some((w) => w.startsWith('db-02: availability set without its update domain'))).toBe(true);
  expect(warnings.some((w) => w.startsWith('db-01:'))).toBe(false);
});

test.each([
  ['not rows at all', { value: 1 }, ''],
  ['a row that is not an object', [42], 'data[0]'],
  [
    'an unknown OS type',
    [
      {
        id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a',
        name: 'a',
        location: 'eastus',
        osType: 'Plan9',
      },
    ],
    'data[0].osType',
  ],
  [
    'a missing location',
    [
      {
        id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a',
        name: 'a',
        osType: 'Linux',
      },
    ],
    'data[0].location',
  ],
  ['an unusable name', [{ name: '-bad name', location: 'eastus', osType: 'Linux' }], 'data[0].name'],
  ['a missing resource ID', [{ name: 'a', location: 'eastus', osType: 'Linux' }], 'data[0].id'],
  [
    'a resource ID of something else',
    [
      {
        name: 'a',
        location: 'eastus',
        osType: 'Linux',
        id: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/a',
      },
    ],
    'data[0].id',
  ],
  [
    'an unknown patch mode',
    [
      {
        id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a',
        name: 'a',
        location: 'eastus',
        osType: 'Linux',
        linuxPatchMode: 'Sometimes',
      },
    ],
    'data[0].patchMode',
  ],
])('%s is a problem at its path', (_what, doc, path) => {
  const { problems } = importAzureResourceGraph(doc);
  expect(problems.map((p) => p.path)).toEqual([path]);
});

test('an unknown region passes the converter but parseFleet names it', () => {
  const { fleet, problems } = importAzureResourceGraph({
    data: [
      {
        id: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a',
        name: 'a',
        location: 'moonbase1',
        osType: 'Linux',
      },
    ],
  });
  expect(problems).toEqual([]);
  const parsed = parseFleet(fleet);
  expect(parsed.ok).toBe(false);
  if (!parsed.ok) expect(parsed.problems[0].path).toBe('machines[0].region');
});

test('every imported machine is patched through Azure by its resource ID (driver: azure), Arc machines included', () => {
  const arc =
    '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-hybrid/providers/Microsoft.HybridCompute/machines/dc-srv-1';
  const { fleet, problems } = importAzureResourceGraph({
    data: [
      ...(fixture('resources-vms.json') as { data: unknown[] }).data,
      {
        id: arc,
        name: 'dc-srv-1',
        type: 'microsoft.hybridcompute/machines',
        location: 'westeurope',
        properties: { osType: 'windows', status: 'Connected' },
      },
    ],
  });
  expect(problems).toEqual([]);
  const parsed = parseFleet(fleet);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  expect(parsed.value.machines.map((m) => m.driver)).toEqual(['azure', 'azure', 'azure', 'azure', 'azure']);
  expect(parsed.value.machines.find((m) => m.name === 'sql-01')?.azure?.resourceId).toBe(
    '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-SQL/providers/Microsoft.Compute/virtualMachines/sql-01',
  );
  expect(parsed.value.machines.at(-1)).toMatchObject({
    name: 'dc-srv-1',
    os: 'Windows',
    azure: { resourceId: arc },
    subscription: '00000000-0000-4000-8000-000000000001',
  });
  expect(fleet.machines.every((m) => typeof m.subscription === 'string')).toBe(true);
});
