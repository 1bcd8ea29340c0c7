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

/**
 * Gives a test file its time-skipping server through `use`: one per test, or one for the whole file.
 * Per test where a test sends Updates: on this server an Update or a `result()` can disturb a later
 * test's (see `steer` in workflow-harness.ts).
 */
export function timeSkippingServer(per: 'test' | 'file', use: (env: TestWorkflowEnvironment) => void): void {
  let env: TestWorkflowEnvironment | undefined;
  const up = async () => use((env = await timeSkippingEnv()));
  const down = async () => {
    await env?.teardown();
    env = undefined;
  };
  if (per === 'test') {
    beforeEach(up);
    afterEach(down);
  } else {
    beforeAll(up);
    afterAll(down);
  }
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
