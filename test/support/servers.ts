import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findServerBinary, ServerBinaryError } from '../../servers/binaries';
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

/**
 * A real dev server on free ports with in-memory state, for end-to-end tests. A port found free can be taken
 * before the server binds it (test files start dev servers side by side, each binding ports of its own; a CI
 * run once saw `bind: address already in use` and the server exit): then it starts again on other ports.
 */
export async function testDevServer(): Promise<DevServer> {
  for (let tries = 1; ; tries++) {
    try {
      return await startDevServer({ port: await freePort(), uiPort: await freePort() });
    } catch (err) {
      const raced = err instanceof ServerBinaryError && /exited|in use/.test(err.message);
      if (!raced || tries >= 3) throw err;
    }
  }
}

/** The workflow bundle built once by Jest's global setup. */
export function testWorkflowBundle(): { codePath: string } {
  return {
    codePath: join(__dirname, '..', '..', '.offpeak', 'test-bundle', 'workflows.js'),
  };
}
