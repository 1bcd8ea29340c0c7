/**
 * SSH runs a remote command as one string that the user's login shell parses: there is no argv on the
 * wire. The driver therefore builds every command as an argv array and turns it into a string here,
 * and only here, by single-quoting every element (`'` becomes `'\''`). A POSIX shell reads such a
 * word back as exactly the original bytes: no expansion, globbing or word splitting happens inside
 * single quotes. Elements containing a NUL byte cannot be passed through a shell and are refused.
 */
export type Argv = readonly string[];

/**
 * Login shells whose single quotes are literal, as POSIX sh's: the only ones this quoting is right for.
 * fish, for one, reads `\\` inside single quotes as one backslash; csh expands `!` inside them.
 */
export const POSIX_LOGIN_SHELL = /^\/(usr\/)?(local\/)?bin\/(sh|bash|dash|ash|ksh|ksh93|mksh|zsh)$/;

/** The login shell in `user`'s passwd entry (`getent passwd` output); an empty field means /bin/sh. */
export function loginShellOf(passwd: string, user: string): string | undefined {
  const fields = passwd.split('\n')[0].split(':');
  if (fields.length !== 7 || fields[0] !== user) return undefined;
  return fields[6].trim() || '/bin/sh';
}

/** Why commands cannot be sent through `shell`, or undefined when its quoting is POSIX's. */
export function loginShellProblem(shell: string | undefined): string | undefined {
  if (shell === undefined) return 'its passwd entry could not be read';
  if (!POSIX_LOGIN_SHELL.test(shell))
    return `its login shell ${JSON.stringify(shell)} is not a POSIX shell (sh, bash, dash, ash, ksh, mksh, zsh) whose quoting the driver knows`;
  return undefined;
}

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The remote command line of `argv`: each element quoted, joined with spaces. */
export function commandLine(argv: Argv): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteArg).join(' ');
}
