import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { aptInstallArgv } from '../../activities/drivers/ssh/apt';
import { familyOf, installLockArgv, scriptArgv } from '../../activities/drivers/ssh/commands';
import { fingerprintOf } from '../../activities/drivers/ssh/connection';
import { dnfUpgradeArgv } from '../../activities/drivers/ssh/dnf';
import { commandLine, loginShellOf, loginShellProblem, quoteArg } from '../../activities/drivers/ssh/quote';
import { sudoersFor } from '../../activities/drivers/ssh/sudoers';
import { parsePatchId } from '../../activities/drivers/ssh/validate';
import { parseScriptRef } from '../../domain/scripts';

/** Strings rich in what breaks shells: metacharacters, quotes, dashes, whitespace, newlines, unicode. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...`;|&$(){}[]<>*?!~#'"\`\\ \t\n\r-=:/.,%^+@`.split('')),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});
const noNul = hostile.filter((s) => !s.includes('\0'));

test('quoting: a real /bin/sh reads every argv back byte for byte, whatever it holds', () => {
  fc.assert(
    fc.property(fc.array(noNul, { maxLength: 6 }), (args) => {
      const line = commandLine(['printf', '%s\\0', ...args]);
      const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
      expect(out.split('\0').slice(0, -1)).toEqual(args.length ? args : ['']);
    }),
    { numRuns: 150 },
  );
  expect(() => quoteArg('a\0b')).toThrow(/NUL/);
  expect(() => commandLine([])).toThrow(/empty/);
});

test('patch ids: whatever is accepted is a plain name=version, never an option, path or shell syntax', () => {
  for (const family of ['apt', 'dnf'] as const)
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          fc.tuple(hostile, hostile).map(([a, b]) => `${a}=${b}`),
        ),
        (id) => {
          const ref = parsePatchId(family, id);
          if (!ref) return;
          expect(`${ref.name}=${ref.version}`).toBe(id);
          expect(ref.name).toMatch(/^[A-Za-z0-9]/);
          expect(id).not.toMatch(/[\s;|&$(){}<>*?!`'"\\/,#]/);
          const argv = family === 'apt' ? aptInstallArgv([ref]) : dnfUpgradeArgv([ref]);
          expect(argv.at(-2)).toBe('--');
        },
      ),
      { numRuns: 2000 },
    );
});

test('patch ids: real names and versions are accepted', () => {
  const deb = [
    'libssl3=3.0.15-1~deb12u1',
    'tzdata=2024a-0+deb12u1',
    'g++-12=12.2.0-14',
    'libc6=2.36-9+deb12u9',
    'vim=2:9.0.1378-2',
  ];
  for (const id of deb) expect(parsePatchId('apt', id)).toBeDefined();
  const rpm = [
    'openssl-libs=1:3.0.7-27.el9',
    'kernel=5.14.0-362.24.1.el9_3',
    'python3.11=3.11.7-1.el9',
    'NetworkManager=1:1.46.0-4.el9_4',
  ];
  for (const id of rpm) expect(parsePatchId('dnf', id)).toBeDefined();
  for (const id of [
    '-oAPT::x=1',
    'openssl',
    'a=b=c',
    'openssl=1.0 ; id',
    './x.deb=1',
    'openssl=$(id)',
    'openssl=1\n',
  ])
    expect(parsePatchId('apt', id)).toBeUndefined();
  expect(parsePatchId('dnf', 'kernel=5.14.0')).toBeUndefined(); // rpm needs version-release
});

test('script references: control characters never pass; a path is absolute without spaces or ".."; arguments are a list and stay literal', () => {
  fc.assert(
    fc.property(
      fc.oneof(hostile, fc.constant('/usr/local/bin/hook')),
      fc.array(hostile, { maxLength: 4 }),
      (script, args) => {
        const parsed = parseScriptRef(script, args);
        if (!parsed.ok) return;
        expect(parsed.value.kind).toBe('path');
        if (parsed.value.kind !== 'path') return;
        // eslint-disable-next-line no-control-regex
        for (const part of [script, ...args]) expect(part).not.toMatch(/[\u0000-\u001f\u007f]/);
        expect(script).not.toContain(' ');
        expect(parsed.value.path.startsWith('/')).toBe(true);
        expect(parsed.value.path.split('/')).not.toContain('..');
        expect(parsed.value).toEqual({ kind: 'path', path: script, args });
        const { argv } = scriptArgv(parsed.value, 5000);
        expect(argv.slice(0, 4)).toEqual(['/usr/bin/timeout', '-k', '10', '5']);
        expect(argv.slice(4)).toEqual([script, ...args]);
      },
    ),
    { numRuns: 2000 },
  );
  expect(parseScriptRef('/usr/local/bin/hook', ['--drain', 'now ;', '$(id)'])).toEqual({
    ok: true,
    value: { kind: 'path', path: '/usr/local/bin/hook', args: ['--drain', 'now ;', '$(id)'] },
  });
  expect(parseScriptRef('#!/bin/sh\necho hi\n')).toEqual({
    ok: true,
    value: { kind: 'inline', interpreter: '/bin/sh', body: '#!/bin/sh\necho hi\n' },
  });
  expect(parseScriptRef('#!/usr/bin/python3\nprint(1)\n').ok).toBe(false);
  for (const bad of [
    'relative/path',
    '-rf /',
    '/usr/../bin/sh',
    '/bin/ls\nid',
    '/bin/ls\r',
    '',
    '/opt/$(id)',
    '/opt/my script.sh',
    '/usr/local/bin/hook --drain',
  ])
    expect(parseScriptRef(bad).ok).toBe(false);
  expect(scriptArgv({ kind: 'inline', interpreter: '/bin/sh', body: 'x' }, 1500)).toEqual({
    argv: ['/usr/bin/timeout', '-k', '10', '2', '/bin/sh', '-s'],
    stdin: 'x',
  });
  expect(installLockArgv(60)).toEqual([
    '/usr/bin/flock',
    '-w',
    '60',
    '-E',
    '75',
    '.offpeak-install.lock',
    '/bin/cat',
  ]);
});

/** The sudo rule's regular expression, as sudo reads it (sudoers escapes removed). */
function sudoRegex(family: 'apt' | 'dnf'): { command: string; regex: RegExp } {
  const rule = sudoersFor('offpeak', family)
    .split('\n')
    .find((l) => l.includes(' ^'))!;
  const spec = rule.slice(rule.indexOf('NOPASSWD: ') + 'NOPASSWD: '.length);
  const command = spec.slice(0, spec.indexOf(' '));
  const pattern = spec.slice(spec.indexOf(' ') + 1).replace(/\\([\\,:=])/g, '$1');
  return { command, regex: new RegExp(pattern) };
}

test('the sudo rules allow every install command the driver builds, and nothing the validators refuse', () => {
  for (const family of ['apt', 'dnf'] as const) {
    const { command, regex } = sudoRegex(family);
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            hostile,
            fc.tuple(hostile, hostile).map(([a, b]) => `${a}=${b}`),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (ids) => {
          const refs = ids.map((id) => parsePatchId(family, id));
          const argv =
            family === 'apt'
              ? [
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
                  ...ids,
                ]
              : ['/usr/bin/dnf', '-q', '-y', 'upgrade', '--', ...ids.map((id) => id.replace('=', '-'))];
          const allowed = regex.test(argv.slice(1).join(' '));
          if (refs.every(Boolean)) {
            const built =
              family === 'apt' ? aptInstallArgv(refs.map((r) => r!)) : dnfUpgradeArgv(refs.map((r) => r!));
            expect(built[0]).toBe(command);
            expect(regex.test(built.slice(1).join(' '))).toBe(true);
          } else if (family === 'apt') {
            expect(allowed).toBe(false);
          }
        },
      ),
      { numRuns: 1000 },
    );
    expect(regex.test(`-q -y install -- ./evil.deb`)).toBe(false);
  }
  const apt = sudoRegex('apt').regex;
  expect(
    apt.test(
      '-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade -- openssl=3.0.15-1~deb12u1',
    ),
  ).toBe(true);
  expect(
    apt.test(
      '-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade -- openssl=3.0.15-1~deb12u1 -o APT::Update::Pre-Invoke::=sh',
    ),
  ).toBe(false);
  expect(
    apt.test(
      '-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade -- /tmp/x.deb',
    ),
  ).toBe(false);
  expect(sudoersFor('offpeak', 'apt')).toContain('offpeak ALL=(root) NOPASSWD: /usr/sbin/reboot ""');
  expect(() => sudoersFor('root ALL=(ALL) ALL', 'apt')).toThrow(/plain user/);
});

test("host key fingerprints are OpenSSH's: SHA256 of the key blob, base64 without padding", () => {
  // `ssh-keygen -lf` on this key printed: 256 SHA256:+exO+IUtWDojpVKCdRLxCWnKo5Mnnwk0hFlQrG4UkUw fixture (ED25519)
  const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIH7Gc5DvtYRp3jxTWeGYcUIjYAOBYfJQnToJ7x3w3ENH', 'base64');
  expect(fingerprintOf(blob)).toBe('SHA256:+exO+IUtWDojpVKCdRLxCWnKo5Mnnwk0hFlQrG4UkUw');
});

test('the documented sudo rules are exactly the generated ones', () => {
  const read = (path: string) => readFileSync(join(__dirname, '..', '..', path), 'utf8');
  const guide = read('docs/ssh-driver.md');
  const readme = read('README.md');
  for (const family of ['apt', 'dnf'] as const)
    for (const line of sudoersFor('offpeak', family)
      .split('\n')
      .filter((l) => l && !l.startsWith('#')))
      expect(guide).toContain(line);
  for (const line of sudoersFor('offpeak', 'apt')
    .split('\n')
    .filter((l) => l && !l.startsWith('#')))
    expect(readme).toContain(line);
});

test('the package family comes from os-release ID and ID_LIKE', () => {
  expect(familyOf(readFileSync('/etc/os-release', 'utf8'))).toBe('apt'); // this Debian machine's own
  expect(familyOf('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n')).toBe('apt');
  expect(familyOf('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n')).toBe('dnf');
  expect(familyOf('NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\n')).toBe('dnf');
  expect(familyOf('NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\n')).toBeUndefined();
  expect(familyOf('ID=alpine\n')).toBeUndefined();
});

describe('login shells: commands go only through shells whose single quotes are literal', () => {
  test.each([
    ['offpeak:x:1000:1000::/home/offpeak:/bin/bash', '/bin/bash', undefined],
    ['offpeak:x:1000:1000::/home/offpeak:/usr/bin/dash\n', '/usr/bin/dash', undefined],
    ['offpeak:x:1000:1000::/home/offpeak:', '/bin/sh', undefined],
    ['offpeak:x:1000:1000::/home/offpeak:/usr/bin/fish', '/usr/bin/fish', 'is not a POSIX shell'],
    ['offpeak:x:1000:1000::/home/offpeak:/bin/tcsh', '/bin/tcsh', 'is not a POSIX shell'],
    ['offpeak:x:1000:1000::/home/offpeak:/usr/sbin/nologin', '/usr/sbin/nologin', 'is not a POSIX shell'],
    ['offpeak:x:1000:1000::/home/offpeak:/tmp/bin/bash', '/tmp/bin/bash', 'is not a POSIX shell'],
    ['mallory:x:1000:1000::/home/m:/bin/bash', undefined, 'could not be read'],
    ['This account is currently not available.', undefined, 'could not be read'],
  ])('%j', (passwd, shell, problem) => {
    expect(loginShellOf(passwd, 'offpeak')).toBe(shell);
    const found = loginShellProblem(loginShellOf(passwd, 'offpeak'));
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
