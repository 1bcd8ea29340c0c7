/**
 * SSH runs a remote command as one string that the user's login shell parses: there is no argv on the
 * wire. The driver therefore builds every command as an argv array and turns it into a string here,
 * and only here, by single-quoting every element (`'` becomes `'\''`). A POSIX shell reads such a
 * word back as exactly the original bytes: no expansion, globbing or word splitting happens inside
 * single quotes. Elements containing a NUL byte cannot be passed through a shell and are refused.
 */
export type Argv = readonly string[];

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The remote command line of `argv`: each element quoted, joined with spaces. */
export function commandLine(argv: Argv): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteArg).join(' ');
}
