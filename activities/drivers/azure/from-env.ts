import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import type { Problem } from '../../../domain/problems';
import { AzureDriver } from './driver';

/** Problems with the worker's Azure settings (its environment), as `path: message`. */
export function azureEnvProblems(env: NodeJS.ProcessEnv = process.env): Problem[] {
  const endpoint = env.OFFPEAK_AZURE_ENDPOINT;
  if (endpoint !== undefined && !/^https:\/\/[^\s/]+\/?$/.test(endpoint))
    return [
      {
        path: 'OFFPEAK_AZURE_ENDPOINT',
        message: `must be an https:// origin such as https://management.azure.com, not "${endpoint}"`,
      },
    ];
  return [];
}

/**
 * The worker's azure driver, configured from its environment only: credentials come from
 * DefaultAzureCredential (managed identity, workload identity, AZURE_* variables, `az login`), never
 * from the fleet or a workflow history. OFFPEAK_AZURE_ENDPOINT points at another ARM endpoint (a
 * sovereign cloud, or the test emulator), OFFPEAK_AZURE_SCOPE at its token scope. Nothing is contacted
 * until a machine with `driver: azure` is patched.
 */
export function azureDriverFromEnv(env: NodeJS.ProcessEnv = process.env): AzureDriver {
  return new AzureDriver(azureConnectionFromEnv(env));
}

/** The credential, ARM endpoint and token scope from the environment, as the worker and the live import use them. */
export function azureConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): {
  credential: TokenCredential;
  endpoint?: string;
  scope?: string;
} {
  const endpoint = env.OFFPEAK_AZURE_ENDPOINT?.replace(/\/+$/, '');
  return {
    credential: new DefaultAzureCredential(),
    ...(endpoint ? { endpoint } : {}),
    ...(env.OFFPEAK_AZURE_SCOPE ? { scope: env.OFFPEAK_AZURE_SCOPE } : {}),
  };
}
