import type { z } from 'zod';

/** One thing wrong with an input, reported as data: `path: message`. */
export interface Problem {
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export function formatProblem(problem: Problem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

/** Renders a zod path such as ['machines', 3, 'zone'] as `machines[3].zone`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** One problem per field (zod may report a value twice, e.g. "not a safe integer" and "too big"). */
export function problemsFromZod(error: z.ZodError, prefix = ''): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    const at = prefix && path ? `${prefix}.${path}` : prefix || path;
    if (seen.has(at)) continue;
    seen.add(at);
    problems.push({ path: at, message: issue.message });
  }
  return problems;
}

/** Problem output is bounded: this many problems at most, then a count of the rest. */
export const MAX_PROBLEMS_SHOWN = 50;
/** A path or message longer than this many characters is cut (the user's own values echo in both). */
export const MAX_PROBLEM_TEXT = 300;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Control characters as visible escapes (`\n`, `\u001b`), so no input can drive the terminal. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) =>
    c === '\n'
      ? '\\n'
      : c === '\t'
        ? '\\t'
        : c === '\r'
          ? '\\r'
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function cut(text: string): string {
  const shown = escapeControl(
    text.length > MAX_PROBLEM_TEXT * 2 ? text.slice(0, MAX_PROBLEM_TEXT * 2) : text,
  );
  return shown.length > MAX_PROBLEM_TEXT ? `${shown.slice(0, MAX_PROBLEM_TEXT)}… (cut)` : shown;
}

/** The lines a user sees for `problems`: the first 50, each cut and escaped, then how many more there are. */
export function formatProblems(problems: readonly Problem[]): string[] {
  const lines = problems
    .slice(0, MAX_PROBLEMS_SHOWN)
    .map((p) => formatProblem({ path: cut(p.path), message: cut(p.message) }));
  const rest = problems.length - MAX_PROBLEMS_SHOWN;
  if (rest > 0) lines.push(`… and ${rest} more problem${rest === 1 ? '' : 's'} (${problems.length} in all)`);
  return lines;
}

/**
 * Keys that cannot be names in a record: JSON and YAML parsers keep `__proto__` as an own key, but zod
 * (and any plain object) drops it or turns it into a prototype, so it is refused before parsing.
 */
export const RESERVED_KEYS = ['__proto__'] as const;

/** A problem per reserved key of `value` (when it is an object), at `path.<key>`. */
export function reservedKeyProblems(value: unknown, path: string): Problem[] {
  if (typeof value !== 'object' || value === null) return [];
  return RESERVED_KEYS.filter((key) => Object.hasOwn(value, key)).map((key) => ({
    path: `${path}.${key}`,
    message: 'is a reserved name: choose another',
  }));
}
