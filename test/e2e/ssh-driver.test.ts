import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverError, type MachineTarget } from '../../activities/drivers/driver';
import { SshDriver, withSession, type SshEndpoint } from '../../activities/drivers/ssh';
import { sudo } from '../../activities/drivers/ssh/commands';
import { startTestHosts, type TestHost, type TestHosts } from '../hosts/test-host';

/**
 * The ssh driver against a REAL Debian host built on this machine (test/hosts/test-host.ts): real
 * sshd, real apt and dpkg, real sudo with exactly the rules of docs/ssh-driver.md. The only double is
 * reboot: the CI machine cannot reboot, so the host's /usr/sbin/reboot writes a new boot id, ends all
 * of the host's processes and sshd is started again (or, for "never comes back", is not).
 */
jest.setTimeout(300_000);

let hosts: TestHosts;
let host: TestHost;
const target: MachineTarget = { name: 'deb1', os: 'Linux', operation: { id: 'ssh-e2e', attempt: 1 } };

beforeAll(async () => {
  hosts = await startTestHosts([{ name: 'deb1', subnet: 11 }]);
  host = hosts.hosts[0];
}, 600_000);
afterAll(async () => {
  await hosts?.stop();
});

const driver = (overrides: ConstructorParameters<typeof SshDriver>[1] = {}) =>
  new SshDriver(host.settings(), overrides);
const endpoint = (): SshEndpoint =>
  ({ ...host.settings(), privateKey: readFileSync(hosts.keyPath) }) as SshEndpoint;
const dpkgLogLines = () => readFileSync(join(host.rootfs, 'var/log/dpkg.log'), 'utf8').split('\n').length;

test('assessment lists the real upgrades with versions, classified by the archive they come from', async () => {
  const result = await driver().assessHost(target);
  expect(result.family).toBe('apt');
  expect(result.assessment.bootId).toBe(host.bootId());
  expect(result.assessment.rebootPending).toBe(false);
  expect(result.assessment.patches.map((p) => [p.patchId, p.classification]).sort()).toEqual([
    ['offpeak-extra=1.1-1', 'Other'],
    ['offpeak-hello=1.0-2', 'Security'],
    ['offpeak-tool=2.1-1', 'Other'],
  ]);
});

test('sudo grants exactly the driver commands: no extra option, no local package file, no shell', async () => {
  await withSession(endpoint(), async (s) => {
    const refused = [
      ['/usr/bin/apt-get', '-q', '-y', 'install', '--', './evil.deb'],
      ['/usr/bin/apt-get', '-o', 'APT::Update::Pre-Invoke::=/bin/touch /tmp/pwned', '-q', 'update'],
      [
        '/usr/bin/apt-get',
        '-q',
        '-y',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        '--only-upgrade',
        '--',
        '/srv/repo/pool/offpeak-updates/offpeak-tool_2.1-1_all.deb',
      ],
      ['/bin/sh', '-c', 'id'],
    ];
    for (const argv of refused) {
      const r = await s.run(sudo(argv), { timeoutMs: 30_000 });
      expect([r.exitCode, r.stderr]).toEqual([1, expect.stringMatching(/^sudo: /m)]);
    }
  });
  expect(existsSync(join(host.rootfs, 'tmp/pwned'))).toBe(false);
  expect(await host.installedVersion('offpeak-tool')).toBe('2.0-1');
});

test('install takes exactly the given packages, refuses hostile ids, and is idempotent', async () => {
  const patchIds = [
    'offpeak-hello=1.0-2',
    'offpeak-tool=2.1-1',
    'offpeak-extra=1.1-1;touch /tmp/pwned',
    '-oAPT::Update::Pre-Invoke::=/bin/sh=1',
    'offpeak-extra=$(touch /tmp/pwned)',
    'offpeak-extra=1.1-1\nid',
  ];
  const progress: number[] = [];
  const first = await driver().install(target, {
    patchIds,
    deadline: Date.now() + 3_600_000,
    onProgress: (n) => progress.push(n),
  });
  expect(first.patches).toEqual([
    { patchId: 'offpeak-hello=1.0-2', state: 'Installed' },
    { patchId: 'offpeak-tool=2.1-1', state: 'Installed' },
    ...patchIds.slice(2).map((patchId) => ({ patchId, state: 'Failed' })),
  ]);
  expect(first.rebootRequired).toBe(true);
  expect(first.maintenanceWindowExceeded).toBe(false);
  expect(progress).toEqual([1, 2]);
  expect(await host.installedVersion('offpeak-hello')).toBe('1.0-2');
  expect(await host.installedVersion('offpeak-tool')).toBe('2.1-1');
  expect(await host.installedVersion('offpeak-extra')).toBe('1.0-1');
  expect(existsSync(join(host.rootfs, 'tmp/pwned'))).toBe(false);

  // A retry (after a crash, say) finds the work done and runs no dpkg at all.
  const lines = dpkgLogLines();
  const again = await driver().install(target, {
    patchIds: patchIds.slice(0, 2),
    deadline: Date.now() + 3_600_000,
  });
  expect(again.patches.map((p) => p.state)).toEqual(['Installed', 'Installed']);
  expect(dpkgLogLines()).toBe(lines);
});

test('a package that cannot start before the deadline stays Pending and is not installed', async () => {
  const result = await driver({ perPackageMs: 60_000 }).install(target, {
    patchIds: ['offpeak-extra=1.1-1'],
    deadline: Date.now() + 30_000,
  });
  expect(result.patches).toEqual([{ patchId: 'offpeak-extra=1.1-1', state: 'Pending' }]);
  expect(result.maintenanceWindowExceeded).toBe(true);
  expect(await host.installedVersion('offpeak-extra')).toBe('1.0-1');
});

test('the per-host lock keeps a second attempt out while one holds it', async () => {
  await withSession(endpoint(), async (s) => {
    const release = await s.hold(['/usr/bin/flock', '-w', '5', '.offpeak-install.lock', '/bin/cat'], {
      readyLine: 'held',
      timeoutMs: 10_000,
    });
    try {
      const attempt = driver({ lockWaitSeconds: 1 }).install(target, {
        patchIds: ['offpeak-extra=1.1-1'],
        deadline: Date.now() + 3_600_000,
      });
      await expect(attempt).rejects.toMatchObject({
        kind: 'Unreachable',
        message: expect.stringContaining('another install holds'),
      });
    } finally {
      release();
    }
  });
  expect(await host.installedVersion('offpeak-extra')).toBe('1.0-1');
});

test('a pending reboot is detected with the package that asked for it', async () => {
  const result = await driver().assessHost(target);
  expect(result.assessment.rebootPending).toBe(true);
  expect(result.rebootRequestedBy).toEqual(['offpeak-hello']);
  expect(result.assessment.patches.map((p) => p.patchId)).toEqual(['offpeak-extra=1.1-1']);
});

test('reboot (test double: new boot id, sshd restarted) happens once; the host comes back', async () => {
  const d = driver();
  const before = await d.bootId(target);
  expect(await d.reboot(target, { expectedBootId: before })).toEqual({ rebooted: true });
  const { bootId } = await d.waitForBoot(target, { previousBootId: before, timeoutMs: 30_000 });
  expect(bootId).not.toBe(before);
  expect(bootId).toBe(host.bootId());
  // A retried reboot with the old boot id does nothing; the reboot cleared the pending flag.
  expect(await d.reboot(target, { expectedBootId: before })).toEqual({ rebooted: false });
  expect(await d.bootId(target)).toBe(bootId);
  expect((await d.assessHost(target)).assessment.rebootPending).toBe(false);
});

test('pre/post scripts get hostile arguments literally, run under a time limit, and bad references run nothing', async () => {
  await writeFile(
    join(host.rootfs, 'usr/local/bin/offpeak-args'),
    '#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\nexit 3\n',
    { mode: 0o755 },
  );
  const d = driver();
  const hostile = await d.runScript(target, {
    kind: 'pre',
    script: '/usr/local/bin/offpeak-args',
    args: [
      ';',
      'touch${IFS}/tmp/pwned',
      '$(touch /tmp/pwned)',
      '`touch /tmp/pwned`',
      '-rf',
      "--x='1'",
      '|&>',
      'two words',
    ],
    timeoutMs: 30_000,
  });
  expect(hostile.exitCode).toBe(3);
  expect(hostile.output.split('\n')).toEqual([
    '<;>',
    '<touch${IFS}/tmp/pwned>',
    '<$(touch /tmp/pwned)>',
    '<`touch /tmp/pwned`>',
    '<-rf>',
    "<--x='1'>",
    '<|&>>',
    '<two words>',
  ]);
  for (const script of [
    '/usr/local/bin/offpeak-args\ntouch /tmp/pwned',
    '-rf /',
    'touch /tmp/pwned',
    '/usr/../bin/touch',
    '/usr/local/bin/offpeak-args ; touch /tmp/pwned',
  ])
    await expect(d.runScript(target, { kind: 'pre', script, timeoutMs: 30_000 })).rejects.toMatchObject({
      kind: 'ScriptFailed',
    });
  expect(existsSync(join(host.rootfs, 'tmp/pwned'))).toBe(false);

  const shipped = await d.runScript(target, {
    kind: 'post',
    script: '#!/bin/sh\necho "shipped on $(hostname)"\n',
    timeoutMs: 30_000,
  });
  expect(shipped).toEqual({ exitCode: 0, output: 'shipped on deb1' });
  const started = Date.now();
  const slow = await d.runScript(target, {
    kind: 'pre',
    script: '#!/bin/sh\nexec /bin/sleep 60\n',
    timeoutMs: 1_000,
  });
  expect(slow.exitCode).toBe(124);
  expect(Date.now() - started).toBeLessThan(20_000);
});

test('health: SSH reachability plus the optional command and HTTP probes', async () => {
  // The HTTP probe targets the test's own veth address (10.231.11.1), where this test listens.
  const server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 503).end());
  await new Promise<void>((resolve) => server.listen(0, '10.231.11.1', resolve));
  const url = `http://10.231.11.1:${(server.address() as AddressInfo).port}`;
  try {
    expect(
      await new SshDriver(host.settings({ health: { httpUrl: `${url}/healthz` } })).health(target),
    ).toEqual({
      healthy: true,
      detail: 'reachable over SSH, HTTP probe passed',
    });
    expect(await new SshDriver(host.settings({ health: { httpUrl: `${url}/down` } })).health(target)).toEqual(
      {
        healthy: false,
        detail: `${url}/down answered 503`,
      },
    );
  } finally {
    server.close();
  }
  const well = await new SshDriver(
    host.settings({ health: { command: ['/usr/bin/test', '-e', '/etc/hostname'] } }),
  ).health(target);
  expect(well).toEqual({ healthy: true, detail: 'reachable over SSH, health command passed' });
  const sick = await new SshDriver(
    host.settings({ health: { command: ['/usr/bin/test', '-e', '/nonexistent'] } }),
  ).health(target);
  expect(sick).toMatchObject({ healthy: false, detail: expect.stringContaining('exited 1') });
});

test('an unknown host key fails without retry and runs nothing', async () => {
  const wrong = new SshDriver(host.settings({ hostKeySha256: 'SHA256:' + 'A'.repeat(43) }));
  const script = '#!/bin/sh\ntouch /tmp/ran-with-wrong-key\n';
  const err = await wrong
    .runScript(target, { kind: 'pre', script, timeoutMs: 10_000 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DriverError);
  expect(err).toMatchObject({
    kind: 'HostKeyMismatch',
    message: expect.stringContaining(host.hostKeySha256),
  });
  await expect(wrong.assess(target)).rejects.toMatchObject({ kind: 'HostKeyMismatch' });
  expect(existsSync(join(host.rootfs, 'tmp/ran-with-wrong-key'))).toBe(false);
});

test('a login shell whose quoting the driver does not know is refused once per connection, before any command', async () => {
  // A working shell the driver does not know (a copy of dash under another name): sshd runs it, the
  // driver reads it from the passwd entry and refuses the connection before sending anything else.
  const passwdPath = join(host.rootfs, 'etc/passwd');
  const passwd = await readFile(passwdPath, 'utf8');
  await copyFile(join(host.rootfs, 'usr/bin/dash'), join(host.rootfs, 'usr/local/bin/quirksh'));
  await writeFile(passwdPath, passwd.replace(/^(offpeak:.*:)\/bin\/bash$/m, '$1/usr/local/bin/quirksh'));
  try {
    const script = '#!/bin/sh\ntouch /tmp/ran-under-unknown-shell\n';
    const err = await driver()
      .runScript(target, { kind: 'pre', script, timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({
      kind: 'UnsupportedShell',
      message: expect.stringContaining('"/usr/local/bin/quirksh" is not a POSIX shell'),
    });
    await expect(driver().assess(target)).rejects.toMatchObject({ kind: 'UnsupportedShell' });
    expect(existsSync(join(host.rootfs, 'tmp/ran-under-unknown-shell'))).toBe(false);
  } finally {
    await writeFile(passwdPath, passwd);
  }
  // Back to bash: the same driver works again.
  expect(await driver().bootId(target)).toBe(host.bootId());
});

// Last: the host stays down afterwards.
test('a host that never comes back from its reboot is reported DidNotComeBack within the bound', async () => {
  const d = driver({ connectTimeoutMs: 2_000 });
  const before = await d.bootId(target);
  await host.neverComeBack();
  expect(await d.reboot(target, { expectedBootId: before })).toEqual({ rebooted: true });
  const started = Date.now();
  await expect(d.waitForBoot(target, { previousBootId: before, timeoutMs: 4_000 })).rejects.toMatchObject({
    kind: 'DidNotComeBack',
  });
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(await d.health(target)).toMatchObject({ healthy: false });
});
