import { z } from 'zod';

/**
 * The Azure resources the `azure` driver patches, keyed by their ARM resource type. One list: the fleet
 * schema, the import and the driver all read it.
 */
export const AZURE_MACHINE_TYPES = {
  vm: 'Microsoft.Compute/virtualMachines',
  arc: 'Microsoft.HybridCompute/machines',
} as const;
export type AzureMachineKind = keyof typeof AZURE_MACHINE_TYPES;

export interface AzureResource {
  kind: AzureMachineKind;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** The ID as given, for messages and the API path. */
  id: string;
}

/** An Azure subscription ID: a GUID (Azure writes it in lower case; compared without case). */
export const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// /subscriptions/{uuid}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}. Resource group names
// are 1-90 characters of letters, digits, ".", "_", "-", "(" and ")", not ending in "."; ARM compares
// the segment names case-insensitively.
const ID =
  /^\/subscriptions\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\/resourceGroups\/([-\w.()]{0,89}[-\w()])\/providers\/([A-Za-z.]+\/[A-Za-z]+)\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/i;

/** Parses a VM or Arc machine resource ID; the error names what is wrong with it. */
export function parseAzureResourceId(
  id: string,
): { ok: true; value: AzureResource } | { ok: false; message: string } {
  const m = ID.exec(id);
  if (!m)
    return {
      ok: false,
      message:
        'must be an Azure resource ID: /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name> (or .../Microsoft.HybridCompute/machines/<name>)',
    };
  const type = m[3].toLowerCase();
  const kind = (Object.keys(AZURE_MACHINE_TYPES) as AzureMachineKind[]).find(
    (k) => AZURE_MACHINE_TYPES[k].toLowerCase() === type,
  );
  if (!kind)
    return {
      ok: false,
      message: `"${m[3]}" is not a machine the azure driver patches: use ${Object.values(AZURE_MACHINE_TYPES).join(' or ')}`,
    };
  return { ok: true, value: { kind, subscriptionId: m[1], resourceGroup: m[2], name: m[4], id } };
}

/** The fleet's `azure` settings of a machine: which resource it is. Credentials never appear here. */
export const azureSettingsSchema = z
  .object({
    resourceId: z.string().superRefine((id, ctx) => {
      const parsed = parseAzureResourceId(id);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    }),
  })
  .strict();
export type AzureSettings = z.infer<typeof azureSettingsSchema>;
