import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DevServer } from '../../servers/dev-server';
import { tempDir } from './rollouts';
import { testDevServer, timeSkippingEnv } from './servers';

// Jest's hooks: only test files import this (servers.ts is also compiled into the scripts, without jest).

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

/** Gives a test file one dev server through `use`, started before its tests and stopped after them. */
export function devServerForFile(use: (server: DevServer) => void): void {
  let server: DevServer | undefined;
  beforeAll(async () => use((server = await testDevServer())));
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
}

/**
 * Gives a test file a spec store of its own (a temporary folder, returned), where its large rollouts'
 * slices are staged: the worker's `loadSpecSlice` reads OFFPEAK_SPEC_STORE, set for the file's tests only.
 */
export function specStoreForFile(prefix: string): string {
  const store = tempDir(prefix);
  const previous = process.env.OFFPEAK_SPEC_STORE;
  beforeAll(() => {
    process.env.OFFPEAK_SPEC_STORE = store;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.OFFPEAK_SPEC_STORE;
    else process.env.OFFPEAK_SPEC_STORE = previous;
  });
  return store;
}
