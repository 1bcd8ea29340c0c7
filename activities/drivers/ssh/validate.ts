/**
 * Strict patterns for everything the driver puts on a remote command line. Values are quoted anyway
 * (see quote.ts); validation is the second wall, and it refuses what no distribution would produce:
 * leading dashes (options), slashes (local package files), whitespace, control characters and shell
 * metacharacters.
 */

/** Debian policy 5.6.1: lower case letters, digits, `+`, `-`, `.`; at least two characters; starts alphanumeric. */
export const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** Debian policy 5.6.12: `[epoch:]upstream[-revision]`; letters, digits, `.+~-:` and starts with a digit. */
export const DEB_VERSION = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;
/** RPM names: letters, digits and `._+-`, starting with a letter or digit (no spaces, no `/`, no globs). */
export const RPM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** RPM `[epoch:]version-release`: no `-` inside version or release, as rpm itself requires. */
export const RPM_EVR = /^(?:[0-9]+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$/;

export type PackageFamily = 'apt' | 'dnf';

export interface PackageRef {
  name: string;
  version: string;
}

const MAX = 256;

export function isValidPackageName(family: PackageFamily, name: string): boolean {
  return name.length <= MAX && (family === 'apt' ? DEB_NAME : RPM_NAME).test(name);
}

export function isValidVersion(family: PackageFamily, version: string): boolean {
  return version.length <= MAX && (family === 'apt' ? DEB_VERSION : RPM_EVR).test(version);
}

/** A patch id `name=version` (domain/patches.ts) as a package reference, or undefined when anything is off. */
export function parsePatchId(family: PackageFamily, patchId: string): PackageRef | undefined {
  const eq = patchId.indexOf('=');
  if (eq < 0 || eq !== patchId.lastIndexOf('=')) return undefined;
  const name = patchId.slice(0, eq);
  const version = patchId.slice(eq + 1);
  if (!isValidPackageName(family, name) || !isValidVersion(family, version)) return undefined;
  return { name, version };
}
