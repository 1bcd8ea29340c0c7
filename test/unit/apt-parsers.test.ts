import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aptInstallArgv,
  aptPatches,
  aptRebootBehavior,
  dpkgQueryArgv,
  isSecurityUpgrade,
  parseAptSimulation,
  parseDpkgQuery,
  parseRebootRequiredPkgs,
} from '../../activities/drivers/ssh/apt';

/** Real outputs captured from real Debian systems: test/fixtures/apt/README.md. */
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'apt', name), 'utf8');

test("Debian's real security archive: every upgrade with its versions, all Security", () => {
  const upgrades = parseAptSimulation(fixture('bookworm-security-dist-upgrade.txt'));
  expect(upgrades.map((u) => [u.name, u.from, u.to])).toEqual([
    ['perl-base', '5.36.0-7+deb12u3', '5.36.0-7+deb12u4'],
    ['liblzma5', '5.4.1-1+deb12u1', '5.4.1-1+deb12u2'],
    ['libapt-pkg6.0', '2.6.1', '2.6.2'],
    ['apt', '2.6.1', '2.6.2'],
    ['libpcre2-8-0', '10.42-1', '10.42-1+deb12u2'],
    ['tzdata', '2026b-0+deb12u1', '2026f-0+deb12u1'],
    ['libssl3', '3.0.20-1~deb12u2', '3.0.22-1~deb12u2'],
  ]);
  expect(upgrades[0]).toMatchObject({
    archives: ['oldstable-security'],
    labels: ['Debian-Security'],
    arch: 'amd64',
  });
  expect(upgrades.find((u) => u.name === 'tzdata')?.arch).toBe('all');
  const patches = aptPatches(upgrades);
  expect(
    patches.every((p) => p.classification === 'Security' && p.patchId === `${p.name}=${p.version}`),
  ).toBe(true);
  expect(patches.find((p) => p.name === 'libssl3')).toEqual({
    patchId: 'libssl3=3.0.22-1~deb12u2',
    name: 'libssl3',
    version: '3.0.22-1~deb12u2',
    classification: 'Security',
    rebootBehavior: 'CanRequestReboot',
    hotpatch: false,
  });
});

test('the test host: security suite vs updates suite; Conf lines and headers are ignored', () => {
  const patches = aptPatches(parseAptSimulation(fixture('testhost-dist-upgrade.txt')));
  expect(patches.map((p) => [p.patchId, p.classification])).toEqual([
    ['offpeak-extra=1.1-1', 'Other'],
    ['offpeak-hello=1.0-2', 'Security'],
    ['offpeak-tool=2.1-1', 'Other'],
  ]);
});

test('output without upgrades, or not from apt at all, yields no patches', () => {
  for (const name of [
    'testhost-apt-get-update.txt',
    'testhost-install-offpeak-hello.txt',
    'testhost-sudo-refused.txt',
  ])
    expect(parseAptSimulation(fixture(name))).toEqual([]);
  expect(parseAptSimulation('')).toEqual([]);
});

test('a new dependency (no installed version) is not a patch of its own; several origins are all read', () => {
  const upgrades = parseAptSimulation(
    // The shapes apt prints for a newly installed package and for a version offered by two archives.
    'Inst linux-image-6.1.0-99-amd64 (6.1.99-1 Debian-Security:12/oldstable-security [amd64])\n' +
      'Inst libc6 [2.36-9+deb12u7] (2.36-9+deb12u9 Debian:12.9/oldstable, Debian-Security:12/oldstable-security [amd64]) []\n',
  );
  expect(upgrades[0].from).toBeUndefined();
  expect(upgrades[1]).toMatchObject({
    archives: ['oldstable', 'oldstable-security'],
    labels: ['Debian', 'Debian-Security'],
  });
  expect(aptPatches(upgrades).map((p) => p.patchId)).toEqual(['libc6=2.36-9+deb12u9']);
});

test('security means a security archive or label, nothing looser', () => {
  expect(isSecurityUpgrade({ archives: ['jammy-updates', 'jammy-security'], labels: ['Ubuntu'] })).toBe(true);
  expect(isSecurityUpgrade({ archives: ['bookworm-security'], labels: ['Debian'] })).toBe(true);
  expect(isSecurityUpgrade({ archives: ['stable'], labels: ['Debian-Security'] })).toBe(true);
  expect(isSecurityUpgrade({ archives: ['jammy-updates'], labels: ['Ubuntu'] })).toBe(false);
  expect(
    isSecurityUpgrade({ archives: ['securityish', 'security-backports'], labels: ['Insecurity Inc'] }),
  ).toBe(false);
});

test('kernels and microcode always reboot; anything else can ask', () => {
  expect(aptRebootBehavior('linux-image-6.1.0-28-amd64')).toBe('AlwaysRequiresReboot');
  expect(aptRebootBehavior('intel-microcode')).toBe('AlwaysRequiresReboot');
  expect(aptRebootBehavior('linux-image-amd64')).toBe('AlwaysRequiresReboot'); // the metapackage brings a new kernel
  expect(aptRebootBehavior('linux-base')).toBe('CanRequestReboot');
  expect(aptRebootBehavior('openssl')).toBe('CanRequestReboot');
});

test('reboot-required.pkgs and dpkg-query, as the real host wrote them', () => {
  expect(parseRebootRequiredPkgs(fixture('testhost-reboot-required.pkgs'))).toEqual(['offpeak-hello']);
  expect(
    parseRebootRequiredPkgs('linux-image-6.1.0-28-amd64\nlibc6\nlinux-image-6.1.0-28-amd64\n; rm -rf /\n'),
  ).toEqual(['linux-image-6.1.0-28-amd64', 'libc6']);
  const installed = parseDpkgQuery(fixture('testhost-dpkg-query.txt'));
  expect(installed.get('offpeak-hello')).toEqual(['1.0-1']);
  expect(installed.get('sudo')).toEqual(['1.9.13p3-1+deb12u4']);
  expect(parseDpkgQuery('libfoo\t1.0\trc \n').size).toBe(0); // removed, config files only
});

test('install and query commands: fixed options, then `--`, then validated words only', () => {
  expect(
    aptInstallArgv([
      { name: 'openssl', version: '3.0.15-1~deb12u1' },
      { name: 'libc6', version: '2.36-9+deb12u9' },
    ]),
  ).toEqual([
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
    'openssl=3.0.15-1~deb12u1',
    'libc6=2.36-9+deb12u9',
  ]);
  expect(aptInstallArgv([{ name: 'tzdata', version: '1:2024a-1' }]).at(-1)).toBe('tzdata=1:2024a-1');
  for (const bad of [
    { name: '-oAPT::Update::Pre-Invoke::=sh', version: '1' },
    { name: './evil.deb', version: '1' },
    { name: 'openssl', version: '1;id' },
    { name: 'openssl', version: '1\nid' },
    { name: 'Openssl', version: '1.0' },
  ])
    expect(() => aptInstallArgv([bad])).toThrow(/refusing/);
  expect(() => aptInstallArgv([])).toThrow(/nothing/);
  expect(dpkgQueryArgv(['openssl']).slice(-2)).toEqual(['--', 'openssl']);
  expect(() => dpkgQueryArgv(['$(id)'])).toThrow(/refusing/);
});
