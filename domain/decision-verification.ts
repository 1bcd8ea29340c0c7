import {
  decisionStatement,
  SIGNATURE_MAX_SKEW_MS,
  type DecisionStatement,
  type DecisionVerdict,
} from './signed-decision';
import { parsePublicKey, verifySshSignature, type SshPublicKey } from './sshsig';

/** An approver with an OpenSSH public key (policy `approvals.approvers: [{name, key}]`). */
export interface KeyedApprover {
  name: string;
  key: string;
}

export interface DecisionToVerify {
  statement: DecisionStatement;
  signature: string;
  approvers: readonly KeyedApprover[];
  /** The rollout's clock (workflow time), epoch milliseconds. */
  now: number;
  /** Who started the rollout: a key registered to that name is the starter's (four eyes). */
  startedBy: string;
}

/**
 * Verifies one signed decision: the signature holds over this exact statement, by a configured key, the
 * key's approver is the one the request names, and it was made within the allowed skew of the rollout's
 * clock. Replays (a nonce seen before) are the rollout's to refuse: it keeps the nonces. Never throws.
 */
export function verifyDecision({
  statement,
  signature,
  approvers,
  now,
  startedBy,
}: DecisionToVerify): DecisionVerdict {
  const at = Date.parse(statement.at);
  if (!Number.isFinite(at)) return { verified: false, reason: 'the signature has no valid time' };
  if (Math.abs(at - now) > SIGNATURE_MAX_SKEW_MS)
    return {
      verified: false,
      reason: `signed at ${statement.at}, more than ${SIGNATURE_MAX_SKEW_MS / 60_000} minutes from the rollout's clock (${new Date(now).toISOString()})`,
    };
  const keys: Array<SshPublicKey & { approver: string }> = [];
  for (const a of approvers) {
    const parsed = parsePublicKey(a.key);
    if (parsed.ok) keys.push({ ...parsed.value, approver: a.name });
  }
  const checked = verifySshSignature(decisionStatement(statement), signature, keys);
  if (!checked.ok) return { verified: false, reason: checked.reason };
  const owner = keys.find((k) => k.blob.equals(checked.value.blob))!.approver;
  if (owner !== statement.by)
    return {
      verified: false,
      reason: `signed with ${owner}'s key (${checked.value.fingerprint}) but sent as "${statement.by}"`,
    };
  const { fingerprint } = checked.value;
  return {
    verified: true,
    approver: owner,
    fingerprint,
    // The keys are parsed once, above: the starter's are those registered under the starter's name.
    startersKey: keys.some((k) => k.approver === startedBy && k.blob.equals(checked.value.blob)),
  };
}

/** The fingerprints of the keys configured for one approver name (four eyes compares keys). */
export function fingerprintsOf(name: string, approvers: readonly KeyedApprover[]): string[] {
  return approvers
    .filter((a) => a.name === name)
    .map((a) => parsePublicKey(a.key))
    .flatMap((p) => (p.ok ? [p.value.fingerprint] : []));
}
