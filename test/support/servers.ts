import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findServerBinary } from '../../servers/binaries';
import { registerSearchAttributes } from '../../servers/search-attributes';
import { freePort, startDevServerOnFreePorts, type DevServer } from '../../servers/dev-server';
import { join } from 'node:path';

/** The Java time-skipping test server, from the binary our setup installed (or the SDK's download). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const found = findServerBinary('testServer', { install: false });
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    found.source === 'sdk-download'
      ? {}
      : { server: { executable: { type: 'existing-path', path: found.path } } },
  );
  await registerSearchAttributes(env.connection.operatorService, env.namespace ?? 'default');
  return env;
}

export { freePort };

/** A real dev server on free ports with in-memory state, for end-to-end tests (started again on a port race). */
export async function testDevServer(): Promise<DevServer> {
  return startDevServerOnFreePorts();
}

/** The workflow bundle built once by Jest's global setup. */
export function testWorkflowBundle(): { codePath: string } {
  return {
    codePath: join(__dirname, '..', '..', '.offpeak', 'test-bundle', 'workflows.js'),
  };
}
