import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { InventoryError, readAzureInventory } from '../../activities/drivers/azure/inventory';
import {
  INVENTORY_QUERY,
  inventoryQuery,
  parseInventoryScope,
  type InventoryScope,
} from '../../domain/azure-inventory-query';
import { parseFleet } from '../../domain/fleet';
import { importAzureResourceGraph } from '../../domain/import-azure';
import { formatProblem } from '../../domain/problems';
import { planRollout } from '../../domain/planner';
import { policySchema } from '../../domain/policy';
import { AzureEmulator, type EmulatedMachine } from '../support/azure-emulator/server';
import { RESOURCE_GRAPH_PATH } from '../support/azure-emulator/resource-graph';

/**
 * The live import (`offpeak fleet import --from azure`): the real @azure/arm-resourcegraph and
 * @azure/arm-compute against the emulator, whose Resource Graph follows ResourcesFirstPageQuery.json and
 * ResourcesNextPageQuery.json (resourcegraph 2024-04-01) and whose instance views follow
 * VirtualMachine_Get_InstanceView.json.
 */

const S1 = '00000000-0000-4000-8000-0000000000a1';
const S2 = '00000000-0000-4000-8000-0000000000b2';
const S3 = '00000000-0000-4000-8000-0000000000c3';
const id = (sub: string, rg: string, name: string, arc = false) =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/${arc ? 'Microsoft.HybridCompute/machines' : 'Microsoft.Compute/virtualMachines'}/${name}`;
const UBUNTU = { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' };
const HOTPATCH = {
  publisher: 'MicrosoftWindowsServer',
  offer: 'WindowsServer',
  sku: '2022-datacenter-azure-edition-hotpatch',
};

const machines: EmulatedMachine[] = [
  ...['1', '2', '3'].map((zone, i): EmulatedMachine => ({
    resourceId: id(S1, 'rg-web', `web-${i + 1}`),
    os: 'Linux',
    patches: [],
    location: 'eastus',
    zone: zone as '1' | '2' | '3',
    image: UBUNTU,
    tags: { env: 'prod', service: 'web' },
  })),
  ...[0, 1].map((ud): EmulatedMachine => ({
    resourceId: id(S1, 'RG-SQL', `sql-${ud + 1}`),
    os: 'Windows',
    patches: [],
    location: 'westeurope',
    availabilitySet: 'sql-avset',
    updateDomain: ud,
    faultDomain: ud,
    image: HOTPATCH,
    timeZone: 'Central European Standard Time',
    tags: { env: 'prod', service: 'sql' },
  })),
  {
    resourceId: id(S2, 'rg-apps', 'app-1'),
    os: 'Windows',
    patches: [],
    location: 'southeastasia',
    timeZone: 'SE Asia Standard Time',
    patchMode: 'AutomaticByOS',
    power: 'stopped',
    tags: { env: 'test' },
  },
  {
    resourceId: id(S2, 'rg-apps', 'app-2'),
    os: 'Windows',
    patches: [],
    location: 'eastasia',
    timeZone: 'Taipei Standard Time',
    tags: { env: 'prod' },
  },
  {
    resourceId: id(S2, 'rg-hybrid', 'dc-srv-1', true),
    os: 'Windows',
    patches: [],
    location: 'westeurope',
    tags: { env: 'prod' },
  },
  // A subscription the imports below do not name.
  { resourceId: id(S3, 'rg-other', 'other-1'), os: 'Linux', patches: [], location: 'eastus' },
];

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await AzureEmulator.start();
  for (const m of machines) emu.add(m);
});
afterAll(async () => {
  await emu.close();
});

const scopeOf = (extra: Partial<InventoryScope> = {}): InventoryScope => ({
  subscriptions: [S1, S2],
  tags: [],
  ...extra,
});
const read = (inventory: InventoryScope, pageSize?: number) =>
  readAzureInventory({
    credential: emu.credential(),
    endpoint: emu.url,
    ca: emu.ca,
    requestTimeoutMs: 5_000,
    retry: { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    inventory,
    ...(pageSize !== undefined ? { pageSize } : {}),
  });
const graphRequests = () => emu.requests.filter((r) => r.path === RESOURCE_GRAPH_PATH);

describe('the query', () => {
  test('is the documented one, with the filters before the projection and an order for paging', () => {
    const q = inventoryQuery({ resourceGroup: 'rg-web', tags: [{ key: "team's", value: 'a\\b' }] });
    expect(q.split('\n').slice(0, 4)).toEqual([
      'Resources',
      "| where type =~ 'microsoft.compute/virtualmachines' or type =~ 'microsoft.hybridcompute/machines'",
      "| where resourceGroup =~ 'rg-web'",
      "| where tostring(tags['team\\'s']) =~ 'a\\\\b'",
    ]);
    expect(q.endsWith('| order by id asc')).toBe(true);
    expect(inventoryQuery({ tags: [] })).toBe(`${INVENTORY_QUERY}\n| order by id asc`);
  });

  test('docs/operations.md shows it as it is', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    expect(/```kusto\n([\s\S]*?)\n```/.exec(doc)?.[1]).toBe(INVENTORY_QUERY);
  });

  test.each([
    [{ subscriptions: [], tags: [] }, '--subscription: name at least one subscription ID'],
    [{ subscriptions: ['prod'], tags: [] }, '--subscription: "prod" is not a subscription ID (a GUID)'],
    [{ subscriptions: [S1], tags: ['env'] }, '--tag: "env" is not key=value'],
    [{ subscriptions: [S1], tags: ['=prod'] }, '--tag: "=prod" is not key=value'],
    [
      { subscriptions: [S1], resourceGroup: 'rg.', tags: [] },
      '--resource-group: "rg." is not a resource group name (1-90 letters, digits, ".", "_", "-", "(", ")")',
    ],
  ])('a bad scope is a clear problem: %j', (input, problem) => {
    const parsed = parseInventoryScope(input);
    expect(parsed.ok ? [] : parsed.problems.map(formatProblem)).toEqual([problem]);
  });

  test('subscriptions are kept once, in lower case; a tag value may hold "="', () => {
    expect(parseInventoryScope({ subscriptions: [S1, S1.toUpperCase()], tags: ['k=a=b'] })).toEqual({
      ok: true,
      value: { subscriptions: [S1], tags: [{ key: 'k', value: 'a=b' }] },
    });
  });
});

describe('readAzureInventory against the emulator', () => {
  test('reads every page of every named subscription, VMs and Arc machines, and the update domains; the fleet parses and plans', async () => {
    emu.requests.length = 0;
    const inventory = await read(scopeOf(), 3);
    // 8 machines in the two subscriptions, 3 a page.
    expect(inventory.pages).toBe(3);
    expect(inventory.rows).toHaveLength(8);
    expect(inventory.instanceViews).toBe(2);
    expect(inventory.warnings).toEqual([]);

    // The request bodies of ResourcesFirstPageQuery.json, then ResourcesNextPageQuery.json.
    const requests = graphRequests();
    expect(requests.map((r) => r.apiVersion)).toEqual(['2024-04-01', '2024-04-01', '2024-04-01']);
    const bodies = requests.map((r) => r.body as Record<string, Record<string, unknown>>);
    expect(bodies[0]).toEqual({
      subscriptions: [S1, S2],
      query: inventoryQuery({ tags: [] }),
      options: { $top: 3, $skip: 0 },
    });
    expect(typeof bodies[1].options.$skipToken).toBe('string');
    expect(bodies[2].options.$skipToken).not.toBe(bodies[1].options.$skipToken);

    const imported = importAzureResourceGraph(inventory.rows);
    expect(imported.problems).toEqual([]);
    const parsed = parseFleet(imported.fleet);
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    const byName = new Map(parsed.value.machines.map((m) => [m.name, m]));
    expect([...byName.keys()].sort()).toEqual([
      'app-1',
      'app-2',
      'dc-srv-1',
      'sql-1',
      'sql-2',
      'web-1',
      'web-2',
      'web-3',
    ]);
    expect(byName.get('web-2')).toMatchObject({
      region: 'eastus',
      zone: '2',
      os: 'Linux',
      image: UBUNTU,
      patchMode: 'AutomaticByPlatform',
      tags: { env: 'prod', service: 'web' },
      subscription: S1,
      driver: 'azure',
      azure: { resourceId: id(S1, 'rg-web', 'web-2') },
    });
    expect(byName.get('sql-2')).toMatchObject({
      region: 'westeurope',
      availabilitySet: 'rg-sql/sql-avset',
      updateDomain: 1,
      faultDomain: 1,
      os: 'Windows',
      timeZone: 'Europe/Warsaw',
      image: HOTPATCH,
    });
    expect(byName.get('sql-1')).toMatchObject({ updateDomain: 0, faultDomain: 0 });
    expect(byName.get('app-1')).toMatchObject({
      timeZone: 'Asia/Bangkok',
      patchMode: 'AutomaticByOS',
      subscription: S2,
    });
    expect(byName.get('app-2')!.timeZone).toBe('Asia/Taipei');
    expect(byName.get('dc-srv-1')).toMatchObject({
      region: 'westeurope',
      os: 'Windows',
      azure: { resourceId: id(S2, 'rg-hybrid', 'dc-srv-1', true) },
    });
    expect(imported.warnings).toContain(
      'app-1: power state PowerState/stopped; it is imported and will be assessed when it runs',
    );

    const plan = planRollout(parsed.value, policySchema.parse({}));
    if (!plan.ok) throw new Error(plan.problems.map(formatProblem).join('\n'));
    const planned = plan.value.regions.flatMap((r) => r.steps.flatMap((s) => s.machines));
    // The AutomaticByPlatform machines (all but app-1) are planned; sql-1 and sql-2 never share a step.
    expect(planned.sort()).toEqual(['app-2', 'dc-srv-1', 'sql-1', 'sql-2', 'web-1', 'web-2', 'web-3']);
    const westeurope = plan.value.regions.find((r) => r.region === 'westeurope')!;
    expect(
      westeurope.steps.every((s) => !(s.machines.includes('sql-1') && s.machines.includes('sql-2'))),
    ).toBe(true);
  });

  test('one page when it fits; the filters reach Resource Graph', async () => {
    expect((await read(scopeOf())).pages).toBe(1);
    const web = await read(scopeOf({ resourceGroup: 'RG-WEB' }));
    expect(web.rows.map((r) => r.name)).toEqual(['web-1', 'web-2', 'web-3']);
    const prod = await read(
      scopeOf({
        tags: [
          { key: 'env', value: 'PROD' },
          { key: 'service', value: 'sql' },
        ],
      }),
    );
    expect(prod.rows.map((r) => r.name)).toEqual(['sql-1', 'sql-2']);
    const other = await read({ subscriptions: [S3], tags: [] });
    expect(other.rows.map((r) => r.name)).toEqual(['other-1']);
  });

  test('a throttled page is retried after Retry-After, and no row is lost or read twice', async () => {
    emu.inject({ path: RESOURCE_GRAPH_PATH, status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const inventory = await read(scopeOf(), 5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(inventory.rows.map((r) => r.id)).toEqual([...new Set(inventory.rows.map((r) => r.id))]);
    expect(inventory.rows).toHaveLength(8);
  });

  test('a refusal names the action and the role', async () => {
    emu.inject({
      path: RESOURCE_GRAPH_PATH,
      status: 403,
      code: 'AuthorizationFailed',
      message: `The client 'x' does not have authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope '/subscriptions/${S1}'.`,
    });
    const error = await read(scopeOf()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InventoryError);
    expect((error as Error).message).toBe(
      'Azure refused Microsoft.ResourceGraph/resources/read (403 AuthorizationFailed): grant the importing identity Reader on the subscriptions (docs/operations.md)',
    );
  });

  test('an unreadable instance view leaves that update domain unknown, with a warning', async () => {
    emu.inject({
      method: 'GET',
      path: '/virtualMachines/sql-2/instanceView',
      status: 403,
      code: 'AuthorizationFailed',
    });
    const inventory = await read(scopeOf({ resourceGroup: 'rg-sql' }));
    expect(inventory.warnings).toEqual([
      'sql-2: Azure refused Microsoft.Compute/virtualMachines/instanceView/read (403 AuthorizationFailed): grant the importing identity Reader on the subscriptions (docs/operations.md); its update domain stays unknown',
    ]);
    const imported = importAzureResourceGraph(inventory.rows);
    expect(imported.fleet.machines.map((m) => [m.name, m.updateDomain])).toEqual([
      ['sql-1', 0],
      ['sql-2', undefined],
    ]);
  });
});

describe('offpeak fleet import --from azure', () => {
  /** The built CLI as a separate process, signed in by DefaultAzureCredential against the emulator. */
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'offpeak.js'), ...args], {
        env: { ...process.env, ...emu.identityEnv() },
        timeout: 60_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  test('writes a valid fleet from the live inventory', async () => {
    const run = await cli([
      'fleet',
      'import',
      '--from',
      'azure',
      '--subscription',
      S1,
      '--subscription',
      S2,
      '--tag',
      'env=prod',
    ]);
    expect(run.stderr).toContain(
      'Read 7 machine(s) from Azure Resource Graph (1 page(s), 2 subscription(s)); 2 instance view(s) for update domains',
    );
    expect(run.code).toBe(0);
    const parsed = parseFleet(parse(run.stdout));
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    expect(parsed.value.machines.map((m) => m.name).sort()).toEqual([
      'app-2',
      'dc-srv-1',
      'sql-1',
      'sql-2',
      'web-1',
      'web-2',
      'web-3',
    ]);
  });

  test.each([
    [['--from', 'azure'], '--subscription: name at least one subscription ID'],
    [['--from', 'azure', '--subscription', S1, 'rows.json'], 'FILE: the live import reads Azure, not a file'],
    [
      ['--from', 'azure-resource-graph', 'rows.json', '--subscription', S1],
      '--subscription: is only valid with --from azure',
    ],
    [['--from', 'azure-resource-graph'], 'FILE: name the file of Resource Graph rows'],
  ])('%j is bad input (exit 2)', async (args, problem) => {
    const run = await cli(['fleet', 'import', ...args]);
    expect(run.stderr).toContain(problem);
    expect(run.code).toBe(2);
  });
});
