import { z } from 'zod';

/**
 * Pre/post scripts of a maintenance configuration. Two forms, and never a command line to split:
 * - a script already on the host: an absolute path of letters, digits and `._+-/` (no spaces, no `.` or
 *   `..` segment), written alone (`/opt/patch/drain.sh`) or with its arguments as a list
 *   (`{ path: /opt/patch/drain.sh, args: [--drain, now] }`); each argument reaches the script literally;
 * - a script shipped with the configuration: text starting with `#!/bin/sh` or `#!/bin/bash`, sent to
 *   that interpreter on standard input.
 * The fleet schema and the ssh driver check with the same function (`parseScriptRef`).
 */

export type ScriptRef =
  | { kind: 'path'; path: string; args: string[] }
  | { kind: 'inline'; interpreter: '/bin/sh' | '/bin/bash'; body: string };

export const SCRIPT_PATH = /^\/[A-Za-z0-9._+/-]+$/;
export const SHIPPED_INTERPRETERS = ['/bin/sh', '/bin/bash'] as const;
export const SCRIPT_BOUNDS = {
  pathLength: 4096,
  args: 64,
  argLength: 4096,
  shippedBytes: 64 * 1024,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** `script` (a path, or a shipped script) with `args` (for a path only) as a reference, or why not. */
export function parseScriptRef(
  script: string,
  args: readonly string[] = [],
): { ok: true; value: ScriptRef } | { ok: false; problem: string } {
  if (script.startsWith('#!')) {
    const newline = script.indexOf('\n');
    const firstLine = script.slice(2, newline < 0 ? undefined : newline).trim();
    const interpreter = SHIPPED_INTERPRETERS.find((i) => i === firstLine);
    if (!interpreter)
      return { ok: false, problem: 'a shipped script must start with #!/bin/sh or #!/bin/bash' };
    if (script.includes('\0')) return { ok: false, problem: 'a shipped script cannot contain a NUL byte' };
    if (script.length > SCRIPT_BOUNDS.shippedBytes)
      return {
        ok: false,
        problem: `a shipped script must be at most ${SCRIPT_BOUNDS.shippedBytes} characters`,
      };
    if (args.length) return { ok: false, problem: 'a shipped script takes no arguments' };
    return { ok: true, value: { kind: 'inline', interpreter, body: script } };
  }
  if (CONTROL.test(script))
    return { ok: false, problem: 'a script path cannot contain control characters (newlines included)' };
  if (script.includes(' '))
    return {
      ok: false,
      problem: 'a script path cannot contain spaces: write { path: /the/script, args: [...] } for arguments',
    };
  if (
    script.length > SCRIPT_BOUNDS.pathLength ||
    !SCRIPT_PATH.test(script) ||
    script.split('/').some((seg) => seg === '..' || seg === '.')
  )
    return {
      ok: false,
      problem: 'must be an absolute path of letters, digits and ._+-/ without "." or ".." segments',
    };
  if (args.length > SCRIPT_BOUNDS.args)
    return { ok: false, problem: `at most ${SCRIPT_BOUNDS.args} arguments` };
  const bad = args.findIndex((a) => CONTROL.test(a) || a.length > SCRIPT_BOUNDS.argLength);
  if (bad >= 0)
    return {
      ok: false,
      problem: `argument ${bad} must be at most ${SCRIPT_BOUNDS.argLength} characters without control characters`,
    };
  return { ok: true, value: { kind: 'path', path: script, args: [...args] } };
}

/** A script as a fleet file writes it: a path or shipped script, or `{ path, args }`. */
export type ScriptInput = string | { path: string; args?: string[] };

/** The script and its arguments, whichever form was written. */
export function scriptCallOf(input: ScriptInput): { script: string; args: string[] } {
  return typeof input === 'string'
    ? { script: input, args: [] }
    : { script: input.path, args: input.args ?? [] };
}

export const scriptSchema: z.ZodType<ScriptInput> = z
  .union([z.string(), z.object({ path: z.string(), args: z.array(z.string()).optional() }).strict()])
  .superRefine((value, ctx) => {
    const call = scriptCallOf(value);
    const parsed = parseScriptRef(call.script, call.args);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
  });
