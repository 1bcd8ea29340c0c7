import type { AvailablePatch, RebootBehavior } from '../../../domain/patches';
import type { Argv } from './quote';
import { isValidPackageName, isValidVersion, type PackageRef } from './validate';

/**
 * apt (Debian, Ubuntu): pure parsers of the tools' output and the argv of every command the driver
 * runs. Only apt-get's stable interface is parsed (`apt-get -s`), never `apt list`, whose output apt
 * itself warns is not stable.
 */

/** Refreshes the package lists (root: a sudo rule). */
export const APT_UPDATE: Argv = ['/usr/bin/apt-get', '-q', 'update'];

/** What a full upgrade would do, simulated. Runs as the unprivileged user: `-s` needs no root and takes no lock. */
export const APT_SIMULATE_UPGRADE: Argv = ['/usr/bin/apt-get', '-s', '-q', 'dist-upgrade'];

/** The options of every install, fixed so a sudo rule can match the command exactly (docs/ssh-driver.md). */
export const APT_INSTALL_PREFIX: Argv = [
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
];

/**
 * Upgrades exactly the given packages to exactly the given versions. Names and versions are checked
 * against Debian policy's patterns (no option, no path to a local .deb, no shell syntax) and come
 * after `--`; `--only-upgrade` never installs a package the host does not have.
 */
export function aptInstallArgv(packages: readonly PackageRef[]): Argv {
  if (packages.length === 0) throw new Error('nothing to install');
  for (const p of packages)
    if (!isValidPackageName('apt', p.name) || !isValidVersion('apt', p.version))
      throw new Error(`refusing package reference ${JSON.stringify(`${p.name}=${p.version}`)}`);
  return [...APT_INSTALL_PREFIX, ...packages.map((p) => `${p.name}=${p.version}`)];
}

/** Installed versions, one `name<TAB>version<TAB>status` line per package (unprivileged). */
export function dpkgQueryArgv(names: readonly string[]): Argv {
  for (const n of names)
    if (!isValidPackageName('apt', n)) throw new Error(`refusing package name ${JSON.stringify(n)}`);
  return [
    '/usr/bin/dpkg-query',
    '-W',
    '-f',
    '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n',
    '--',
    ...names,
  ];
}

/** `dpkg-query -W` output: the installed ("ii") versions of each package (several with multiarch). */
export function parseDpkgQuery(output: string): Map<string, string[]> {
  const installed = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && version && status?.trim().startsWith('ii'))
      installed.set(name, [...(installed.get(name) ?? []), version]);
  }
  return installed;
}

export interface AptUpgrade {
  name: string;
  /** Installed version; absent for a package the upgrade would newly install (a dependency). */
  from?: string;
  to: string;
  /** Archives offering the new version, e.g. `stable-security`, `jammy-updates`. */
  archives: string[];
  /** Release labels, e.g. `Debian-Security`, `Ubuntu`. */
  labels: string[];
  arch: string;
}

// Inst libssl3 [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
// Inst foo (1.0 Debian:12.8/stable, Debian-Security:12/stable-security [amd64]) []
const INST = /^Inst (\S+) (?:\[([^\]]+)\] )?\((\S+) (.*) \[([^\]]+)\]\)/;

/** The `Inst` lines of `apt-get -s (dist-)upgrade|install`: every package the run would unpack. */
export function parseAptSimulation(output: string): AptUpgrade[] {
  const upgrades: AptUpgrade[] = [];
  for (const line of output.split('\n')) {
    const m = INST.exec(line.trim());
    if (!m) continue;
    const [, name, from, to, origins, arch] = m;
    const labels: string[] = [];
    const archives: string[] = [];
    for (const origin of origins.split(', ')) {
      // "Label:Version/Archive"; a repository without a Release file shows only its site.
      const slash = origin.lastIndexOf('/');
      const labelAndVersion = slash < 0 ? origin : origin.slice(0, slash);
      archives.push(slash < 0 ? '' : origin.slice(slash + 1));
      const colon = labelAndVersion.indexOf(':');
      labels.push(colon < 0 ? labelAndVersion : labelAndVersion.slice(0, colon));
    }
    upgrades.push({ name, ...(from ? { from } : {}), to, archives: archives.filter(Boolean), labels, arch });
  }
  return upgrades;
}

/**
 * Security when the new version comes from a security archive: Debian's `stable-security` /
 * `bookworm-security` (label `Debian-Security`), Ubuntu's `jammy-security`. Neither distribution marks
 * a severity in its archives, so apt never yields Critical (docs/ssh-driver.md).
 */
export function isSecurityUpgrade(u: Pick<AptUpgrade, 'archives' | 'labels'>): boolean {
  return u.archives.some((a) => /(^|-)security$/.test(a)) || u.labels.some((l) => /(^|-)security$/i.test(l));
}

/** Kernels and microcode always need a reboot; anything else may ask for one from its maintainer scripts. */
export function aptRebootBehavior(name: string): RebootBehavior {
  if (/^linux-(image|modules|signed-image)-/.test(name) || /^(intel|amd64)-microcode$/.test(name))
    return 'AlwaysRequiresReboot';
  return 'CanRequestReboot';
}

/** The assessment's patches: upgrades of installed packages (new dependencies come with them). */
export function aptPatches(upgrades: readonly AptUpgrade[]): AvailablePatch[] {
  return upgrades
    .filter((u) => u.from !== undefined && isValidPackageName('apt', u.name) && isValidVersion('apt', u.to))
    .map((u) => ({
      patchId: `${u.name}=${u.to}`,
      name: u.name,
      version: u.to,
      classification: isSecurityUpgrade(u) ? 'Security' : 'Other',
      rebootBehavior: aptRebootBehavior(u.name),
      hotpatch: false,
    }));
}

/** `/var/run/reboot-required.pkgs`: the packages that asked for a reboot, once each, in order. */
export function parseRebootRequiredPkgs(content: string): string[] {
  return [
    ...new Set(
      content
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => isValidPackageName('apt', l)),
    ),
  ];
}
