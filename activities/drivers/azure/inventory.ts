import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import { isRestError } from '@azure/core-rest-pipeline';
import { inventoryQuery, type InventoryScope } from '../../../domain/azure-inventory-query';
import { parseAzureResourceId } from '../../../domain/azure-resource';
import { type ArmOptions, armClientOptions, createArmClients } from './clients';
import { missingAction } from './errors';

/**
 * The live inventory of `offpeak fleet import --from azure`: Offpeak's Resource Graph query
 * (domain/azure-inventory-query.ts) over the named subscriptions, every page (`$skipToken`), then the
 * instance view of each VM in an availability set for its platform update and fault domains, which
 * Resource Graph does not carry. The rows go to `importAzureResourceGraph` as a file import's would.
 */

export type InventoryRow = Record<string, unknown>;

export interface InventoryOptions extends Partial<Omit<ArmOptions, 'credential'>> {
  credential: ArmOptions['credential'];
  /** What to read: subscriptions, resource group, tags. */
  inventory: InventoryScope;
  /** Rows per page (`$top`), at most 1000 (Resource Graph's limit); default 1000. */
  pageSize?: number;
  /** Instance views read at once; default 8. */
  concurrency?: number;
}

export interface Inventory {
  rows: InventoryRow[];
  pages: number;
  /** Instance views read (VMs in availability sets). */
  instanceViews: number;
  warnings: string[];
}

/** Resource Graph takes at most this many subscriptions in one request. */
const SUBSCRIPTIONS_PER_REQUEST = 1000;
/** A guard against a service that never stops paging. */
const MAX_PAGES = 100_000;

/** A failure of the import, worded for the operator (the CLI prints it, exit 1). */
export class InventoryError extends Error {
  override name = 'InventoryError';
}

function explain(err: unknown, action: string): InventoryError {
  const message = err instanceof Error ? err.message : String(err);
  if (isRestError(err) && (err.statusCode === 401 || err.statusCode === 403)) {
    const named = missingAction(message) ?? action;
    return new InventoryError(
      `Azure refused ${named} (${err.statusCode} ${err.code ?? ''}): grant the importing identity Reader on the subscriptions (docs/operations.md)`,
    );
  }
  const status = isRestError(err) ? ` (${err.statusCode ?? 'no answer'} ${err.code ?? ''})` : '';
  return new InventoryError(`${action} failed${status}: ${message}`);
}

export async function readAzureInventory(o: InventoryOptions): Promise<Inventory> {
  const arm: ArmOptions = {
    credential: o.credential,
    endpoint: o.endpoint ?? 'https://management.azure.com',
    scope: o.scope ?? 'https://management.azure.com/.default',
    requestTimeoutMs: o.requestTimeoutMs ?? 60_000,
    retry: o.retry ?? { maxRetries: 4, retryDelayInMs: 2_000, maxRetryDelayInMs: 60_000 },
    ...(o.ca ? { ca: o.ca } : {}),
  };
  const graph = new ResourceGraphClient(arm.credential, {
    ...armClientOptions(arm),
    credentials: { scopes: [arm.scope] },
  });
  const query = inventoryQuery(o.inventory);
  const top = Math.min(Math.max(1, o.pageSize ?? 1000), 1000);
  const rows: InventoryRow[] = [];
  const warnings: string[] = [];
  let pages = 0;
  for (let i = 0; i < o.inventory.subscriptions.length; i += SUBSCRIPTIONS_PER_REQUEST) {
    const subscriptions = o.inventory.subscriptions.slice(i, i + SUBSCRIPTIONS_PER_REQUEST);
    let skipToken: string | undefined;
    do {
      if (++pages > MAX_PAGES) throw new InventoryError(`Resource Graph kept paging past ${MAX_PAGES} pages`);
      const page = await graph
        .resources({ subscriptions, query, options: skipToken ? { skipToken } : { top, skip: 0 } })
        .catch((err: unknown) => {
          throw explain(err, 'Microsoft.ResourceGraph/resources/read');
        });
      if (!Array.isArray(page.data))
        throw new InventoryError('Resource Graph answered rows that are not an array of objects');
      rows.push(...(page.data as InventoryRow[]));
      skipToken = page.skipToken;
    } while (skipToken);
  }

  const inSets = rows.filter(
    (r) =>
      typeof r.availabilitySetId === 'string' &&
      r.availabilitySetId !== '' &&
      String(r.type).toLowerCase() === 'microsoft.compute/virtualmachines',
  );
  const clients = new Map<string, ReturnType<typeof createArmClients>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inSets.length) {
      const row = inSets[next++];
      const parsed = parseAzureResourceId(String(row.id));
      if (!parsed.ok) continue; // the converter reports the ID
      const r = parsed.value;
      let c = clients.get(r.subscriptionId);
      if (!c) clients.set(r.subscriptionId, (c = createArmClients(r.subscriptionId, arm)));
      try {
        const view = await c.compute.virtualMachines.instanceView(r.resourceGroup, r.name);
        if (view.platformUpdateDomain !== undefined) row.platformUpdateDomain = view.platformUpdateDomain;
        if (view.platformFaultDomain !== undefined) row.platformFaultDomain = view.platformFaultDomain;
      } catch (err) {
        warnings.push(
          `${r.name}: ${explain(err, 'Microsoft.Compute/virtualMachines/instanceView/read').message}; its update domain stays unknown`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, worker));
  return { rows, pages, instanceViews: inSets.length, warnings };
}
