import { ComputeManagementClient } from '@azure/arm-compute';
import { HybridComputeManagementClient } from '@azure/arm-hybridcompute';
import type { TokenCredential } from '@azure/core-auth';
import { getClient, type Client } from '@azure-rest/core-client';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** Arc machines' patch operations: this API version of Microsoft.HybridCompute has them (Machine_InstallPatches.json). */
export const ARC_API_VERSION = '2024-07-10';

export interface ArmOptions {
  credential: TokenCredential;
  /** The ARM endpoint: Azure's public cloud by default, a sovereign cloud, or the test emulator. */
  endpoint: string;
  /** The token scope; Azure's public cloud by default. */
  scope: string;
  /** A request that gets no answer in this long is abandoned (and retried where that is safe). */
  requestTimeoutMs: number;
  /** The SDK's own retries of 429 (after Retry-After), 5xx and connection errors. */
  retry: { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number };
  /** Extra trusted CA certificates (PEM), for an ARM endpoint behind a private CA. */
  ca?: string;
}

/** The SDK clients of one subscription: VMs (arm-compute), Arc machines (arm-hybridcompute) and ARM paths the Arc SDK lacks. */
export interface ArmClients {
  compute: ComputeManagementClient;
  hybrid: HybridComputeManagementClient;
  arm: Client;
}

function timeoutPolicy(ms: number): PipelinePolicy {
  return {
    name: 'offpeakRequestTimeout',
    sendRequest: (request, next) => {
      if (!request.timeout) request.timeout = ms;
      return next(request);
    },
  };
}

/** The pipeline options every client shares: endpoint, retries, the request timeout, extra CAs. */
export function armClientOptions(o: ArmOptions) {
  return {
    endpoint: o.endpoint,
    retryOptions: o.retry,
    additionalPolicies: [{ policy: timeoutPolicy(o.requestTimeoutMs), position: 'perCall' as const }],
    ...(o.ca ? { tlsOptions: { ca: o.ca } } : {}),
  };
}

export function createArmClients(subscriptionId: string, o: ArmOptions): ArmClients {
  const common = armClientOptions(o);
  return {
    compute: new ComputeManagementClient(o.credential, subscriptionId, {
      ...common,
      credentials: { scopes: [o.scope] },
    }),
    hybrid: new HybridComputeManagementClient(o.credential, subscriptionId, {
      ...common,
      credentialScopes: [o.scope],
      apiVersion: ARC_API_VERSION,
    }),
    arm: getClient(o.endpoint, o.credential, { ...common, credentials: { scopes: [o.scope] } }),
  };
}
