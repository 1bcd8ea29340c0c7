import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findServerBinary, noServerMessage, offpeakHome, ServerBinaryError } from './binaries';
import { devServerSearchAttributeArgs } from './search-attributes';

export interface DevServerOptions {
  /** gRPC port; the UI listens on `uiPort`. */
  port?: number;
  uiPort?: number;
  /** SQLite file that keeps state across restarts; `undefined` keeps it in memory (tests). */
  dbFile?: string;
  namespace?: string;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string;
  /** True when an already-running server on the port was reused (we will not stop it). */
  reused: boolean;
  stop(): Promise<void>;
}

export const DEFAULT_DEV_SERVER = { port: 7233, uiPort: 8233, namespace: 'default' };

export function defaultDbFile(): string {
  return join(offpeakHome(), 'dev-server.sqlite');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function serving(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

/**
 * Starts `temporal server start-dev` ourselves rather than through the SDK's ephemeral server: the SDK
 * gives a binary 5 s to start and stops it with SIGKILL, while a dev server whose state file must
 * survive is better given time and a clean SIGTERM.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? DEFAULT_DEV_SERVER.port;
  const uiPort = options.uiPort ?? DEFAULT_DEV_SERVER.uiPort;
  const namespace = options.namespace ?? DEFAULT_DEV_SERVER.namespace;
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  const log = options.log ?? (() => undefined);

  if (await portOpen(port)) {
    if (await serving(address, namespace)) {
      log(`Reusing the Temporal server already listening on ${address}.`);
      return { address, namespace, uiUrl, reused: true, stop: async () => undefined };
    }
    throw new ServerBinaryError(`port ${port} is in use by something that is not a Temporal server`);
  }

  const binary = findServerBinary('cli', { log });
  if (binary.source === 'sdk-download') return startWithSdk({ port, uiPort, namespace, uiUrl, address, log });

  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
  ];
  args.push('--namespace', namespace, '--log-level', 'warn', ...devServerSearchAttributeArgs());
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const logFile = join(offpeakHome(), `dev-server-${port}.log`);
  mkdirSync(offpeakHome(), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(binary.path, args, { stdio: ['ignore', out, out] });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const deadline = Date.now() + 60_000;
  while (!(await serving(address, namespace))) {
    if (exited !== undefined)
      throw new ServerBinaryError(`the dev server exited with code ${exited}; see ${logFile}`);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new ServerBinaryError(`the dev server did not answer on ${address} within 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(
    `Temporal dev server on ${address}, UI at ${uiUrl}${options.dbFile ? `, state in ${options.dbFile}` : ''}.`,
  );
  return { address, namespace, uiUrl, reused: false, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

async function startWithSdk(o: {
  port: number;
  uiPort: number;
  namespace: string;
  uiUrl: string;
  address: string;
  log: (line: string) => void;
}): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: o.port,
        ui: true,
        uiPort: o.uiPort,
        namespace: o.namespace,
        extraArgs: devServerSearchAttributeArgs(),
      },
    });
    o.log(
      `Temporal dev server (SDK download) on ${o.address}, UI at ${o.uiUrl}; its state is not kept across restarts.`,
    );
    return {
      address: o.address,
      namespace: o.namespace,
      uiUrl: o.uiUrl,
      reused: false,
      stop: () => env.teardown(),
    };
  } catch (err) {
    throw new ServerBinaryError(noServerMessage('cli', (err as Error).message));
  }
}

/** A free local TCP port (the kernel's pick): free when asked, which another process may change. */
export function freePort(): Promise<number> {
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
 * A dev server on free ports (tests and benchmarks). A port found free can be taken before the server
 * binds it (test files start dev servers side by side; a CI run once saw `bind: address already in use`
 * and the server exit): then it starts again on other ports, up to `tries` times.
 */
export async function startDevServerOnFreePorts(
  options: Omit<DevServerOptions, 'port' | 'uiPort'> = {},
  tries = 3,
): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServer({ ...options, port: await freePort(), uiPort: await freePort() });
    } catch (err) {
      const raced = err instanceof ServerBinaryError && /exited|in use/.test(err.message);
      if (!raced || attempt >= tries) throw err;
    }
  }
}
