import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  dnfPatches,
  dnfRebootBehavior,
  dnfUpgradeArgv,
  parseCheckUpdate,
  parseNeedsRestarting,
  parseNevra,
  parseRpmQuery,
  parseUpdateinfoList,
  rpmQueryArgv,
} from '../../activities/drivers/ssh/dnf';

/** Real dnf 4 output (Debian's dnf packages against a local rpm repository): test/fixtures/dnf/README.md. */
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'dnf', name), 'utf8');

test('check-update: every update with its version and repository, epochs kept', () => {
  expect(parseCheckUpdate(fixture('check-update.txt'))).toEqual([
    { name: 'kernel', arch: 'noarch', evr: '5.14.0-362.24.1.el9_3', repo: 'offpeak' },
    {
      name: 'offpeak-a-very-long-package-name-for-column-wrapping',
      arch: 'noarch',
      evr: '1.0-2.el9',
      repo: 'offpeak',
    },
    { name: 'offpeak-extra', arch: 'noarch', evr: '1:1.1-1.el9', repo: 'offpeak' },
    { name: 'offpeak-hello', arch: 'noarch', evr: '1.0-2.el9', repo: 'offpeak' },
    { name: 'offpeak-tool', arch: 'noarch', evr: '2.1-1.el9', repo: 'offpeak' },
  ]);
  expect(parseCheckUpdate(fixture('check-update-after.txt')).map((u) => u.name)).toEqual([
    'offpeak-a-very-long-package-name-for-column-wrapping',
    'offpeak-hello',
    'offpeak-tool',
  ]);
});

test('check-update: a row dnf wrapped onto two lines, and the Obsoleting section, are read correctly', () => {
  // dnf wraps a row whose name overflows its column (on a narrow terminal); obsoletes end the list.
  const wrapped =
    '\nofpeak-a-very-long-package-name-that-overflows-the-column.x86_64\n                       1.0-2.el9   appstream\n' +
    'openssl-libs.x86_64    1:3.0.7-27.el9    baseos\nObsoleting Packages\ngrub2-tools.x86_64  1:2.06-70.el9  baseos\n    grub2-tools.x86_64  1:2.06-61.el9  @baseos\n';
  expect(parseCheckUpdate(wrapped).map((u) => `${u.name}=${u.evr}`)).toEqual([
    'ofpeak-a-very-long-package-name-that-overflows-the-column=1.0-2.el9',
    'openssl-libs=1:3.0.7-27.el9',
  ]);
});

test('updateinfo list: advisory, type and Red Hat severity, package and version', () => {
  expect(parseUpdateinfoList(fixture('updateinfo-list.txt'))).toEqual([
    {
      id: 'RHSA-2024:1248',
      type: 'security',
      severity: 'Critical',
      name: 'kernel',
      evr: '5.14.0-362.24.1.el9_3',
    },
    { id: 'RHEA-2024:2003', type: 'enhancement', name: 'offpeak-extra', evr: '1:1.1-1.el9' },
    {
      id: 'RHSA-2024:2001',
      type: 'security',
      severity: 'Important',
      name: 'offpeak-hello',
      evr: '1.0-2.el9',
    },
    { id: 'RHBA-2024:2002', type: 'bugfix', name: 'offpeak-tool', evr: '2.1-1.el9' },
  ]);
  expect(parseNevra('openssl-libs-1:3.0.7-27.el9.x86_64')).toEqual({
    name: 'openssl-libs',
    evr: '1:3.0.7-27.el9',
    arch: 'x86_64',
  });
  expect(parseNevra('nonsense')).toBeUndefined();
});

test('classification: Critical where Red Hat rates the advisory Critical, Security for other security advisories, else Other', () => {
  const patches = dnfPatches(
    parseCheckUpdate(fixture('check-update.txt')),
    parseUpdateinfoList(fixture('updateinfo-list.txt')),
  );
  expect(patches.map((p) => [p.patchId, p.classification, p.rebootBehavior])).toEqual([
    ['kernel=5.14.0-362.24.1.el9_3', 'Critical', 'AlwaysRequiresReboot'],
    ['offpeak-a-very-long-package-name-for-column-wrapping=1.0-2.el9', 'Other', 'NeverReboots'],
    ['offpeak-extra=1:1.1-1.el9', 'Other', 'NeverReboots'],
    ['offpeak-hello=1.0-2.el9', 'Security', 'NeverReboots'],
    ['offpeak-tool=2.1-1.el9', 'Other', 'NeverReboots'],
  ]);
  expect(dnfRebootBehavior('glibc')).toBe('CanRequestReboot');
  expect(dnfRebootBehavior('kernel-core')).toBe('AlwaysRequiresReboot');
});

test('needs-restarting -r: the packages that need the reboot', () => {
  expect(parseNeedsRestarting(fixture('needs-restarting-r.txt'))).toEqual([]);
  expect(parseNeedsRestarting(fixture('needs-restarting-r-after-kernel.txt'))).toEqual(['kernel']);
});

test('rpm query: every installed version (install-only kernels have several); missing packages are absent', () => {
  const before = parseRpmQuery(fixture('rpm-query.txt'));
  expect(Object.fromEntries(before)).toEqual({
    'offpeak-hello': ['1.0-1.el9'],
    'offpeak-extra': ['1:1.0-1.el9'],
    kernel: ['5.14.0-362.8.1.el9_3'],
  });
  expect(parseRpmQuery(fixture('rpm-query-two-kernels.txt')).get('kernel')).toEqual([
    '5.14.0-362.8.1.el9_3',
    '5.14.0-362.24.1.el9_3',
  ]);
});

test('upgrade command: fixed options, `--`, then name-[epoch:]version-release words that were validated', () => {
  expect(
    dnfUpgradeArgv([
      { name: 'kernel', version: '5.14.0-362.24.1.el9_3' },
      { name: 'offpeak-extra', version: '1:1.1-1.el9' },
    ]),
  ).toEqual([
    '/usr/bin/dnf',
    '-q',
    '-y',
    'upgrade',
    '--',
    'kernel-5.14.0-362.24.1.el9_3',
    'offpeak-extra-1:1.1-1.el9',
  ]);
  for (const bad of [
    { name: '-x', version: '1-1' },
    { name: 'kernel', version: '5.14.0' },
    { name: 'kernel', version: '1-1;id' },
    { name: 'kernel*', version: '1-1' },
    { name: '/tmp/evil.rpm', version: '1-1' },
  ])
    expect(() => dnfUpgradeArgv([bad])).toThrow(/refusing/);
  expect(rpmQueryArgv(['kernel']).slice(-2)).toEqual(['--', 'kernel']);
});
