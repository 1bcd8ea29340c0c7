import { approverRefusal, type ApprovalPolicy } from '../domain/gates';
import { GATE_DECISION, type GateDecision } from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import {
  SIGNATURE_MAX_SKEW_MS,
  signatureRefusal,
  UNAUTHENTICATED,
  type Authentication,
  type SignedAction,
} from '../domain/signed-decision';
import type { Decision, GateRecord, GateRequest } from './messages';

/** Verified nonces kept at most (they also age out after twice the allowed skew). */
export const NONCES_KEPT = 1000;

/** Refused decisions kept in the report; older ones are only counted (hostile callers cannot grow it). */
export const REFUSALS_KEPT = 100;

/**
 * The rollout's approval gate and every decision operators made on it, refusals included (the last
 * `REFUSALS_KEPT` of them). Pure: no Temporal imports.
 */
export class GateBook {
  readonly records: GateRecord[];
  dropped: number;
  /** Nonces of verified signatures: a signature is accepted once (replays are refused). */
  nonces: Array<{ nonce: string; at: string }>;
  private gate?: { name: string; phase: number; decision?: GateDecision };

  constructor(carry?: {
    gates: GateRecord[];
    refusalsDropped: number;
    nonces?: Array<{ nonce: string; at: string }>;
  }) {
    this.records = [...(carry?.gates ?? [])];
    this.dropped = carry?.refusalsDropped ?? 0;
    this.nonces = [...(carry?.nonces ?? [])];
  }

  /** A record's who and when: the name, the signing key's fingerprint, the client identity. */
  entryOf(name: string, req: { by: string; identity?: string }, at: string, auth: Authentication) {
    const key = auth.required && auth.signed?.verdict.verified ? auth.signed.verdict.fingerprint : undefined;
    return {
      name,
      phase: -1,
      by: req.by,
      at,
      ...(key ? { key } : {}),
      ...(req.identity ? { identity: req.identity } : {}),
    };
  }

  /** Why a signed decision is refused (unsigned, wrong key, replayed, the starter's key); its nonce is spent either way. */
  signatureRefusal(action: SignedAction, auth: Authentication, at: string, fourEyes: boolean) {
    const refusal = signatureRefusal(action, auth, (n) => this.seen(n), fourEyes);
    this.useNonce(auth, at);
    return refusal;
  }

  /** Who may override or cancel: a signature when approvers have keys, an approver when any are listed. */
  commandRefusal(
    action: SignedAction,
    req: { by: string },
    at: string,
    auth: Authentication,
    rollout: Pick<RolloutInput, 'startedBy' | 'settings'>,
  ): string | undefined {
    const approvals = { ...rollout.settings.approvals, fourEyes: false };
    return (
      this.signatureRefusal(action, auth, at, false) ?? approverRefusal(req.by, rollout.startedBy, approvals)
    );
  }

  seen(nonce: string): boolean {
    return this.nonces.some((n) => n.nonce === nonce);
  }

  /**
   * Keeps a verified signature's nonce, refused or not: it cannot be used again. Nonces older than twice
   * the allowed skew are dropped (their signatures are refused as too old anyway).
   */
  useNonce(auth: Authentication, now: string): void {
    if (!auth.required || !auth.signed?.verdict.verified) return;
    const oldest = Date.parse(now) - 2 * SIGNATURE_MAX_SKEW_MS;
    this.nonces = this.nonces.filter((n) => Date.parse(n.at) >= oldest).slice(-(NONCES_KEPT - 1));
    this.nonces.push({ nonce: auth.signed.nonce, at: auth.signed.at });
  }

  get openGate(): string | undefined {
    return this.gate?.name;
  }

  open(phase: number): string {
    this.gate = { name: `phase-${phase}`, phase };
    return this.gate.name;
  }

  decide(
    decision: 'approve' | 'reject',
    req: GateRequest,
    at: string,
    startedBy: string,
    policy: ApprovalPolicy,
    auth: Authentication = UNAUTHENTICATED,
  ): Decision {
    const gate = this.gate;
    const entry = this.entryOf(req.gate, req, at, auth);
    const unsigned = this.signatureRefusal(decision, auth, at, policy.fourEyes);
    if (unsigned) return this.refuse(entry, unsigned);
    if (!gate || gate.name !== req.gate || gate.decision)
      return this.refuse(entry, `no open gate named "${req.gate}"`);
    const refusal = approverRefusal(req.by, startedBy, policy);
    if (refusal) return this.refuse({ ...entry, phase: gate.phase }, refusal);
    gate.decision = decision === 'approve' ? GATE_DECISION.approved : GATE_DECISION.rejected;
    return this.record({ ...entry, phase: gate.phase, decision: gate.decision, comment: req.comment });
  }

  settled(): boolean {
    return this.gate?.decision !== undefined;
  }

  /** Closes the open gate with its decision; one nobody made is recorded as expired. */
  close(at: string): { name: string; phase: number; decision: GateDecision } {
    const gate = this.gate!;
    this.gate = undefined;
    if (gate.decision) return { ...gate, decision: gate.decision };
    this.record({ name: gate.name, phase: gate.phase, decision: GATE_DECISION.expired, by: 'offpeak', at });
    return { ...gate, decision: GATE_DECISION.expired };
  }

  record(entry: GateRecord): Decision {
    this.records.push(entry);
    return { accepted: true };
  }

  refuse(entry: Omit<GateRecord, 'decision' | 'comment'>, reason: string): Decision {
    this.records.push({ ...entry, decision: GATE_DECISION.refused, comment: reason });
    const refusals = this.records.filter((g) => g.decision === GATE_DECISION.refused);
    if (refusals.length > REFUSALS_KEPT) {
      this.records.splice(this.records.indexOf(refusals[0]), 1);
      this.dropped++;
    }
    return { accepted: false, reason };
  }
}
