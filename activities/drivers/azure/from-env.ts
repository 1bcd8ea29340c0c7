import { DefaultAzureCredential } from '@azure/identity';
import { AzureDriver } from './driver';

/**
 * The worker's azure driver, configured from its environment only: credentials come from
 * DefaultAzureCredential (managed identity, workload identity, AZURE_* variables, `az login`), never
 * from the fleet or a workflow history. OFFPEAK_AZURE_ENDPOINT points at another ARM endpoint (a
 * sovereign cloud, or the test emulator), OFFPEAK_AZURE_SCOPE at its token scope.
 */
export function azureDriverFromEnv(env: NodeJS.ProcessEnv = process.env): AzureDriver {
  const endpoint = env.OFFPEAK_AZURE_ENDPOINT?.replace(/\/+$/, '');
  if (endpoint !== undefined && !/^https:\/\/[^\s/]+$/.test(endpoint))
    throw new Error(
      `OFFPEAK_AZURE_ENDPOINT: must be an https:// origin such as https://management.azure.com, not "${endpoint}"`,
    );
  return new AzureDriver({
    credential: new DefaultAzureCredential(),
    ...(endpoint ? { endpoint } : {}),
    ...(env.OFFPEAK_AZURE_SCOPE ? { scope: env.OFFPEAK_AZURE_SCOPE } : {}),
  });
}
