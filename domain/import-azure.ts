import { AZURE_MACHINE_TYPES, parseAzureResourceId } from './azure-resource';
import { PATCH_MODES, type PatchMode } from './fleet';
import type { Problem } from './problems';

/**
 * Converts the JSON output of an Azure Resource Graph query over virtual machines into an Offpeak fleet
 * document. Pure: the caller reads the file and validates the result with `parseFleet`.
 *
 * Accepted input: the output of `az graph query -q ... -o json` (`{ "data": [...] }`), or a plain array
 * of rows (`Search-AzGraph`, the portal's export). A row may be the projection documented in
 * docs/operations.md (flat columns) or a whole `Resources` row with its `properties` object; both are read.
 *
 * What Resource Graph does not return: the platform update and fault domains. They live only in the VM's
 * instance view (`az vm get-instance-view` → `instanceView.platformUpdateDomain`/`platformFaultDomain`);
 * `properties.extended.instanceView` in Resource Graph carries the power state and OS name, not them.
 * A row may carry them as the columns `platformUpdateDomain`/`platformFaultDomain` (merged by the user),
 * or under `instanceView` (an `az vm show -d`/instance-view document); otherwise they are left out, and the
 * planner patches such a set's machines one per set per step, after any machines with a known domain
 * (docs/planner.md), which is slower but never unsafe.
 */

export interface AzureImport {
  /** A fleet document, to be validated by `parseFleet`. */
  fleet: { machines: Array<Record<string, unknown>> };
  /** Things the user should know but that do not stop the import. */
  warnings: string[];
  /** Rows that cannot become machines. */
  problems: Problem[];
}

type Row = Record<string, unknown>;

/** The resource types imported: Azure VMs and Arc-enabled servers, both patched by the azure driver. */
const MACHINE_TYPES = Object.values(AZURE_MACHINE_TYPES).map((t) => t.toLowerCase());

function obj(v: unknown): Row | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function int(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

/** Reads a dotted path, e.g. `properties.storageProfile.osDisk.osType`. */
function at(row: Row, path: string): unknown {
  let cur: unknown = row;
  for (const key of path.split('.')) cur = obj(cur)?.[key];
  return cur;
}

/** The first defined value among a flat column and the paths inside a whole resource row. */
function pick<T>(row: Row, read: (v: unknown) => T | undefined, ...paths: string[]): T | undefined {
  for (const path of paths) {
    const v = read(at(row, path));
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Rows of `az graph query` output (`{data: [...]}`, or `{data: {rows}}` of old versions) or a plain array. */
export function resourceGraphRows(doc: unknown): Row[] | undefined {
  if (Array.isArray(doc)) return doc as Row[];
  const data = obj(doc)?.data;
  if (Array.isArray(data)) return data as Row[];
  return undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function importAzureResourceGraph(doc: unknown): AzureImport {
  const warnings: string[] = [];
  const problems: Problem[] = [];
  const rows = resourceGraphRows(doc);
  if (!rows)
    return {
      fleet: { machines: [] },
      warnings,
      problems: [
        {
          path: '',
          message: 'expected the JSON output of `az graph query` ({"data": [...]}) or an array of rows',
        },
      ],
    };

  const machines: Array<Record<string, unknown> & { name: string }> = [];
  const resourceGroups: Array<string | undefined> = [];
  rows.forEach((raw, i) => {
    const path = `data[${i}]`;
    const row = obj(raw);
    if (!row) {
      problems.push({ path, message: 'is not an object' });
      return;
    }
    const type = str(row.type);
    if (type && !MACHINE_TYPES.includes(type.toLowerCase())) {
      warnings.push(`${path}: skipped a ${type} (only virtual machines and Arc machines are imported)`);
      return;
    }
    const name = pick(row, str, 'name');
    if (!name || !NAME.test(name)) {
      problems.push({
        path: `${path}.name`,
        message: name ? `"${name}" is not a usable machine name` : 'is missing',
      });
      return;
    }
    const region = pick(row, str, 'location');
    // VMs name the OS in their OS disk, Arc machines in properties.osType (in lower case).
    const osRaw = pick(row, str, 'osType', 'properties.storageProfile.osDisk.osType', 'properties.osType');
    const os =
      osRaw && /^(linux|windows)$/i.test(osRaw)
        ? osRaw[0].toUpperCase() + osRaw.slice(1).toLowerCase()
        : osRaw;
    if (!region) problems.push({ path: `${path}.location`, message: 'is missing' });
    if (os !== 'Linux' && os !== 'Windows')
      problems.push({
        path: `${path}.osType`,
        message: os ? `unknown OS type "${os}"` : 'is missing (properties.storageProfile.osDisk.osType)',
      });
    if (!region || (os !== 'Linux' && os !== 'Windows')) return;

    const machine: Record<string, unknown> & { name: string } = { name, region: region.toLowerCase(), os };

    // The azure driver patches the machine through Azure by its resource ID: never a silent simulation.
    const id = pick(row, str, 'id');
    const resource = id ? parseAzureResourceId(id) : undefined;
    if (resource?.ok) {
      machine.azure = { resourceId: id };
      machine.subscription = resource.value.subscriptionId.toLowerCase();
    } else
      problems.push({
        path: `${path}.id`,
        message:
          resource && !resource.ok
            ? resource.message
            : 'is missing: add `id` to the query (docs/operations.md); the azure driver needs the resource ID',
      });
    machine.driver = 'azure';

    const zones = row.zones;
    const zone = Array.isArray(zones) ? str(zones[0]) : str(zones);
    if (Array.isArray(zones) && zones.length > 1)
      warnings.push(`${name}: several zones ${JSON.stringify(zones)}; kept the first`);
    if (zone) machine.zone = zone;

    const setId = pick(row, str, 'availabilitySetId', 'properties.availabilitySet.id');
    const resourceGroup =
      pick(row, str, 'resourceGroup')?.toLowerCase() ?? setId?.split('/')[4]?.toLowerCase();
    if (setId) {
      const parts = setId.split('/');
      // /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/availabilitySets/<name>: sets are
      // scoped to their resource group, and Azure returns their IDs in varying case.
      machine.availabilitySet = `${parts[4] ?? ''}/${parts[parts.length - 1]}`
        .toLowerCase()
        .replace(/^\//, '');
      const ud = pick(
        row,
        int,
        'platformUpdateDomain',
        'instanceView.platformUpdateDomain',
        'properties.instanceView.platformUpdateDomain',
      );
      const fd = pick(
        row,
        int,
        'platformFaultDomain',
        'instanceView.platformFaultDomain',
        'properties.instanceView.platformFaultDomain',
      );
      if (ud !== undefined) machine.updateDomain = ud;
      else
        warnings.push(
          `${name}: availability set without its update domain (not in Resource Graph; see docs/operations.md)`,
        );
      if (fd !== undefined) machine.faultDomain = fd;
    }

    const image = obj(pick(row, obj, 'imageReference', 'properties.storageProfile.imageReference'));
    const publisher = str(image?.publisher);
    const offer = str(image?.offer);
    const sku = str(image?.sku);
    if (publisher && offer && sku) machine.image = { publisher, offer, sku };

    const patchMode = pick(
      row,
      str,
      'patchMode',
      os === 'Windows' ? 'windowsPatchMode' : 'linuxPatchMode',
      os === 'Windows'
        ? 'properties.osProfile.windowsConfiguration.patchSettings.patchMode'
        : 'properties.osProfile.linuxConfiguration.patchSettings.patchMode',
    );
    if (patchMode) {
      const known = PATCH_MODES.find((m) => m.toLowerCase() === patchMode.toLowerCase());
      if (known) machine.patchMode = known satisfies PatchMode;
      else problems.push({ path: `${path}.patchMode`, message: `unknown patch mode "${patchMode}"` });
    }

    const timeZone = pick(row, str, 'timeZone', 'properties.osProfile.windowsConfiguration.timeZone');
    if (timeZone) machine.timeZone = timeZone;

    const tags = obj(row.tags);
    if (tags) {
      const kept = Object.fromEntries(Object.entries(tags).filter(([, v]) => typeof v === 'string'));
      if (Object.keys(kept).length) machine.tags = kept;
    }

    const power = pick(row, str, 'powerState', 'properties.extended.instanceView.powerState.code');
    if (power && !/running$/i.test(power))
      warnings.push(`${name}: power state ${power}; it is imported and will be assessed when it runs`);

    machines.push(machine);
    resourceGroups.push(resourceGroup);
  });

  // Names are unique per resource group in Azure, not per fleet: qualify the clashes with their group.
  const count = new Map<string, number>();
  for (const m of machines) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  machines.forEach((m, i) => {
    if ((count.get(m.name) ?? 0) > 1 && resourceGroups[i]) {
      const qualified = `${resourceGroups[i]}.${m.name}`;
      warnings.push(`${m.name}: the name is used in several resource groups; imported as ${qualified}`);
      m.name = qualified;
    }
  });
  const linuxWithoutZone = machines.filter((m) => m.timeZone === undefined).length;
  if (linuxWithoutZone)
    warnings.push(
      `${linuxWithoutZone} machine(s) without a time zone in Azure (Linux VMs never carry one, Windows VMs only when set at creation): their off-peak hours are in UTC until you set timeZone`,
    );

  return { fleet: { machines }, warnings, problems };
}
