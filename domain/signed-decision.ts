import type { Problem } from './problems';

/**
 * A signed operator decision (issue 15): what an approver's key signs, in the sshsig format that
 * `ssh-keygen -Y sign -n offpeak` makes. The statement names the rollout, the action, the gate, the
 * approver, a time and a nonce, so a signature cannot be moved to another rollout, gate or decision, or
 * replayed. Pure and crypto-free: the workflow's Update validators bound the fields; an activity
 * verifies the signature (domain/sshsig.ts) and the rollout refuses a nonce it has seen.
 */

/** Decisions that need a signature when approvers have keys. */
export const SIGNED_ACTIONS = ['approve', 'reject', 'override', 'cancel'] as const;
export type SignedAction = (typeof SIGNED_ACTIONS)[number];

/** A signature older or newer than this (against the rollout's clock) is refused: nonces need only be kept this long. */
export const SIGNATURE_MAX_SKEW_MS = 10 * 60_000;
/** An armored sshsig is about 300 bytes for ed25519 and 1.2 KB for RSA-4096. */
export const MAX_SIGNATURE_BYTES = 4096;
export const NONCE = /^[0-9a-f]{32}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** What a signed request carries beside its decision. */
export interface SignedProof {
  /** When the approver signed, ISO-8601 UTC. */
  at: string;
  /** 128 random bits, hex: each is accepted once per rollout. */
  nonce: string;
  /** The armored `-----BEGIN SSH SIGNATURE-----` block over `decisionStatement(...)`. */
  signature: string;
}

export interface DecisionStatement {
  rollout: string;
  action: SignedAction;
  /** The gate an approve or reject decides; absent for override and cancel. */
  gate?: string;
  by: string;
  at: string;
  nonce: string;
}

/** The exact text an approver signs: one field per line, nothing left to interpretation. */
export function decisionStatement(s: DecisionStatement): string {
  return [
    'offpeak decision v1',
    `rollout: ${s.rollout}`,
    `action: ${s.action}`,
    `gate: ${s.gate ?? '-'}`,
    `by: ${s.by}`,
    `at: ${s.at}`,
    `nonce: ${s.nonce}`,
    '',
  ].join('\n');
}

/** Problems of a request's `signed` field (absent is fine here: whether it is required is the rollout's call). */
export function signedProofProblems(value: unknown, path: string): Problem[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [{ path, message: 'must be an object {at, nonce, signature}' }];
  const proof = value as Record<string, unknown>;
  const problems: Problem[] = [];
  for (const key of Object.keys(proof))
    if (!['at', 'nonce', 'signature'].includes(key))
      problems.push({ path: `${path}.${key}`, message: 'is not a field of a signature' });
  if (typeof proof.at !== 'string' || !INSTANT.test(proof.at))
    problems.push({
      path: `${path}.at`,
      message: 'must be an ISO-8601 UTC time such as 2026-12-01T10:00:00Z',
    });
  if (typeof proof.nonce !== 'string' || !NONCE.test(proof.nonce))
    problems.push({ path: `${path}.nonce`, message: 'must be 32 lowercase hex digits' });
  if (typeof proof.signature !== 'string' || proof.signature.length === 0)
    problems.push({ path: `${path}.signature`, message: 'must be an armored SSH signature' });
  else if (proof.signature.length > MAX_SIGNATURE_BYTES)
    problems.push({ path: `${path}.signature`, message: `must be at most ${MAX_SIGNATURE_BYTES} bytes` });
  return problems;
}

/** What verifying a signature found (the activity's result, recorded in the rollout's history). */
export type DecisionVerdict =
  | {
      verified: true;
      approver: string;
      fingerprint: string;
      /** The key is one the rollout's starter holds: four eyes compares keys. */
      startersKey: boolean;
    }
  | { verified: false; reason: string };

/**
 * How a decision was authenticated, as the rollout's state judges it: not required (no approver has a
 * key: names are unauthenticated), or required, with the signature's nonce and verdict when it was signed.
 */
export type Authentication =
  { required: false } | { required: true; signed?: { nonce: string; at: string; verdict: DecisionVerdict } };

export const UNAUTHENTICATED: Authentication = { required: false };

/** Why an authenticated decision is refused, or undefined. `seen` says whether a nonce was used before. */
export function signatureRefusal(
  action: SignedAction,
  auth: Authentication,
  seen: (nonce: string) => boolean,
  fourEyes: boolean,
): string | undefined {
  if (!auth.required) return undefined;
  const { signed } = auth;
  if (!signed)
    return `${action} needs a signature by an approver's key (--sign-with KEY): approvers have keys`;
  if (!signed.verdict.verified) return `signature refused: ${signed.verdict.reason}`;
  if (seen(signed.nonce)) return `signature refused: nonce ${signed.nonce} was used before (a replay)`;
  if (fourEyes && signed.verdict.startersKey && (action === 'approve' || action === 'reject'))
    return `signed with ${signed.verdict.fingerprint}, a key of the rollout's starter, and the policy asks for four eyes`;
  return undefined;
}
