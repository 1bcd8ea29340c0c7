import { createHash } from 'node:crypto';
import { INVENTORY_QUERY } from '../../../domain/azure-inventory-query';
import type { MachineState } from './server';

/**
 * The emulator's Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` (api-version
 * 2024-04-01, the version @azure/arm-resourcegraph 5 calls). Request and response bodies follow
 * ResourcesFirstPageQuery.json and ResourcesNextPageQuery.json (specification/resourcegraph/
 * resource-manager/Microsoft.ResourceGraph/ResourceGraph/ResourceGraphApi/examples/2024-04-01/):
 * `{subscriptions, query, options: {$top, $skip, $skipToken}}` in, `{totalRecords, count,
 * resultTruncated, facets, data, $skipToken}` out, `$skipToken` present while pages remain. The rows
 * are those of Offpeak's own query (domain/azure-inventory-query.ts) over the emulated machines, with
 * its resource group and tag filters applied and Resource Graph's conventions kept: types and resource
 * groups in lower case, `tostring()` of a missing value is "", `zones` null outside a zone. Any other
 * query is refused (400), so a change to the query shows here first.
 */

export const RESOURCE_GRAPH_PATH = '/providers/Microsoft.ResourceGraph/resources';
export const RESOURCE_GRAPH_API_VERSION = '2024-04-01';
/** Resource Graph's page size when the request sets no `$top` (its documented default). */
const DEFAULT_TOP = 100;

interface QueryBody {
  subscriptions?: unknown;
  query?: unknown;
  options?: { $top?: unknown; $skip?: unknown; $skipToken?: unknown };
}

export type GraphAnswer = { status: number; body: unknown };

const badRequest = (message: string): GraphAnswer => ({
  status: 400,
  body: { error: { code: 'BadRequest', message } },
});

/** The KQL string literal's text ('...' with backslash escapes). */
function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** The filters Offpeak's query adds before its projection; undefined when the query is not Offpeak's. */
function filtersOf(query: string): Array<(m: MachineState) => boolean> | undefined {
  const lines = query.split('\n');
  const base = INVENTORY_QUERY.split('\n');
  if (lines[0] !== base[0] || lines[1] !== base[1] || lines.at(-1) !== '| order by id asc') return undefined;
  const filters: Array<(m: MachineState) => boolean> = [];
  let k = 2;
  const STRING = "'(?:[^'\\\\]|\\\\.)*'";
  for (; k < lines.length && lines[k].startsWith('| where '); k++) {
    const rg = new RegExp(`^\\| where resourceGroup =~ (${STRING})$`).exec(lines[k]);
    const tag = new RegExp(`^\\| where tostring\\(tags\\[(${STRING})\\]\\) =~ (${STRING})$`).exec(lines[k]);
    if (rg) {
      const want = unquote(rg[1]).toLowerCase();
      filters.push((m) => resourceGroupOf(m) === want);
    } else if (tag) {
      const key = unquote(tag[1]);
      const value = unquote(tag[2]).toLowerCase();
      filters.push((m) => (m.tags?.[key] ?? '').toLowerCase() === value);
    } else return undefined;
  }
  if (lines.slice(k, -1).join('\n') !== base.slice(2).join('\n')) return undefined;
  return filters;
}

const resourceGroupOf = (m: MachineState): string => m.resourceId.split('/')[4].toLowerCase();

/** One projected row, as Resource Graph returns it for INVENTORY_QUERY. */
function rowOf(m: MachineState): Record<string, unknown> {
  const parts = m.resourceId.split('/');
  const vm = m.kind === 'vm';
  const mode = m.patchMode ?? 'AutomaticByPlatform';
  return {
    id: m.resourceId,
    name: parts[8],
    type: vm ? 'microsoft.compute/virtualmachines' : 'microsoft.hybridcompute/machines',
    location: m.location ?? 'eastus',
    resourceGroup: resourceGroupOf(m),
    subscriptionId: m.subscriptionId,
    zones: vm && m.zone ? [m.zone] : null,
    tags: m.tags ?? {},
    availabilitySetId:
      vm && m.availabilitySet
        ? `/subscriptions/${m.subscriptionId}/resourceGroups/${parts[4].toUpperCase()}/providers/Microsoft.Compute/availabilitySets/${m.availabilitySet.toUpperCase()}`
        : '',
    // VMs: properties.storageProfile.osDisk.osType ("Linux"); Arc: properties.osType ("linux").
    osType: vm ? m.os : m.os.toLowerCase(),
    imageReference: vm && m.image ? { ...m.image, version: 'latest' } : null,
    windowsPatchMode: m.os === 'Windows' ? mode : '',
    linuxPatchMode: m.os === 'Linux' ? mode : '',
    timeZone: vm && m.os === 'Windows' ? (m.timeZone ?? '') : '',
    powerState: vm ? `PowerState/${m.power}` : '',
  };
}

/** The answer to one query request over the emulated machines. */
export function resourceGraphAnswer(body: unknown, machines: Iterable<MachineState>): GraphAnswer {
  const request = (body ?? {}) as QueryBody;
  if (typeof request.query !== 'string') return badRequest('query: is required');
  if (
    !Array.isArray(request.subscriptions) ||
    request.subscriptions.length === 0 ||
    !request.subscriptions.every((s) => typeof s === 'string')
  )
    return badRequest('subscriptions: name the subscriptions to query');
  const filters = filtersOf(request.query);
  if (!filters)
    return badRequest(`the emulator answers only Offpeak's inventory query, not: ${request.query}`);
  const scope = new Set((request.subscriptions as string[]).map((s) => s.toLowerCase()));
  const rows = [...machines]
    .filter((m) => scope.has(m.subscriptionId.toLowerCase()) && filters.every((f) => f(m)))
    .map(rowOf)
    .sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : 1));

  const digest = createHash('sha256')
    .update(JSON.stringify([request.query, [...scope]]))
    .digest('hex')
    .slice(0, 16);
  const options = request.options ?? {};
  let skip = typeof options.$skip === 'number' ? options.$skip : 0;
  let top = typeof options.$top === 'number' ? options.$top : DEFAULT_TOP;
  if (!Number.isInteger(top) || top < 1 || top > 1000) return badRequest('options.$top: must be 1 to 1000');
  if (options.$skipToken !== undefined) {
    // Opaque to the client; here base64 of the next offset, page size and the query it belongs to.
    let token: { skip?: unknown; top?: unknown; query?: unknown };
    try {
      token = JSON.parse(Buffer.from(String(options.$skipToken), 'base64').toString('utf8'));
    } catch {
      return badRequest('options.$skipToken: is not a token this service issued');
    }
    if (token.query !== digest || typeof token.skip !== 'number' || typeof token.top !== 'number')
      return badRequest('options.$skipToken: belongs to another query or scope');
    skip = token.skip;
    if (options.$top === undefined) top = token.top;
  }
  const page = rows.slice(skip, skip + top);
  const next = skip + page.length;
  return {
    status: 200,
    body: {
      totalRecords: rows.length,
      count: page.length,
      resultTruncated: 'false',
      facets: [],
      data: page,
      ...(next < rows.length
        ? {
            $skipToken: Buffer.from(JSON.stringify({ skip: next, top, query: digest })).toString('base64'),
          }
        : {}),
    },
  };
}
