import type { AvailablePatch, RebootBehavior } from '../../../domain/patches';
import type { Classification } from '../../../domain/policy';
import type { Argv } from './quote';
import { isValidPackageName, isValidVersion, type PackageRef } from './validate';

/**
 * dnf (RHEL, Alma, Rocky, Oracle, Fedora): pure parsers of dnf 4's output and the argv of every
 * command. Metadata is refreshed as root (`makecache`); reading it (`-C`, cache only) needs no root.
 */
export const DNF_MAKECACHE: Argv = ['/usr/bin/dnf', '-q', '-y', 'makecache'];
/** Exit 100: updates available; 0: none; 1: error. */
export const DNF_CHECK_UPDATE: Argv = ['/usr/bin/dnf', '-q', '-C', 'check-update'];
export const DNF_UPDATEINFO: Argv = ['/usr/bin/dnf', '-q', '-C', 'updateinfo', 'list', '--updates'];
/** Exit 1 and the packages that need it when a reboot is required; 0 when not. */
export const DNF_NEEDS_RESTARTING: Argv = ['/usr/bin/dnf', '-q', '-C', 'needs-restarting', '-r'];
export const DNF_UPGRADE_PREFIX: Argv = ['/usr/bin/dnf', '-q', '-y', 'upgrade', '--'];

/** `version` without a zero epoch: rpm and dnf print `0:1.2-3` and `1.2-3` for the same thing. */
export function normalizeEvr(evr: string): string {
  return evr.replace(/^0:/, '');
}

/** Upgrades exactly the named packages to exactly the named `[epoch:]version-release`, after `--`. */
export function dnfUpgradeArgv(packages: readonly PackageRef[]): Argv {
  if (packages.length === 0) throw new Error('nothing to install');
  for (const p of packages)
    if (!isValidPackageName('dnf', p.name) || !isValidVersion('dnf', p.version))
      throw new Error(`refusing package reference ${JSON.stringify(`${p.name}=${p.version}`)}`);
  return [...DNF_UPGRADE_PREFIX, ...packages.map((p) => `${p.name}-${p.version}`)];
}

/** Installed `name<TAB>epoch:version-release` lines (unprivileged). */
export function rpmQueryArgv(names: readonly string[]): Argv {
  for (const n of names)
    if (!isValidPackageName('dnf', n)) throw new Error(`refusing package name ${JSON.stringify(n)}`);
  return ['/usr/bin/rpm', '-q', '--qf', '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n', '--', ...names];
}

/** `rpm -q --qf` output: the installed versions of each package (install-only packages such as kernel have several). */
export function parseRpmQuery(output: string): Map<string, string[]> {
  const installed = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const [name, evr] = line.split('\t');
    if (name && evr && !line.includes(' is not installed'))
      installed.set(name, [...(installed.get(name) ?? []), normalizeEvr(evr.trim())]);
  }
  return installed;
}

export interface DnfUpdate {
  name: string;
  arch: string;
  /** `[epoch:]version-release`, zero epoch dropped. */
  evr: string;
  repo: string;
}

function splitNameArch(nameArch: string): { name: string; arch: string } | undefined {
  const dot = nameArch.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return { name: nameArch.slice(0, dot), arch: nameArch.slice(dot + 1) };
}

/**
 * `dnf check-update`: `name.arch  [epoch:]version-release  repo` rows. dnf wraps a row whose name is
 * too long for its column onto two lines, so the rows are read as a stream of three-word groups; the
 * `Obsoleting Packages` section (packages replaced by others) ends the list.
 */
export function parseCheckUpdate(output: string): DnfUpdate[] {
  const words: string[] = [];
  for (const line of output.split('\n')) {
    if (/^Obsoleting Packages/.test(line)) break;
    if (/^(Last metadata expiration check|Security:|Updating Subscription|This system)/.test(line)) continue;
    words.push(...line.trim().split(/\s+/).filter(Boolean));
  }
  const updates: DnfUpdate[] = [];
  for (let i = 0; i + 2 < words.length; i += 3) {
    const na = splitNameArch(words[i]);
    if (!na) continue;
    updates.push({ ...na, evr: normalizeEvr(words[i + 1]), repo: words[i + 2] });
  }
  return updates;
}

export interface Advisory {
  id: string;
  type: 'security' | 'bugfix' | 'enhancement' | 'newpackage' | 'unknown';
  /** Red Hat's severity of a security advisory: Critical, Important, Moderate, Low. */
  severity?: string;
  name: string;
  evr: string;
}

/** Splits `name-[epoch:]version-release.arch` (a NEVRA as dnf prints it). */
export function parseNevra(nevra: string): { name: string; evr: string; arch: string } | undefined {
  const dot = nevra.lastIndexOf('.');
  if (dot < 0) return undefined;
  const nevr = nevra.slice(0, dot);
  const arch = nevra.slice(dot + 1);
  const rel = nevr.lastIndexOf('-');
  const ver = rel < 0 ? -1 : nevr.lastIndexOf('-', rel - 1);
  if (ver <= 0) return undefined;
  return { name: nevr.slice(0, ver), evr: normalizeEvr(nevr.slice(ver + 1)), arch };
}

/**
 * `dnf updateinfo list`: `ADVISORY  TYPE  NEVRA` rows; a security advisory's type is `<Severity>/Sec.`
 * (`Important/Sec.`), other types are `bugfix`, `enhancement`, `newpackage`.
 */
export function parseUpdateinfoList(output: string): Advisory[] {
  const advisories: Advisory[] = [];
  for (const line of output.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length !== 3) continue;
    const [id, kind, nevra] = words;
    const pkg = parseNevra(nevra);
    if (!pkg) continue;
    const sec = /^(?:(\w+)\/)?Sec\.$/.exec(kind);
    const type: Advisory['type'] = sec
      ? 'security'
      : kind === 'bugfix' || kind === 'enhancement' || kind === 'newpackage'
        ? kind
        : 'unknown';
    const severity = sec?.[1] && sec[1] !== 'None' && sec[1] !== 'Unknown' ? sec[1] : undefined;
    advisories.push({ id, type, ...(severity ? { severity } : {}), name: pkg.name, evr: pkg.evr });
  }
  return advisories;
}

/**
 * `dnf needs-restarting -r`: the packages listed as `  * name` under "Core libraries or services have
 * been updated since boot-up". Whether a reboot is needed comes from the exit code (1), not the text.
 */
export function parseNeedsRestarting(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s+\*\s+(\S+)\s*$/.exec(line);
    if (m && isValidPackageName('dnf', m[1])) names.push(m[1]);
  }
  return [...new Set(names)];
}

/** The packages dnf's needs-restarting itself names as needing a reboot (dnf-plugins-core's NEED_REBOOT). */
const REBOOT_PACKAGES = new Set([
  'kernel',
  'kernel-core',
  'kernel-rt',
  'kernel-rt-core',
  'glibc',
  'linux-firmware',
  'systemd',
  'udev',
  'openssl-libs',
  'gnutls',
  'dbus',
  'dbus-broker',
  'dbus-daemon',
  'microcode_ctl',
]);

export function dnfRebootBehavior(name: string): RebootBehavior {
  if (/^kernel(-rt)?(-core)?$/.test(name) || name === 'microcode_ctl' || name === 'linux-firmware')
    return 'AlwaysRequiresReboot';
  return REBOOT_PACKAGES.has(name) ? 'CanRequestReboot' : 'NeverReboots';
}

/**
 * The assessment's patches: each update, classified by the advisory that ships its version (or any
 * newer advisory for the package): Critical when Red Hat rates the security advisory Critical,
 * Security for any other security advisory, Other otherwise.
 */
export function dnfPatches(updates: readonly DnfUpdate[], advisories: readonly Advisory[]): AvailablePatch[] {
  const seen = new Set<string>();
  const patches: AvailablePatch[] = [];
  for (const u of updates) {
    const patchId = `${u.name}=${u.evr}`;
    if (seen.has(patchId) || !isValidPackageName('dnf', u.name) || !isValidVersion('dnf', u.evr)) continue;
    seen.add(patchId);
    const mine = advisories.filter((a) => a.name === u.name && a.type === 'security');
    const classification: Classification = mine.some((a) => a.severity === 'Critical')
      ? 'Critical'
      : mine.length
        ? 'Security'
        : 'Other';
    patches.push({
      patchId,
      name: u.name,
      version: u.evr,
      classification,
      rebootBehavior: dnfRebootBehavior(u.name),
      hotpatch: false,
    });
  }
  return patches;
}
