import { SUBSCRIPTION_ID } from './azure-resource';
import type { Parsed, Problem } from './problems';

/**
 * The one Azure Resource Graph query of Offpeak's live import (`offpeak fleet import --from azure`),
 * documented in docs/operations.md. It selects Azure VMs and Arc-enabled servers and projects the
 * columns `importAzureResourceGraph` reads, the same for both kinds: Arc machines have no zones, sets,
 * image or time zone, and keep their OS in `properties.osType`. Rows are ordered by `id`, which Resource
 * Graph needs to page (`$skipToken`) in a stable order. The update and fault domains are not in Resource
 * Graph; the import reads them from the instance view of each VM in an availability set.
 */
export const INVENTORY_QUERY = `Resources
| where type =~ 'microsoft.compute/virtualmachines' or type =~ 'microsoft.hybridcompute/machines'
| project id, name, type, location, resourceGroup, subscriptionId, zones, tags,
    availabilitySetId = tostring(properties.availabilitySet.id),
    osType = tostring(coalesce(properties.storageProfile.osDisk.osType, properties.osType)),
    imageReference = properties.storageProfile.imageReference,
    windowsPatchMode = tostring(properties.osProfile.windowsConfiguration.patchSettings.patchMode),
    linuxPatchMode = tostring(properties.osProfile.linuxConfiguration.patchSettings.patchMode),
    timeZone = tostring(properties.osProfile.windowsConfiguration.timeZone),
    powerState = tostring(properties.extended.instanceView.powerState.code)`;

export interface TagFilter {
  key: string;
  value: string;
}

export interface InventoryScope {
  /** Subscription IDs, in lower case, each once. */
  subscriptions: string[];
  resourceGroup?: string;
  /** Every one must match (tag names as Azure stores them; values compared without case). */
  tags: TagFilter[];
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;

/** A KQL string literal: single quotes, with backslash and quote escaped. */
function kql(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The query for a scope: INVENTORY_QUERY with the resource group and tag filters before its projection. */
export function inventoryQuery(scope: Pick<InventoryScope, 'resourceGroup' | 'tags'>): string {
  const filters = [
    ...(scope.resourceGroup !== undefined ? [`| where resourceGroup =~ ${kql(scope.resourceGroup)}`] : []),
    ...scope.tags.map((t) => `| where tostring(tags[${kql(t.key)}]) =~ ${kql(t.value)}`),
  ];
  const [from, where, ...rest] = INVENTORY_QUERY.split('\n');
  return [from, where, ...filters, ...rest, '| order by id asc'].join('\n');
}

/** The command line's scope (`--subscription`, `--resource-group`, `--tag key=value`), checked. */
export function parseInventoryScope(input: {
  subscriptions: readonly string[];
  resourceGroup?: string;
  tags: readonly string[];
}): Parsed<InventoryScope> {
  const problems: Problem[] = [];
  if (input.subscriptions.length === 0)
    problems.push({ path: '--subscription', message: 'name at least one subscription ID' });
  for (const s of input.subscriptions)
    if (!SUBSCRIPTION_ID.test(s))
      problems.push({ path: '--subscription', message: `"${s}" is not a subscription ID (a GUID)` });
  if (input.resourceGroup !== undefined && !RESOURCE_GROUP.test(input.resourceGroup))
    problems.push({
      path: '--resource-group',
      message: `"${input.resourceGroup}" is not a resource group name (1-90 letters, digits, ".", "_", "-", "(", ")")`,
    });
  const tags: TagFilter[] = [];
  for (const t of input.tags) {
    const eq = t.indexOf('=');
    const key = eq > 0 ? t.slice(0, eq) : '';
    if (!key || CONTROL.test(t)) problems.push({ path: '--tag', message: `"${t}" is not key=value` });
    else tags.push({ key, value: t.slice(eq + 1) });
  }
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    value: {
      subscriptions: [...new Set(input.subscriptions.map((s) => s.toLowerCase()))],
      ...(input.resourceGroup !== undefined ? { resourceGroup: input.resourceGroup } : {}),
      tags,
    },
  };
}
