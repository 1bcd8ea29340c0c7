import type { Problem } from './problems';
import { signedProofProblems } from './signed-decision';

/**
 * Bounds on every message an operator sends a rollout (approve, reject, pause, resume, cancel), as pure
 * functions over untrusted data: the CLI checks before sending, and the rollout's Update validators call
 * the same functions, so an oversized or malformed message is refused before it reaches the history and
 * hostile or careless callers cannot make a rollout's history or status unmanageable.
 * No zod here on purpose: these run inside workflow code, and plain checks keep the bundle small.
 */

/** Comments and reasons: at most this many UTF-8 bytes (1 KB). */
export const MAX_TEXT_BYTES = 1024;
/** Approver names: a user name or an e-mail address, at most this many characters. */
export const MAX_APPROVER_NAME = 64;
export const APPROVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;
/** Gates are named after the phase they hold: `phase-1` is the gate before phase index 1. */
export const GATE_NAME = /^phase-(0|[1-9]\d{0,3})$/;

// Tab and newline are ordinary in a comment; every other control character is refused.
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_TAB_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/** Problems of an approver name (`by`); empty when it is acceptable. */
export function approverNameProblems(name: unknown, path = 'by'): Problem[] {
  if (typeof name !== 'string') return [{ path, message: 'must be a name (a string)' }];
  if (name.length === 0) return [{ path, message: 'must not be empty' }];
  if (name.length > MAX_APPROVER_NAME)
    return [{ path, message: `must be at most ${MAX_APPROVER_NAME} characters, got ${name.length}` }];
  if (!APPROVER_NAME.test(name))
    return [
      {
        path,
        message: 'must start with a letter or digit and hold only letters, digits, ".", "_", "@", "+" or "-"',
      },
    ];
  return [];
}

/** Problems of an optional free text (comment, reason); empty when it is absent or acceptable. */
export function freeTextProblems(text: unknown, path: string): Problem[] {
  if (text === undefined) return [];
  if (typeof text !== 'string') return [{ path, message: 'must be text (a string)' }];
  // A quick bound before encoding: a string longer than the limit in UTF-16 units is over it in bytes.
  const bytes = text.length > MAX_TEXT_BYTES ? text.length : utf8Bytes(text);
  if (bytes > MAX_TEXT_BYTES)
    return [{ path, message: `must be at most ${MAX_TEXT_BYTES} bytes (UTF-8), got ${bytes}` }];
  if (CONTROL_BUT_TAB_NEWLINE.test(text))
    return [{ path, message: 'must not contain control characters (tab and newline are allowed)' }];
  return [];
}

export function gateNameProblems(gate: unknown, path = 'gate'): Problem[] {
  if (typeof gate !== 'string' || !GATE_NAME.test(gate))
    return [{ path, message: 'must be a gate name such as "phase-1"' }];
  return [];
}

type Field = (value: unknown, path: string) => Problem[];

const booleanProblems: Field = (value, path) =>
  value === undefined || typeof value === 'boolean' ? [] : [{ path, message: 'must be true or false' }];
const decisionProblems: Field = (value, path) =>
  value === 'approve' || value === 'reject' ? [] : [{ path, message: 'must be "approve" or "reject"' }];

/** A client identity: Temporal's default is `pid@host`; bounded like a short text. */
const identityProblems: Field = (value, path) => {
  if (value === undefined) return [];
  if (typeof value !== 'string' || value.length === 0 || value.length > 256)
    return [{ path, message: 'must be a client identity of at most 256 characters' }];
  return freeTextProblems(value, path);
};
/** Every message may carry a signature and the caller's identity (domain/signed-decision.ts). */
const attribution = { signed: signedProofProblems, identity: identityProblems };

/**
 * Each operator message: its fields and their checks. Fields not listed are refused. `gateDecision` is
 * the CLI's whole decision; the rollout's approve and reject Updates carry it without `decision` (the
 * Update's name says it): `operatorRequest`.
 */
export const OPERATOR_MESSAGES = {
  gateDecision: {
    gate: gateNameProblems,
    decision: decisionProblems,
    by: approverNameProblems,
    comment: freeTextProblems,
    ...attribution,
  },
  pause: { by: approverNameProblems, reason: freeTextProblems, ...attribution },
  resume: { by: approverNameProblems, override: booleanProblems, comment: freeTextProblems, ...attribution },
  cancel: { by: approverNameProblems, reason: freeTextProblems, ...attribution },
  /** Any operator Update's request, as the rollout's one validator sees it. */
  operatorRequest: {
    gate: (value, path) => (value === undefined ? [] : gateNameProblems(value, path)),
    by: approverNameProblems,
    comment: freeTextProblems,
    reason: freeTextProblems,
    override: booleanProblems,
    ...attribution,
  },
} as const satisfies Record<string, Record<string, Field>>;

export type OperatorMessageKind = keyof typeof OPERATOR_MESSAGES;

/** Every problem of one operator message, as `path: message` data; empty when it may be sent. */
export function operatorMessageProblems(kind: OperatorMessageKind, message: unknown): Problem[] {
  if (typeof message !== 'object' || message === null || Array.isArray(message))
    return [{ path: '', message: 'must be an object' }];
  const fields: Record<string, Field> = OPERATOR_MESSAGES[kind];
  const problems: Problem[] = [];
  for (const key of Object.keys(message))
    if (!Object.hasOwn(fields, key)) problems.push({ path: key, message: 'is not a field of this message' });
  for (const [key, check] of Object.entries(fields))
    problems.push(...check((message as Record<string, unknown>)[key], key));
  return problems;
}

/** For an Update validator: throws (rejecting the update) with every problem on its own line. */
export function assertOperatorMessage(kind: OperatorMessageKind, message: unknown): void {
  const problems = operatorMessageProblems(kind, message);
  if (problems.length)
    throw new Error(problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n'));
}

/** For the rollout's Update validator: the first problem of a request as `field: problem`, or undefined. */
export function operatorRequestProblem(request: unknown): string | undefined {
  const [first] = operatorMessageProblems('operatorRequest', request);
  if (!first) return undefined;
  return first.path ? `${first.path}: ${first.message}` : `request: ${first.message}`;
}
