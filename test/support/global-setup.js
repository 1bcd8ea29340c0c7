// Bundles the workflow code once, in plain Node: webpack does not run inside Jest's module sandbox.
const { bundleWorkflowCode } = require('@temporalio/worker');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  const dir = join(__dirname, '..', '..', '.offpeak', 'test-bundle');
  mkdirSync(dir, { recursive: true });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows/index.ts'),
    logger: quiet(),
  });
  writeFileSync(join(dir, 'workflows.js'), bundle.code);
  // A deliberately non-deterministic variant, for the replay test (test/workflows/replay.test.ts).
  const changed = await bundleWorkflowCode({
    workflowsPath: require.resolve('./changed-workflows/index.ts'),
    logger: quiet(),
  });
  writeFileSync(join(dir, 'changed-workflows.js'), changed.code);
};

function quiet() {
  const noop = () => undefined;
  return { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };
}
