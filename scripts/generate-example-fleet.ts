/**
 * Generates examples/fleet.yaml and examples/policy-demo.yaml. Deterministic: the same script always
 * writes the same bytes, and test/unit/example-fleet.test.ts fails when the committed files drift.
 *
 *   npm run build && node dist/scripts/generate-example-fleet.js [outDir]   (default: ./examples)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Document, isMap, isScalar, isSeq, visit, YAMLMap } from 'yaml';

type Zone = '1' | '2' | '3';
type PatchMode = 'AutomaticByPlatform' | 'AutomaticByOS' | 'Manual' | 'ImageDefault';
interface Image {
  publisher: string;
  offer: string;
  sku: string;
}

/** A machine as the fleet file spells it (see domain/fleet.ts). */
export interface ExampleMachine {
  name: string;
  region: string;
  zone?: Zone;
  availabilitySet?: string;
  updateDomain?: number;
  faultDomain?: number;
  os: 'Linux' | 'Windows';
  image: Image;
  patchMode: PatchMode;
  timeZone: string;
  maintenanceConfiguration?: string;
  tags: { service: string; env: string };
  simulation?: Record<string, boolean | number>;
}

export interface ExampleFleet {
  machines: ExampleMachine[];
  maintenanceConfigurations: Record<
    string,
    { startDateTime: string; duration: string; timeZone: string; recurEvery: string }
  >;
}

const IMAGES = {
  hotpatch: {
    publisher: 'MicrosoftWindowsServer',
    offer: 'WindowsServer',
    sku: '2022-datacenter-azure-edition-hotpatch',
  },
  hotpatchCore: {
    publisher: 'MicrosoftWindowsServer',
    offer: 'WindowsServer',
    sku: '2022-datacenter-azure-edition-core',
  },
  azureEdition: {
    publisher: 'MicrosoftWindowsServer',
    offer: 'WindowsServer',
    sku: '2022-datacenter-azure-edition',
  },
  ws2022: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter-g2' },
  ws2019: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2019-datacenter-gensecond' },
  sql2022: { publisher: 'MicrosoftSQLServer', offer: 'sql2022-ws2022', sku: 'enterprise-gen2' },
  ubuntu2204: { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2' },
  ubuntu2404: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server' },
  rhel9: { publisher: 'RedHat', offer: 'RHEL', sku: '9-lvm-gen2' },
} satisfies Record<string, Image>;

type ImageName = keyof typeof IMAGES;
const isWindows = (image: ImageName) =>
  ['hotpatch', 'hotpatchCore', 'azureEdition', 'ws2022', 'ws2019', 'sql2022'].includes(image);

interface RegionSpec {
  region: string;
  short: string;
  timeZone: string;
  /** Availability zones (domain/azure-regions.json): westus and australiasoutheast have none. */
  zones: boolean;
  /** The geo (one maintenance configuration per geo-pair). */
  geo: 'americas' | 'europe' | 'australia';
  images: { web: ImageName; api: ImageName; cache: ImageName; db: ImageName };
}

/** Three geo-pairs; the first region of each pair has zones. */
const REGIONS: RegionSpec[] = [
  {
    region: 'eastus',
    short: 'eus',
    timeZone: 'America/New_York',
    zones: true,
    geo: 'americas',
    images: { web: 'hotpatch', api: 'ubuntu2204', cache: 'ubuntu2204', db: 'sql2022' },
  },
  {
    region: 'westus',
    short: 'wus',
    timeZone: 'America/Los_Angeles',
    zones: false,
    geo: 'americas',
    images: { web: 'ws2019', api: 'ubuntu2204', cache: 'ubuntu2204', db: 'sql2022' },
  },
  {
    region: 'northeurope',
    short: 'neu',
    timeZone: 'Europe/Dublin',
    zones: true,
    geo: 'europe',
    images: { web: 'hotpatchCore', api: 'ubuntu2404', cache: 'rhel9', db: 'ubuntu2404' },
  },
  {
    region: 'westeurope',
    short: 'weu',
    timeZone: 'Europe/Amsterdam',
    zones: true,
    geo: 'europe',
    images: { web: 'azureEdition', api: 'ubuntu2404', cache: 'rhel9', db: 'ubuntu2404' },
  },
  {
    region: 'australiaeast',
    short: 'aue',
    timeZone: 'Australia/Sydney',
    zones: true,
    geo: 'australia',
    images: { web: 'hotpatch', api: 'rhel9', cache: 'ubuntu2204', db: 'sql2022' },
  },
  {
    region: 'australiasoutheast',
    short: 'ause',
    timeZone: 'Australia/Melbourne',
    zones: false,
    geo: 'australia',
    images: { web: 'ws2022', api: 'rhel9', cache: 'ubuntu2204', db: 'sql2022' },
  },
];

const GEO_TIME_ZONES: Record<RegionSpec['geo'], string> = {
  americas: 'America/New_York',
  europe: 'Europe/Dublin',
  australia: 'Australia/Sydney',
};

/**
 * The few machines set to fail, in four different regions so that no region loses more than one:
 * two fail for good (within a 5% error budget), two succeed on their second attempt.
 */
const FAULTS: Record<string, { simulation: Record<string, boolean | number>; note: string }> = {
  'weu-api-02': {
    simulation: { failInstall: true },
    note: 'every install fails (counts against the error budget)',
  },
  'aue-web-05': {
    simulation: { pendingPatches: 1 },
    note: 'the window "runs out" on the first attempt (patches Pending); the retry succeeds',
  },
  'wus-web-03': {
    simulation: { unhealthyAfterReboot: true },
    note: 'fails its health check after the reboot (counts against the error budget)',
  },
  'neu-cache-04': {
    simulation: { unreachable: 1 },
    note: 'unreachable on the first attempt; the retry succeeds',
  },
};

const pad = (n: number) => String(n).padStart(2, '0');

function regionMachines(spec: RegionSpec): ExampleMachine[] {
  const out: ExampleMachine[] = [];
  const add = (
    service: string,
    index: number,
    image: ImageName,
    placement: Pick<ExampleMachine, 'zone' | 'availabilitySet' | 'updateDomain' | 'faultDomain'>,
    patchMode: PatchMode = 'AutomaticByPlatform',
    env = 'prod',
  ) => {
    const name = `${spec.short}-${service}-${pad(index)}`;
    const machine: ExampleMachine = {
      name,
      region: spec.region,
      ...placement,
      os: isWindows(image) ? 'Windows' : 'Linux',
      image: IMAGES[image],
      patchMode,
      timeZone: spec.timeZone,
      tags: { service, env },
    };
    if (patchMode === 'Manual') machine.maintenanceConfiguration = `${spec.geo}-saturday-after-patch-tuesday`;
    const fault = FAULTS[name];
    if (fault) machine.simulation = fault.simulation;
    out.push(machine);
  };
  const zonal = (service: string, count: number, image: ImageName) => {
    for (let i = 0; i < count; i++) add(service, i + 1, image, { zone: String((i % 3) + 1) as Zone });
  };
  const availabilitySet = (service: string, count: number, image: ImageName) => {
    const set = `${spec.short}-${service}-avset`;
    for (let i = 0; i < count; i++)
      add(service, i + 1, image, { availabilitySet: set, updateDomain: i % 5, faultDomain: i % 2 });
  };

  if (spec.zones) {
    zonal('web', 9, spec.images.web);
    zonal('api', 9, spec.images.api);
    zonal('cache', 6, spec.images.cache);
    availabilitySet('db', 10, spec.images.db);
  } else {
    availabilitySet('web', 10, spec.images.web);
    availabilitySet('api', 10, spec.images.api);
  }
  // Standalone batch machines, staging: the patch modes Azure leaves to the OS or to the operator.
  add('batch', 1, 'rhel9', {}, 'AutomaticByPlatform', 'staging');
  add('batch', 2, 'ubuntu2204', {}, 'ImageDefault', 'staging');
  add('batch', 3, 'ws2022', {}, 'AutomaticByOS', 'staging');
  add('batch', 4, 'ws2019', {}, 'Manual', 'staging');
  return out;
}

export function buildExampleFleet(): ExampleFleet {
  const maintenanceConfigurations: ExampleFleet['maintenanceConfigurations'] = {};
  for (const geo of ['americas', 'europe', 'australia'] as const)
    maintenanceConfigurations[`${geo}-saturday-after-patch-tuesday`] = {
      startDateTime: '2025-01-01 01:00',
      duration: '03:55',
      timeZone: GEO_TIME_ZONES[geo],
      recurEvery: 'Month Second Tuesday Offset4',
    };
  return { machines: REGIONS.flatMap(regionMachines), maintenanceConfigurations };
}

export function buildDemoPolicy(): Record<string, unknown> {
  return {
    classifications: ['Critical', 'Security'],
    rebootSetting: 'IfRequired',
    windows: 'always',
    errorBudget: '5%',
    maxAttempts: 3,
    approvals: { beforePhases: [1], approvers: ['alice', 'bob'] },
    serviceCapacity: { tag: 'service', minAvailable: '50%' },
    simulationSpeed: 0.01,
  };
}

const FLEET_HEADER = `Offpeak example fleet: generated by scripts/generate-example-fleet.ts, do not edit by hand.

${'{COUNT}'} simulated machines in three Azure geo-pairs, which are never patched at the same time:
  eastus / westus, northeurope / westeurope, australiaeast / australiasoutheast.
westus and australiasoutheast have no availability zones: their web and api tiers sit in
availability sets (5 update domains, 2 fault domains). The other regions spread web, api and
cache over zones 1-3 and keep db in an availability set. Every region has 4 standalone batch
machines (env: staging) showing the other patch modes: ImageDefault and AutomaticByOS (left to
the OS) and Manual (patched only by its maintenance configuration or an on-demand run).
Windows web servers in eastus, northeurope and australiaeast run hotpatch-capable images
(Windows Server 2022 Azure Edition): no reboot in hotpatch months.

A few machines are set to fail (see "simulation"), spread over four regions; their comments say how.`;

const POLICY_HEADER = `Offpeak demo policy: generated by scripts/generate-example-fleet.ts, do not edit by hand.

Every window is open now, simulated durations run at 1/100 speed (a 3-minute install takes ~2 s),
failures beyond an error budget of 5% halt the rollout, no service loses more than half its
machines at once, and phase 1 (the second phase, after the canary) waits for alice or bob to approve.`;

function toYaml(value: unknown, header: string, decorate?: (doc: Document) => void): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  doc.commentBefore = header
    .split('\n')
    .map((line) => (line ? ` ${line}` : ''))
    .join('\n');
  decorate?.(doc);
  // Prettier's YAML style (the repository formats examples/ too): single quotes, `{ a: b }`, 110 columns.
  return doc.toString({ lineWidth: 0, singleQuote: true });
}

export function renderExampleFleet(fleet: ExampleFleet = buildExampleFleet()): string {
  const header = FLEET_HEADER.replace('{COUNT}', String(fleet.machines.length));
  return toYaml(fleet, header, (doc) => {
    const machines = doc.get('machines');
    if (!isSeq(machines)) return;
    for (const item of machines.items) {
      if (!isMap(item)) continue;
      // Small maps on one line where the line fits in 110 columns.
      for (const key of ['image', 'tags', 'simulation']) {
        const node = item.get(key, true);
        if (!(node instanceof YAMLMap)) continue;
        const inline = node.items.map((p) => `${String(p.key)}: ${String(p.value)}`).join(', ');
        node.flow = `    ${key}: { ${inline} }`.length <= 110;
      }
      const fault = FAULTS[String(item.get('name'))];
      if (fault) item.commentBefore = ` Fault: ${fault.note}.`;
    }
    // Quote times so that no YAML 1.1 reader takes 03:55 for a sexagesimal number.
    visit(doc.get('maintenanceConfigurations', true) as YAMLMap, {
      Pair(_key, pair) {
        if (isScalar(pair.value) && typeof pair.value.value === 'string' && /\d:\d/.test(pair.value.value))
          pair.value.type = 'QUOTE_SINGLE';
      },
    });
  });
}

export function renderDemoPolicy(): string {
  return toYaml(buildDemoPolicy(), POLICY_HEADER);
}

/** Writes both files into `outDir` and returns their paths. */
export function writeExamples(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    [path.join(outDir, 'fleet.yaml'), renderExampleFleet()],
    [path.join(outDir, 'policy-demo.yaml'), renderDemoPolicy()],
  ];
  for (const [file, text] of files) fs.writeFileSync(file, text, 'utf8');
  return files.map(([file]) => file);
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? 'examples');
  for (const file of writeExamples(outDir))
    console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
}
