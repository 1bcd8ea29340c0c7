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

/**
 * A pre/post script reference from the maintenance configuration. Two forms:
 * - `/absolute/path [arg ...]`: a script already on the host. The path holds only letters, digits and
 *   `._+-/` with no `..` segment; arguments are separated by spaces and passed to the script literally
 *   (quoted, never parsed by a shell), so `;`, `$()` or a leading `-` reach the script as text.
 * - a script shipped with the configuration: text starting with `#!/bin/sh` or `#!/bin/bash` (its
 *   first line names the interpreter, one of those two), sent on standard input.
 * Control characters (newlines included) are refused in a path and its arguments.
 */
export type ScriptRef =
  | { kind: 'path'; path: string; args: string[] }
  | { kind: 'inline'; interpreter: '/bin/sh' | '/bin/bash'; body: string };

const SCRIPT_PATH = /^\/[A-Za-z0-9._+/-]+$/;
const INTERPRETERS = ['/bin/sh', '/bin/bash'] as const;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function parseScriptRef(
  script: string,
): { ok: true; value: ScriptRef } | { ok: false; problem: string } {
  if (script.startsWith('#!')) {
    const firstLine = script.slice(2, script.indexOf('\n') < 0 ? undefined : script.indexOf('\n')).trim();
    const interpreter = INTERPRETERS.find((i) => i === firstLine);
    if (!interpreter)
      return { ok: false, problem: `a shipped script must start with #!/bin/sh or #!/bin/bash` };
    if (script.includes('\0')) return { ok: false, problem: 'a shipped script cannot contain a NUL byte' };
    return { ok: true, value: { kind: 'inline', interpreter, body: script } };
  }
  if (CONTROL.test(script))
    return { ok: false, problem: 'a script reference cannot contain control characters (newlines included)' };
  const [path, ...args] = script.split(' ').filter((part) => part !== '');
  if (!path || !SCRIPT_PATH.test(path) || path.split('/').some((seg) => seg === '..' || seg === '.'))
    return {
      ok: false,
      problem: `"${path ?? ''}" is not an absolute script path of letters, digits and ._+-/`,
    };
  return { ok: true, value: { kind: 'path', path, args } };
}
