import { approverRefusal, errorBudgetExceeded, evaluatePhaseGate, type GateVerdict } from '../domain/gates';
import {
  countsAsError,
  FINAL_ROLLOUT_STATUSES,
  GATE_DECISION,
  PHASE_STATUS,
  ROLLOUT_STATUS,
  type GateDecision,
  type RolloutStatus,
} from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import { machineCountOf } from '../domain/spec-slices';
import type {
  Decision,
  GateRecord,
  GateRequest,
  PauseRequest,
  PhaseReport,
  RegionTally,
  ResumeRequest,
  RolloutCarry,
  RolloutSummary,
  StepReply,
  StepReport,
} from './messages';
import { emptyTally, foldResult } from './rollout-tally';

/** Refused decisions kept in the report; older ones are only counted (hostile callers cannot grow it). */
export const REFUSALS_KEPT = 100;

type Channel = RolloutCarry['channels'][number];
const NO_REPLY: StepReply = { ack: 0, hold: null, stop: false };
const sameReply = (a: StepReply, b: StepReply) => a.ack === b.ack && a.hold === b.hold && a.stop === b.stop;

/**
 * The rollout's state machine, kept apart from the workflow's wiring: handlers call it, the workflow asks
 * it what to do next, the status query reads it. Pure and deterministic (no Temporal imports; time comes in
 * as arguments), so it is tested without a server.
 *
 * It keeps counts per region, never a record per machine, so a rollout of any size continues as new with
 * a small input (`carry`). Regions talk to it in one request/reply: a region reports a step and waits for
 * the reply; a change of hold (pause, halt, cancel) answers every running region (`takeReplies`).
 */
export class RolloutState {
  status: RolloutStatus = ROLLOUT_STATUS.Running;
  reason?: string;
  waitingFor?: string;
  paused?: string;
  stopped = false;
  /** The phase whose regions run, or last ran. */
  phase = -1;
  readonly phases: PhaseReport[];
  private gate?: { name: string; phase: number; decision?: GateDecision };
  private readonly gates: GateRecord[] = [];
  private refusalsDropped = 0;
  /** Errors already forgiven by an operator's override; the budget counts errors beyond them. */
  private forgivenErrors = 0;
  private readonly tallies: RegionTally[];
  private readonly byRegion: Map<string, RegionTally>;
  private readonly channels = new Map<string, Channel>();
  private readonly planned: number;

  constructor(
    private readonly input: RolloutInput,
    carry?: RolloutCarry,
  ) {
    this.planned = machineCountOf(input);
    this.phases =
      carry?.phases ??
      input.phases.map((p) => ({ index: p.index, regions: p.regions, status: PHASE_STATUS.Pending }));
    this.tallies = carry?.tallies ?? input.regions.map((r) => emptyTally(r.region, r.phase, r.machineCount));
    this.byRegion = new Map(this.tallies.map((t) => [t.region, t]));
    if (!carry) return;
    ({ status: this.status, reason: this.reason, waitingFor: this.waitingFor, paused: this.paused } = carry);
    this.stopped = carry.stopped;
    this.forgivenErrors = carry.forgivenErrors;
    this.refusalsDropped = carry.refusalsDropped;
    this.gates.push(...carry.gates);
    this.phase = carry.phase;
    for (const c of carry.channels) this.channels.set(c.region, c);
  }

  // ---- Progress from regions ----------------------------------------------------------------------------

  /** A region's report: folded once (a report delivered twice is ignored), judged against the budget. */
  recordStep(report: StepReport): void {
    const channel = this.channels.get(report.region);
    if (!channel || report.seq <= channel.seq) return;
    channel.seq = report.seq;
    const { maxAttempts } = this.input.settings;
    let lastError: string | undefined;
    for (const r of report.results) {
      const tally = this.byRegion.get(report.region);
      if (!tally) continue;
      foldResult(tally, r, maxAttempts);
      if (!r.erredBefore && countsAsError(r.outcome, r.attempt >= maxAttempts))
        lastError = `${r.name} ${r.outcome}`;
    }
    if (report.end) {
      channel.ended = true;
      if (report.end.failure && !this.stopped)
        this.halt(`region ${report.region} failed: ${report.end.failure}`);
    }
    const budget = this.errorTally();
    if (this.status !== ROLLOUT_STATUS.Halted && budget.exceeded)
      this.halt(
        `error budget exceeded: ${budget.count} error(s), at most ${budget.allowed} allowed` +
          (lastError ? ` (latest: ${lastError})` : ''),
      );
  }

  /**
   * The replies owed to running regions: each region's answer to its last report, and a new one to every
   * region whenever the hold changed. Taken once: the workflow sends them.
   */
  takeReplies(): Array<{ region: string; reply: StepReply }> {
    const out: Array<{ region: string; reply: StepReply }> = [];
    for (const c of this.channels.values()) {
      if (c.ended) continue;
      const reply = { ack: c.seq, hold: this.hold(), stop: this.stopped };
      if (sameReply(reply, c.sent)) continue;
      c.sent = reply;
      out.push({ region: c.region, reply });
    }
    return out;
  }

  /** Why regions must not start another step right now, or null. */
  hold(): string | null {
    if (this.stopped) return 'cancelled';
    if (this.status === ROLLOUT_STATUS.Halted) return `halted: ${this.reason}`;
    if (this.paused) return `paused: ${this.paused}`;
    return null;
  }

  /** Paused or halted: no new phase, gate or step starts until an operator resumes (or cancels). */
  held(): boolean {
    return !this.stopped && (this.paused !== undefined || this.status === ROLLOUT_STATUS.Halted);
  }

  /** Shows a pause in the status while the rollout waits for a resume (a halt shows itself). */
  showPaused(): void {
    if (this.paused && this.status !== ROLLOUT_STATUS.Halted)
      this.setStatus(ROLLOUT_STATUS.Paused, `resume (paused by ${this.paused})`);
  }

  // ---- Operator commands: each answers accepted, or refused and why ----------------------------------------

  decideGate(decision: 'approve' | 'reject', req: GateRequest, at: string): Decision {
    const gate = this.gate;
    if (!gate || gate.name !== req.gate || gate.decision)
      return this.refuse(req.gate, -1, req.by, at, `no open gate named "${req.gate}"`);
    const refusal = approverRefusal(req.by, this.input.startedBy, this.input.settings.approvals);
    if (refusal) return this.refuse(gate.name, gate.phase, req.by, at, refusal);
    gate.decision = decision === 'approve' ? GATE_DECISION.approved : GATE_DECISION.rejected;
    this.gates.push({
      name: gate.name,
      phase: gate.phase,
      decision: gate.decision,
      by: req.by,
      at,
      comment: req.comment,
    });
    return { accepted: true };
  }

  pause(req: PauseRequest): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    if (this.stopped) return { accepted: false, reason: 'the rollout is being cancelled' };
    this.paused = `${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    if (this.status === ROLLOUT_STATUS.Running)
      this.setStatus(ROLLOUT_STATUS.Paused, `resume (paused by ${this.paused})`);
    return { accepted: true };
  }

  resume(req: ResumeRequest, at: string): Decision {
    if (this.status === ROLLOUT_STATUS.Halted) {
      const refusal = approverRefusal(req.by, this.input.startedBy, {
        ...this.input.settings.approvals,
        fourEyes: false,
      });
      if (!req.override || refusal)
        return this.refuse('resume', -1, req.by, at, refusal ?? 'resuming a halted rollout needs --override');
      this.gates.push({
        name: 'resume',
        phase: -1,
        decision: GATE_DECISION.overridden,
        by: req.by,
        at,
        comment: req.comment,
      });
      this.forgivenErrors = this.errorTally().count;
      this.reason = undefined;
      this.paused = undefined;
      this.setStatus(ROLLOUT_STATUS.Running);
      return { accepted: true };
    }
    if (!this.paused) return { accepted: false, reason: `the rollout is not paused (${this.status})` };
    this.paused = undefined;
    if (this.status === ROLLOUT_STATUS.Paused) this.setStatus(ROLLOUT_STATUS.Running);
    return { accepted: true };
  }

  cancel(req: PauseRequest): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    if (!this.stopped) {
      this.stopped = true;
      this.reason = `cancelled by ${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    }
    return { accepted: true };
  }

  // ---- The workflow's steps: phases and gates ------------------------------------------------------------

  /** Opens the phase's approval gate if the policy asks for one; true when it did. */
  openGate(index: number): boolean {
    const { beforePhases } = this.input.settings.approvals;
    if (beforePhases !== 'all' && !beforePhases.includes(index)) return false;
    const phase = this.phases[index];
    this.gate = { name: `phase-${index}`, phase: index };
    phase.status = PHASE_STATUS.WaitingForApproval;
    this.setStatus(
      ROLLOUT_STATUS.WaitingForApproval,
      `approval of gate "phase-${index}" (${phase.regions.join(', ')})`,
    );
    return true;
  }

  gateSettled(): boolean {
    return this.stopped || this.gate?.decision !== undefined;
  }

  /** Closes the open gate: `run` the phase, or `stop` the rollout (rejected, cancelled); expiry halts it. */
  closeGate(at: string): 'run' | 'stop' {
    const gate = this.gate!;
    this.gate = undefined;
    if (this.stopped) return 'stop';
    if (gate.decision === GATE_DECISION.rejected) {
      this.phases[gate.phase].status = PHASE_STATUS.Skipped;
      this.reason = `gate "${gate.name}" rejected`;
      this.setStatus(ROLLOUT_STATUS.Rejected);
      return 'stop';
    }
    if (gate.decision === undefined) {
      this.gates.push({
        name: gate.name,
        phase: gate.phase,
        decision: GATE_DECISION.expired,
        by: 'offpeak',
        at,
      });
      this.halt(`gate "${gate.name}" expired without a decision`);
    }
    return 'run';
  }

  /** Starts a phase: its regions will report through fresh channels. */
  startPhase(index: number, at: string): void {
    const phase = this.phases[index];
    this.phase = index;
    phase.status = PHASE_STATUS.Running;
    phase.startedAt = at;
    this.setStatus(ROLLOUT_STATUS.Running, `phase ${index}: ${phase.regions.join(', ')}`);
    this.channels.clear();
    for (const region of phase.regions)
      this.channels.set(region, { region, seq: 0, sent: NO_REPLY, ended: false });
  }

  /** Every region of the running phase has ended (its last report said so). */
  phaseEnded(): boolean {
    return [...this.channels.values()].every((c) => c.ended);
  }

  /** After a phase's regions ended: promoted, or halted with the verdict's reason. */
  finishPhase(at: string): void {
    const phase = this.phases[this.phase];
    phase.finishedAt = at;
    if (this.stopped) {
      phase.status = PHASE_STATUS.Halted;
      return;
    }
    const verdict = this.status === ROLLOUT_STATUS.Halted ? undefined : this.phaseVerdict(this.phase);
    if (verdict?.verdict === 'promote') {
      phase.status = PHASE_STATUS.Succeeded;
      return;
    }
    phase.status = PHASE_STATUS.Halted;
    if (verdict) this.halt(verdict.reason, `${verdict.verdict}: ${verdict.reason}`);
  }

  /** An operator resumed past the halted phase: it counts as promoted. */
  promoteAfterOverride(): void {
    if (!this.stopped) this.phases[this.phase].status = PHASE_STATUS.Succeeded;
  }

  /** The rollout's end: Canceled, Rejected or Completed; phases never reached are Skipped. */
  finish(): void {
    for (const p of this.phases) if (p.status === PHASE_STATUS.Pending) p.status = PHASE_STATUS.Skipped;
    if (this.stopped) this.setStatus(ROLLOUT_STATUS.Canceled);
    else if (this.status !== ROLLOUT_STATUS.Rejected) this.setStatus(ROLLOUT_STATUS.Completed);
  }

  // ---- Reading ---------------------------------------------------------------------------------------

  errorTally(): { count: number; allowed: number; exceeded: boolean } {
    const count = this.tallies.reduce((n, t) => n + t.errors, 0);
    const { exceeded, allowed } = errorBudgetExceeded(
      { planned: this.planned, errors: count - this.forgivenErrors },
      this.input.settings.errorBudget,
    );
    return { count, allowed, exceeded };
  }

  phaseVerdict(index: number): GateVerdict {
    const regions = new Set(this.phases[index].regions);
    const counts = { total: 0, succeeded: 0, errors: 0 };
    for (const t of this.tallies)
      if (regions.has(t.region)) {
        counts.total += t.total;
        counts.succeeded += t.succeeded;
        counts.errors += t.failing;
      }
    const tally = this.errorTally();
    return evaluatePhaseGate(
      { ...counts, unresolved: counts.total - counts.succeeded - counts.errors },
      { exceeded: tally.exceeded, allowed: tally.allowed },
    );
  }

  summary(): RolloutSummary {
    const { count, allowed } = this.errorTally();
    const sum = (f: (t: RegionTally) => number) => this.tallies.reduce((n, t) => n + f(t), 0);
    return {
      rolloutId: this.input.rolloutId,
      status: this.status,
      reason: this.reason,
      waitingFor: this.waitingFor,
      openGate: this.gate?.name,
      startedBy: this.input.startedBy,
      month: this.input.settings.month,
      monthType: this.input.settings.monthType,
      deadline: new Date(this.input.settings.deadline).toISOString(),
      errors: { count, allowed },
      planned: this.planned,
      succeeded: sum((t) => t.succeeded),
      attempts: sum((t) => t.attempts),
      phases: this.phases,
      regions: this.tallies.map((t) => ({
        region: t.region,
        phase: t.phase,
        total: t.total,
        done: t.done,
        succeeded: t.succeeded,
        notSucceeded: t.done - t.succeeded,
        errors: t.errors,
      })),
      gates: this.gates,
      ...(this.refusalsDropped ? { refusalsDropped: this.refusalsDropped } : {}),
    };
  }

  carry(): RolloutCarry {
    return {
      status: this.status,
      reason: this.reason,
      waitingFor: this.waitingFor,
      paused: this.paused,
      stopped: this.stopped,
      forgivenErrors: this.forgivenErrors,
      gates: this.gates,
      refusalsDropped: this.refusalsDropped,
      phases: this.phases,
      tallies: this.tallies,
      phase: this.phase,
      channels: [...this.channels.values()],
    };
  }

  ended(): boolean {
    return FINAL_ROLLOUT_STATUSES.has(this.status);
  }

  // ---- Inside ------------------------------------------------------------------------------------------

  private setStatus(status: RolloutStatus, waitingFor?: string): void {
    this.status = status;
    this.waitingFor = waitingFor;
  }

  private halt(reason: string, shown = reason): void {
    this.reason = reason;
    this.setStatus(ROLLOUT_STATUS.Halted, `an operator to resume with an override, or cancel (${shown})`);
  }

  private refuse(name: string, phase: number, by: string, at: string, reason: string): Decision {
    this.gates.push({ name, phase, decision: GATE_DECISION.refused, by, at, comment: reason });
    // Keep the last REFUSALS_KEPT refusals; decisions that were taken are always kept.
    const refusals = this.gates.filter((g) => g.decision === GATE_DECISION.refused);
    if (refusals.length > REFUSALS_KEPT) {
      this.gates.splice(this.gates.indexOf(refusals[0]), 1);
      this.refusalsDropped++;
    }
    return { accepted: false, reason };
  }
}
