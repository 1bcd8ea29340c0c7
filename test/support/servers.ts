import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findServerBinary } from '../../servers/binaries';
import { registerSearchAttributes } from '../../servers/search-attributes';
import { startDevServer, type DevServer } from '../../servers/dev-server';
import { createServer } from 'node:net';
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A real dev server on free ports with in-memory state, for end-to-end tests. */
export async function testDevServer(): Promise<DevServer> {
  return startDevServer({ port: await freePort(), uiPort: await freePort() });
}

/** The workflow bundle built once by Jest's global setup. */
export function testWorkflowBundle(): { codePath: string } {
  return {
    codePath: join(__dirname, '..', '..', '.offpeak', 'test-bundle', 'workflows.js'),
  };
}
