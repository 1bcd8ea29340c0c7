import { approverRefusal, type ApprovalPolicy } from '../domain/gates';
import { GATE_DECISION, type GateDecision } from '../domain/outcomes';
import type { Decision, GateRecord, GateRequest } from './messages';

/** Refused decisions kept in the report; older ones are only counted (hostile callers cannot grow it). */
export const REFUSALS_KEPT = 100;

/**
 * The rollout's approval gate and every decision operators made on it, refusals included (the last
 * `REFUSALS_KEPT` of them). Pure: no Temporal imports.
 */
export class GateBook {
  readonly records: GateRecord[];
  dropped: number;
  private gate?: { name: string; phase: number; decision?: GateDecision };

  constructor(carry?: { gates: GateRecord[]; refusalsDropped: number }) {
    this.records = [...(carry?.gates ?? [])];
    this.dropped = carry?.refusalsDropped ?? 0;
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
  ): Decision {
    const gate = this.gate;
    if (!gate || gate.name !== req.gate || gate.decision)
      return this.refuse({ name: req.gate, phase: -1, by: req.by, at }, `no open gate named "${req.gate}"`);
    const entry = { name: gate.name, phase: gate.phase, by: req.by, at };
    const refusal = approverRefusal(req.by, startedBy, policy);
    if (refusal) return this.refuse(entry, refusal);
    gate.decision = decision === 'approve' ? GATE_DECISION.approved : GATE_DECISION.rejected;
    return this.record({ ...entry, decision: gate.decision, comment: req.comment });
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
