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

export function problemsFromZod(error: z.ZodError, prefix = ''): Problem[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message: issue.message };
  });
}
