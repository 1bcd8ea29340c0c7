import { loadClientConfigProfile, loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { defaultDbFile, startDevServer, type DevServer } from './dev-server';

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions;
  namespace: string;
  /** The embedded dev server when no cluster was configured; stop it when done. */
  devServer?: DevServer;
  uiUrl?: string;
}

/**
 * Where to find Temporal. TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings or a
 * profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) point Offpeak at any cluster or Temporal Cloud.
 * With no address configured, local commands start (or reuse) the embedded dev server.
 */
export function configuredAddress(): string | undefined {
  try {
    return loadClientConfigProfile().address;
  } catch {
    return process.env.TEMPORAL_ADDRESS;
  }
}

export async function resolveTemporal(options: {
  embedded: boolean;
  log?: (line: string) => void;
}): Promise<TemporalTarget> {
  if (configuredAddress()) {
    const { connectionOptions, namespace } = loadClientConnectConfig();
    const uiUrl = process.env.TEMPORAL_UI_URL;
    return { connectionOptions, namespace: namespace ?? 'default', uiUrl };
  }
  if (!options.embedded)
    return {
      connectionOptions: { address: '127.0.0.1:7233' },
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
    };
  const devServer = await startDevServer({ dbFile: defaultDbFile(), log: options.log });
  return {
    connectionOptions: { address: devServer.address },
    namespace: devServer.namespace,
    devServer,
    uiUrl: devServer.uiUrl,
  };
}

export function workflowUiUrl(
  uiUrl: string | undefined,
  namespace: string,
  workflowId: string,
): string | undefined {
  return uiUrl
    ? `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`
    : undefined;
}
