import { createHash } from 'node:crypto';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { DriverError } from '../driver';
import { commandLine, loginShellOf, loginShellProblem, type Argv } from './quote';

/** Everything needed to reach one host. The private key is loaded by the worker, never carried in payloads. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  privateKey: string | Buffer;
  /** The pinned host key fingerprint, as `ssh-keygen -lf` prints it: `SHA256:<base64 without padding>`. */
  hostKeySha256: string;
}

export interface RunResult {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** The command outlived its time limit; its channel was closed. */
  timedOut: boolean;
}

/** `SHA256:` fingerprint of a raw SSH public key blob, exactly as OpenSSH prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

const MAX_OUTPUT = 1 << 20;
/** Node's timers hold at most 2^31-1 ms (~24.8 days); longer limits would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One SSH connection. The host key is checked against the pin before authentication: on a mismatch the
 * handshake is aborted, no command is ever sent, and the call fails with HostKeyMismatch (not retryable).
 */
export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly endpoint: SshEndpoint,
  ) {}

  static async open(endpoint: SshEndpoint, options: { readyTimeoutMs?: number } = {}): Promise<SshSession> {
    const client = new Client();
    // ssh2 may emit more than one error (a handshake timeout, then the connection lost before it): every
    // one after the first, during the handshake or after, ends here, never as an unhandled 'error' that
    // would take the worker's process down. The first is the handshake's answer (below).
    client.on('error', () => undefined);
    let offered: string | undefined;
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      privateKey: endpoint.privateKey,
      readyTimeout: options.readyTimeoutMs ?? 10_000,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        offered = fingerprintOf(key);
        return offered === endpoint.hostKeySha256;
      },
    };
    const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err: Error & { level?: string; code?: string }) => {
        client.end();
        if (offered !== undefined && offered !== endpoint.hostKeySha256)
          reject(
            new DriverError(
              'HostKeyMismatch',
              `${where}: host key ${offered} does not match the pinned ${endpoint.hostKeySha256}; nothing was run`,
            ),
          );
        else if (err.level === 'client-authentication')
          reject(new DriverError('Unreachable', `${where}: authentication refused (${err.message})`));
        else reject(new DriverError('Unreachable', `${where}: ${err.code ?? ''} ${err.message}`.trim()));
      });
      client.connect(config);
    });
    const session = new SshSession(client, endpoint);
    try {
      await session.checkLoginShell();
    } catch (err) {
      client.end();
      throw err;
    }
    return session;
  }

  /**
   * SSH hands every command to the user's login shell as one string, so the quoting in quote.ts is only
   * right for a POSIX shell: read the shell first (plain words, the same in any shell) and refuse the
   * connection otherwise, before any other command is sent. Once per connection.
   */
  private async checkLoginShell(): Promise<void> {
    const { user, host } = this.endpoint;
    const r = await this.run(['/usr/bin/getent', 'passwd', user], { timeoutMs: 30_000 });
    if (r.exitCode === null || r.timedOut)
      throw new DriverError(
        'Unreachable',
        `${user}@${host}: the connection ended while reading the login shell`,
      );
    const problem = loginShellProblem(r.exitCode === 0 ? loginShellOf(r.stdout, user) : undefined);
    if (problem)
      throw new DriverError('UnsupportedShell', `${user}@${host}: ${problem}; nothing else was run`);
  }

  /** Runs `argv` (quoted, never interpolated) and collects its output; `stdin` is written then closed. */
  run(argv: Argv, options: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      // Listeners are attached inside exec's callback, synchronously: ssh2 can parse a whole exchange
      // (output, exit status, close) from one packet burst, and an `exit` event is not buffered.
      this.exec(argv, reject, (channel) => {
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        let exitCode: number | null = null;
        let signal: string | undefined;
        const cap = (s: string) => (s.length > MAX_OUTPUT ? s.slice(-MAX_OUTPUT) : s);
        const timer =
          options.timeoutMs !== undefined
            ? setTimeout(
                () => {
                  timedOut = true;
                  channel.close();
                },
                Math.min(options.timeoutMs, MAX_TIMER_MS),
              )
            : undefined;
        channel.on('data', (d: Buffer) => (stdout = cap(stdout + d.toString('utf8'))));
        channel.stderr.on('data', (d: Buffer) => (stderr = cap(stderr + d.toString('utf8'))));
        channel.on('exit', (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig ?? undefined;
        });
        const done = () => {
          if (timer) clearTimeout(timer);
          this.client.off('close', done);
          resolve({ exitCode, ...(signal ? { signal } : {}), stdout, stderr, timedOut });
        };
        channel.on('close', done);
        // The connection itself can drop (a reboot): the command's fate is then unknown (exitCode null).
        this.client.once('close', done);
        channel.end(options.stdin ?? '');
      });
    });
  }

  /**
   * Starts `argv` and keeps it running until the returned release is called: for a lock held by a
   * remote process (`flock FILE cat`). `readyLine` is echoed back once the process reads its input,
   * which proves it holds what it was started to hold.
   */
  hold(argv: Argv, options: { readyLine: string; timeoutMs: number }): Promise<() => void> {
    return new Promise((resolve, reject) => {
      this.exec(argv, reject, (channel) => {
        let seen = '';
        let stderr = '';
        const timer = setTimeout(() => {
          channel.close();
          reject(new Error(`not ready within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
        channel.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        channel.on('data', (d: Buffer) => {
          seen += d.toString('utf8');
          if (seen.includes(options.readyLine)) {
            clearTimeout(timer);
            resolve(() => channel.end());
          }
        });
        channel.on('exit', (code: number | null) => {
          clearTimeout(timer);
          reject(Object.assign(new Error(`exited ${code}: ${stderr.trim()}`), { exitCode: code }));
        });
        channel.on('close', () => {
          clearTimeout(timer);
          reject(new Error(`closed before it was ready: ${stderr.trim()}`));
        });
        channel.write(`${options.readyLine}\n`);
      });
    });
  }

  close(): void {
    this.client.end();
  }

  private exec(argv: Argv, reject: (err: Error) => void, attach: (channel: ClientChannel) => void): void {
    let command: string;
    try {
      command = commandLine(argv);
    } catch (err) {
      reject(err as Error);
      return;
    }
    // The C locale, where the server accepts it (OpenSSH's default AcceptEnv LANG LC_*): parsed output is never translated.
    this.client.exec(command, { env: { LANG: 'C', LC_ALL: 'C' } }, (err, channel) => {
      if (err) reject(new DriverError('Unreachable', `${this.endpoint.host}: ${err.message}`));
      else attach(channel);
    });
  }
}

/** Opens a session, runs `fn`, and always closes it. */
export async function withSession<T>(
  endpoint: SshEndpoint,
  fn: (session: SshSession) => Promise<T>,
  options: { readyTimeoutMs?: number } = {},
): Promise<T> {
  const session = await SshSession.open(endpoint, options);
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}
