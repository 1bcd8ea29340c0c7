import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { SshSettings } from '../../domain/fleet';
import { sudoersFor } from '../../activities/drivers/ssh/sudoers';

/**
 * Real Linux test hosts on this machine (docs: /work/shared/docs/real-hosts.md): a debootstrapped
 * Debian root file system per host, in its own network namespace (10.231.<subnet>.2, reached from the
 * test over a veth pair at 10.231.<subnet>.1), its own mount and PID namespaces, a real sshd, a real
 * `offpeak` user with exactly the driver's sudo rules, and a real local apt repository.
 *
 * A real reboot of the CI machine is impossible: the host's /usr/sbin/reboot is a test double that
 * writes a new boot id (bind-mounted over /proc/sys/kernel/random/boot_id), ends every process of
 * the host (SSH sessions included), and lets the host's init (the supervisor below, PID 1 of the
 * host's PID namespace) clear /run and start sshd again. With `neverComesBack` it does not restart.
 */

const execFileP = promisify(execFile);

async function run(cmd: string, args: readonly string[], options: { input?: string } = {}): Promise<string> {
  try {
    const child = execFileP(cmd, args, { maxBuffer: 64 << 20, env: { ...process.env, LANG: 'C' } });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

const TOOLS = [
  'debootstrap',
  'dpkg-deb',
  'dpkg-scanpackages',
  'ip',
  'ssh-keygen',
  'unshare',
  'chroot',
  'tar',
  'flock',
  'mount',
];
export const PREREQUISITES_HINT =
  'apt-get install -y debootstrap dpkg-dev iproute2 openssh-client (and run as root)';

/** What this machine lacks to run real test hosts; empty when everything is there. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (uid 0)');
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const tool of TOOLS) {
    const found = dirs.some((d) => {
      try {
        accessSync(join(d, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) missing.push(tool);
  }
  return missing;
}

/** Fails (never skips) with the exact fix when a prerequisite is missing. */
export function requirePrerequisites(): void {
  const missing = missingPrerequisites();
  if (missing.length)
    throw new Error(
      `real-host tests need: ${missing.join(', ')}. On Debian/Ubuntu CI: ${PREREQUISITES_HINT}`,
    );
}

/** Builds (first time, ~1-2 min) or reuses the cached Debian root file system tarball. */
export async function rootfsTarball(): Promise<string> {
  const path = (await run('bash', [join(__dirname, 'build-rootfs.sh')])).trim().split('\n').pop()!;
  if (!existsSync(path)) throw new Error(`build-rootfs.sh printed no tarball (${path})`);
  return path;
}

// ---- the local apt repository --------------------------------------------------------------------

export interface TestPackage {
  name: string;
  version: string;
  /** The suite serving it; `base` packages are installed when the host is built. */
  suite: 'base' | 'offpeak-security' | 'offpeak-updates';
  /** Its postinst asks for a reboot, as Ubuntu's packages do (update-notifier's reboot-required files). */
  requestsReboot?: boolean;
}

/** The test world: three installed packages, a security update asking for a reboot, two other updates. */
export const TEST_PACKAGES: TestPackage[] = [
  { name: 'offpeak-hello', version: '1.0-1', suite: 'base' },
  { name: 'offpeak-tool', version: '2.0-1', suite: 'base' },
  { name: 'offpeak-extra', version: '1.0-1', suite: 'base' },
  { name: 'offpeak-hello', version: '1.0-2', suite: 'offpeak-security', requestsReboot: true },
  { name: 'offpeak-tool', version: '2.1-1', suite: 'offpeak-updates' },
  { name: 'offpeak-extra', version: '1.1-1', suite: 'offpeak-updates' },
];

const REBOOT_POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  touch /var/run/reboot-required
  echo "$DPKG_MAINTSCRIPT_PACKAGE" >> /var/run/reboot-required.pkgs
fi
`;

async function buildDeb(dir: string, p: TestPackage): Promise<string> {
  const tree = join(dir, 'tree', `${p.name}_${p.version}`);
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr/share/offpeak-test'), { recursive: true });
  await writeFile(join(tree, 'usr/share/offpeak-test', p.name), `${p.version}\n`);
  await writeFile(
    join(tree, 'DEBIAN/control'),
    `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: all\nMaintainer: Offpeak tests <tests@offpeak.invalid>\n` +
      `Section: misc\nPriority: optional\nDescription: Offpeak real-host test package\n`,
  );
  if (p.requestsReboot) {
    await writeFile(join(tree, 'DEBIAN/postinst'), REBOOT_POSTINST);
    await chmod(join(tree, 'DEBIAN/postinst'), 0o755);
  }
  const pool = join(dir, p.suite === 'base' ? 'base' : join('repo/pool', p.suite));
  await mkdir(pool, { recursive: true });
  const deb = join(pool, `${p.name}_${p.version}_all.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, deb]);
  return deb;
}

/** Builds the packages and a signed-by-nobody (`trusted=yes`) repository with proper Release files. */
export async function buildRepository(
  dir: string,
  packages = TEST_PACKAGES,
): Promise<{ repo: string; base: string }> {
  for (const p of packages) await buildDeb(dir, p);
  const repo = join(dir, 'repo');
  const suites = [...new Set(packages.map((p) => p.suite).filter((s) => s !== 'base'))];
  for (const suite of suites) {
    const index = join(repo, 'dists', suite, 'main/binary-amd64');
    await mkdir(index, { recursive: true });
    const { stdout } = await execFileP('dpkg-scanpackages', ['--multiversion', join('pool', suite)], {
      cwd: repo,
    });
    await writeFile(join(index, 'Packages'), stdout);
    const sha = createHash('sha256').update(stdout).digest('hex');
    await writeFile(
      join(repo, 'dists', suite, 'Release'),
      `Origin: Offpeak-Test\nLabel: Offpeak-Test\nSuite: ${suite}\nCodename: ${suite}\nVersion: 1.0\n` +
        `Date: ${new Date().toUTCString()}\nArchitectures: amd64 all\nComponents: main\n` +
        `SHA256:\n ${sha} ${Buffer.byteLength(stdout)} main/binary-amd64/Packages\n`,
    );
  }
  return { repo, base: join(dir, 'base') };
}

// ---- hosts ---------------------------------------------------------------------------------------

const REBOOT_DOUBLE = `#!/bin/sh
# Offpeak TEST DOUBLE for reboot(8): the CI machine cannot really reboot. What the driver can observe
# of a reboot happens for real: a new boot id, every process of this host ended (SSH sessions too),
# /run cleared and sshd started again by the host's init (the test supervisor, PID 1 of this host).
set -e
cat /proc/sys/kernel/random/uuid > /proc/sys/kernel/random/boot_id
[ -e /var/lib/offpeak-test/never-come-back ] || touch /var/lib/offpeak-test/reboot-requested
kill -TERM -1
`;

/** PID 1 of the host: mounts, then runs sshd; a "reboot" (the double) ends sshd and it starts again. */
const SUPERVISOR = `set -e
R="$1"
hostname -F "$R/etc/hostname"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind "$R/var/lib/offpeak-test/boot_id" "$R/proc/sys/kernel/random/boot_id"
set +e
while :; do
  rm -f "$R/var/lib/offpeak-test/reboot-requested" "$R/run/reboot-required" "$R/run/reboot-required.pkgs"
  mkdir -p "$R/run/sshd"
  echo "boot $(cat "$R/var/lib/offpeak-test/boot_id")"
  chroot "$R" /usr/sbin/sshd -D -e
  [ -e "$R/var/lib/offpeak-test/reboot-requested" ] || exit 0
done
`;

export interface TestHostSpec {
  name: string;
  /** Third octet of the host's private /24: 10.231.<subnet>.2. Distinct per host across test files. */
  subnet: number;
}

export class TestHost {
  supervisor?: ChildProcess;
  hostKeySha256 = '';

  constructor(
    readonly spec: TestHostSpec,
    readonly dir: string,
    readonly keyPath: string,
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get ns(): string {
    return `offpeak-t${this.spec.subnet}`;
  }
  get address(): string {
    return `10.231.${this.spec.subnet}.2`;
  }
  get rootfs(): string {
    return join(this.dir, 'rootfs');
  }
  private get vethHost(): string {
    return `opk${this.spec.subnet}h`;
  }
  private get vethNs(): string {
    return `opk${this.spec.subnet}n`;
  }

  /** The fleet's `ssh` settings for this host. */
  settings(overrides: Partial<SshSettings> = {}): SshSettings {
    return {
      host: this.address,
      port: 22,
      user: 'offpeak',
      keyRef: { path: this.keyPath },
      hostKeySha256: this.hostKeySha256,
      ...overrides,
    };
  }

  /** Runs a command as root inside the host's file system, for assertions (not through SSH). */
  async root(argv: string[]): Promise<string> {
    return run('chroot', [this.rootfs, ...argv]);
  }

  /** Installed version of a package, from dpkg's own database on the host. */
  async installedVersion(name: string): Promise<string | undefined> {
    try {
      return (await this.root(['dpkg-query', '-W', '-f', '${Version}', '--', name])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  bootId(): string {
    return readFileSync(join(this.rootfs, 'var/lib/offpeak-test/boot_id'), 'utf8').trim();
  }

  /** From now on the host's reboot ends sshd for good: the host does not come back. */
  async neverComeBack(): Promise<void> {
    await writeFile(join(this.rootfs, 'var/lib/offpeak-test/never-come-back'), '');
  }

  async build(tarball: string, repo: { repo: string; base: string }, publicKey: string): Promise<void> {
    const r = this.rootfs;
    await mkdir(r, { recursive: true });
    await run('tar', ['-C', r, '-xf', tarball]);
    await writeFile(join(r, 'etc/hostname'), `${this.name}\n`);
    await writeFile(join(r, 'etc/hosts'), `127.0.0.1 localhost\n127.0.1.1 ${this.name}\n`);
    await run('chroot', [r, 'ssh-keygen', '-A']);
    const fp = await run('ssh-keygen', [
      '-l',
      '-E',
      'sha256',
      '-f',
      join(r, 'etc/ssh/ssh_host_ed25519_key.pub'),
    ]);
    this.hostKeySha256 = fp.split(' ')[1];
    await run('chroot', [r, 'useradd', '--create-home', '--shell', '/bin/bash', 'offpeak']);
    const ssh = join(r, 'home/offpeak/.ssh');
    await mkdir(ssh, { recursive: true });
    await writeFile(join(ssh, 'authorized_keys'), publicKey);
    await run('chroot', [r, 'chown', '-R', 'offpeak:offpeak', '/home/offpeak/.ssh']);
    await chmod(ssh, 0o700);
    // Exactly the rules docs/ssh-driver.md tells operators to install, checked by visudo.
    await writeFile(join(r, 'etc/sudoers.d/offpeak'), sudoersFor('offpeak', 'apt'), { mode: 0o440 });
    await run('chroot', [r, 'visudo', '-c', '-f', '/etc/sudoers.d/offpeak']);
    await writeFile(join(r, 'usr/sbin/reboot'), REBOOT_DOUBLE, { mode: 0o755 });
    await mkdir(join(r, 'var/lib/offpeak-test'), { recursive: true });
    await writeFile(
      join(r, 'var/lib/offpeak-test/boot_id'),
      `${(await readFile('/proc/sys/kernel/random/uuid', 'utf8')).trim()}\n`,
    );
    // The real local apt repository, and nothing else (the host has no route to any mirror).
    await run('cp', ['-a', repo.repo, join(r, 'srv/repo')]);
    await run('cp', ['-a', repo.base, join(r, 'tmp/offpeak-base')]);
    await writeFile(
      join(r, 'etc/apt/sources.list'),
      'deb [trusted=yes] file:/srv/repo offpeak-security main\ndeb [trusted=yes] file:/srv/repo offpeak-updates main\n',
    );
    const debs = TEST_PACKAGES.filter((p) => p.suite === 'base').map(
      (p) => `/tmp/offpeak-base/${p.name}_${p.version}_all.deb`,
    );
    await run('chroot', [r, 'dpkg', '-i', ...debs]);
  }

  /** Network namespace, veth pair, then the supervisor (PID 1 of a fresh PID and mount namespace). */
  async start(): Promise<void> {
    await this.removeNetwork();
    await run('ip', ['netns', 'add', this.ns]);
    await run('ip', ['link', 'add', this.vethHost, 'type', 'veth', 'peer', 'name', this.vethNs]);
    await run('ip', ['link', 'set', this.vethNs, 'netns', this.ns]);
    await run('ip', ['addr', 'add', `10.231.${this.spec.subnet}.1/24`, 'dev', this.vethHost]);
    await run('ip', ['link', 'set', this.vethHost, 'up']);
    await run('ip', ['-n', this.ns, 'addr', 'add', `${this.address}/24`, 'dev', this.vethNs]);
    await run('ip', ['-n', this.ns, 'link', 'set', this.vethNs, 'up']);
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    const log = join(this.dir, 'host.log');
    const { openSync } = await import('node:fs');
    const fd = openSync(log, 'a');
    this.supervisor = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.ns,
        'unshare',
        '--mount',
        '--uts',
        '--pid',
        '--fork',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        SUPERVISOR,
        'offpeak-host',
        this.rootfs,
      ],
      { stdio: ['ignore', fd, fd] },
    );
    await this.waitForSsh(20_000);
  }

  /** Polls the host's SSH port until it answers with an SSH banner, within `timeoutMs`. */
  async waitForSsh(timeoutMs: number): Promise<void> {
    const { connect } = await import('node:net');
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: this.address, port: 22, timeout: 1000 });
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('SSH-'));
        });
        socket.once('error', () => resolve(false));
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
      });
      if (ok) return;
      if (Date.now() > until)
        throw new Error(
          `${this.name}: sshd did not answer within ${timeoutMs} ms; see ${join(this.dir, 'host.log')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends the host's processes by PID (those in its network namespace), then the namespace and files. */
  async stop(): Promise<void> {
    try {
      await this.removeNetwork();
    } finally {
      if (this.supervisor?.pid && this.supervisor.exitCode === null) this.supervisor.kill('SIGKILL');
    }
    // The host's mounts live in its own mount namespace and vanish with its processes; never delete
    // a tree that still has something mounted in this namespace.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    if (!mounts.includes(this.rootfs)) await rm(this.dir, { recursive: true, force: true });
  }

  private async removeNetwork(): Promise<void> {
    const namespaces = await run('ip', ['netns', 'list']);
    if (namespaces.split('\n').some((l) => l.split(' ')[0] === this.ns)) {
      const pids = (await run('ip', ['netns', 'pids', this.ns])).split('\n').filter((p) => /^\d+$/.test(p));
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'del', this.ns]);
    }
    // Deleting the namespace deletes the veth pair, asynchronously: a pair already gone is fine.
    const links = await run('ip', ['-o', 'link', 'show']);
    if (links.includes(` ${this.vethHost}@`))
      await run('ip', ['link', 'del', this.vethHost]).catch((err: Error) => {
        if (!/Cannot find device/.test(err.message)) throw err;
      });
  }
}

export interface TestHosts {
  hosts: TestHost[];
  keyPath: string;
  dir: string;
  stop(): Promise<void>;
}

/** Builds and starts real test hosts; `stop()` tears everything down by PID, also after a failure. */
export async function startTestHosts(specs: TestHostSpec[]): Promise<TestHosts> {
  requirePrerequisites();
  const tarball = await rootfsTarball();
  const dir = await mkdtemp(join(tmpdir(), 'offpeak-hosts-'));
  const keyPath = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'offpeak-test', '-f', keyPath]);
  const publicKey = await readFile(`${keyPath}.pub`, 'utf8');
  const repo = await buildRepository(join(dir, 'packages'));
  const hosts = specs.map((s) => new TestHost(s, join(dir, s.name), keyPath));
  const stop = async () => {
    const errors: unknown[] = [];
    for (const h of hosts) await h.stop().catch((err: unknown) => errors.push(err));
    if (!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir))
      await rm(dir, { recursive: true, force: true });
    if (errors.length)
      throw new AggregateError(errors, `stopping test hosts: ${errors.map(String).join('; ')}`);
  };
  try {
    await Promise.all(hosts.map((h) => h.build(tarball, repo, publicKey)));
    for (const h of hosts) await h.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { hosts, keyPath, dir, stop };
}
