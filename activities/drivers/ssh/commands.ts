import type { Argv } from './quote';
import type { ScriptRef } from '../../../domain/scripts';

/** Commands common to every Linux family. All unprivileged except REBOOT. */
export const BOOT_ID: Argv = ['/bin/cat', '/proc/sys/kernel/random/boot_id'];
export const OS_RELEASE: Argv = ['/bin/cat', '/etc/os-release'];
/** Debian/Ubuntu: a package asked for a reboot (exit 0) or not (exit 1). */
export const REBOOT_REQUIRED: Argv = ['/usr/bin/test', '-e', '/var/run/reboot-required'];
export const REBOOT_REQUIRED_PKGS: Argv = ['/bin/cat', '/var/run/reboot-required.pkgs'];
export const TRUE: Argv = ['/bin/true'];
/** Root, through its own exact sudo rule (no arguments allowed). */
export const REBOOT: Argv = ['/usr/sbin/reboot'];

/** Runs `argv` as root through sudo, never prompting (a missing rule fails at once). */
export function sudo(argv: Argv): Argv {
  return ['/usr/bin/sudo', '-n', '--', ...argv];
}

/**
 * The per-host install lock: `flock` on a file in the SSH user's home, held by `cat` for as long as the
 * driver keeps the channel open. It is released when the install ends, and also when the worker dies
 * (the connection drops, `cat` reads end of file). Exit 75 when another attempt holds it past `waitSeconds`.
 */
export const LOCK_BUSY_EXIT = 75;
export function installLockArgv(waitSeconds: number): Argv {
  return [
    '/usr/bin/flock',
    '-w',
    String(waitSeconds),
    '-E',
    String(LOCK_BUSY_EXIT),
    '.offpeak-install.lock',
    '/bin/cat',
  ];
}

/**
 * A pre/post script under a time limit (coreutils `timeout`: exit 124 when it expires, then SIGKILL
 * after 10 s more). A shipped script is read by its interpreter from standard input.
 */
export function scriptArgv(ref: ScriptRef, timeoutMs: number): { argv: Argv; stdin?: string } {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const limit = ['/usr/bin/timeout', '-k', '10', seconds];
  if (ref.kind === 'path') return { argv: [...limit, ref.path, ...ref.args] };
  return { argv: [...limit, ref.interpreter, '-s'], stdin: ref.body };
}

export type Family = 'apt' | 'dnf';

/** `/etc/os-release` → the package family, from `ID` and `ID_LIKE`. */
export function familyOf(osRelease: string): Family | undefined {
  const field = (key: string) =>
    new RegExp(`^${key}=(.*)$`, 'm')
      .exec(osRelease)?.[1]
      ?.replace(/^["']|["']$/g, '')
      .toLowerCase()
      .split(/\s+/) ?? [];
  const ids = [...field('ID'), ...field('ID_LIKE')];
  if (ids.some((id) => id === 'debian' || id === 'ubuntu')) return 'apt';
  if (ids.some((id) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'].includes(id)))
    return 'dnf';
  return undefined;
}
