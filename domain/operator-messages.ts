/**
 * Bounds on what an operator sends a rollout (approve, reject, pause, resume, cancel): a message that breaks
 * them is refused before it reaches the history, so hostile or careless callers cannot make a rollout's
 * history or status unmanageable. Pure; the workflows' update validators and the CLI both call it.
 */
export const MAX_NAME_LENGTH = 100;
export const MAX_TEXT_LENGTH = 1024;

/** Control characters (C0 and DEL): they would garble a terminal showing the record. */
const hasControl = (text: string) =>
  [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** What is wrong with an operator's request, as `field: problem`, or undefined when it is well-formed. */
export function operatorRequestProblem(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return 'request: must be an object';
  const r = request as Record<string, unknown>;
  for (const field of ['by', 'gate'] as const) {
    const value = r[field];
    if (value === undefined && field === 'gate') continue;
    if (typeof value !== 'string' || value.trim() === '') return `${field}: must be a non-empty string`;
    if (value.length > MAX_NAME_LENGTH) return `${field}: at most ${MAX_NAME_LENGTH} characters`;
    if (hasControl(value)) return `${field}: must not contain control characters`;
  }
  for (const field of ['comment', 'reason'] as const) {
    const value = r[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `${field}: must be a string`;
    if (value.length > MAX_TEXT_LENGTH) return `${field}: at most ${MAX_TEXT_LENGTH} characters`;
  }
  if (r.override !== undefined && typeof r.override !== 'boolean') return 'override: must be true or false';
  return undefined;
}
