// Temporal's runtime logs at WARN in tests, so test output shows what matters. Once per Jest worker process.
const { DefaultLogger, Runtime } = require('@temporalio/worker');
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process by an earlier test file
}
