import type { GateVerdict } from '../domain/gates';
import {
  FINAL_ROLLOUT_STATUSES,
  GATE_DECISION,
  PHASE_STATUS,
  ROLLOUT_STATUS,
  type RolloutStatus,
} from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import { UNAUTHENTICATED } from '../domain/signed-decision';
import { machineCountOf } from '../domain/spec-slices';
import { GateBook } from './gate-book';
import type {
  Decision,
  GateRequest,
  PauseRequest,
  PhaseReport,
  ResumeRequest,
  RolloutCarry,
  RolloutSummary,
  StepReply,
  StepReport,
} from './messages';
import { RegionBook } from './region-book';
import { carryOf, summaryOf } from './rollout-summary';

export { REFUSALS_KEPT } from './gate-book';

/**
 * The rollout's state machine, kept apart from the workflow's wiring: handlers call it, the workflow asks
 * it what to do next, the status query reads it. Pure and deterministic (no Temporal imports; time comes in
 * as arguments), so it is tested without a server. Its regions' counts and channels are a `RegionBook`,
 * its decisions a `DecisionLog`; it carries all of it across continue-as-new (`carry`).
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
  /** Errors already forgiven by an operator's override; the budget counts errors beyond them. */
  forgivenErrors = 0;
  readonly log: GateBook;
  readonly regions: RegionBook;

  constructor(
    readonly input: RolloutInput,
    carry?: RolloutCarry,
  ) {
    this.phases =
      carry?.phases ??
      input.phases.map((p) => ({ index: p.index, regions: p.regions, status: PHASE_STATUS.Pending }));
    this.log = new GateBook(carry);
    this.regions = new RegionBook(input, carry);
    if (!carry) return;
    ({ status: this.status, reason: this.reason, waitingFor: this.waitingFor, paused: this.paused } = carry);
    ({ stopped: this.stopped, forgivenErrors: this.forgivenErrors, phase: this.phase } = carry);
  }

  // ---- Progress from regions, and the replies they are owed ----------------------------------------------

  /** A region's report: folded once, judged against the budget; a region that failed halts the rollout. */
  recordStep(report: StepReport): void {
    const { recorded, lastError } = this.regions.record(report, this.input.settings.maxAttempts);
    if (!recorded) return;
    if (report.end?.failure && !this.stopped)
      this.halt(`region ${report.region} failed: ${report.end.failure}`);
    const budget = this.errorTally();
    if (this.status !== ROLLOUT_STATUS.Halted && budget.exceeded)
      this.halt(
        `error budget exceeded: ${budget.count} error(s), at most ${budget.allowed} allowed` +
          (lastError ? ` (latest: ${lastError})` : ''),
      );
  }

  /** Each running region's answer to its last report, and to all of them when the hold changed. Taken once. */
  takeReplies(): Array<{ region: string; reply: StepReply }> {
    return this.regions.takeReplies(this.hold(), this.stopped);
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

  /** `auth`: how the request was authenticated (approvers with keys: the signature's verdict, from an activity). */
  decideGate(decision: 'approve' | 'reject', req: GateRequest, at: string, auth = UNAUTHENTICATED): Decision {
    return this.log.decide(decision, req, at, this.input.startedBy, this.input.settings.approvals, auth);
  }

  pause(req: PauseRequest): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    if (this.stopped) return { accepted: false, reason: 'the rollout is being cancelled' };
    this.paused = `${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    if (this.status === ROLLOUT_STATUS.Running) this.showPaused();
    return { accepted: true };
  }

  resume(req: ResumeRequest, at: string, auth = UNAUTHENTICATED): Decision {
    if (this.status === ROLLOUT_STATUS.Halted) {
      const entry = this.log.entryOf('resume', req, at, auth);
      const refusal = req.override
        ? this.log.commandRefusal('override', req, at, auth, this.input)
        : 'resuming a halted rollout needs --override';
      if (refusal) return this.log.refuse(entry, refusal);
      this.forgivenErrors = this.errorTally().count;
      this.reason = this.paused = undefined;
      this.setStatus(ROLLOUT_STATUS.Running);
      return this.log.record({ ...entry, decision: GATE_DECISION.overridden, comment: req.comment });
    }
    if (!this.paused) return { accepted: false, reason: `the rollout is not paused (${this.status})` };
    this.paused = undefined;
    if (this.status === ROLLOUT_STATUS.Paused) this.setStatus(ROLLOUT_STATUS.Running);
    return { accepted: true };
  }

  /** Cancel needs an approver whenever approvers are configured (and their signature when they have keys). */
  cancel(req: PauseRequest, at: string, auth = UNAUTHENTICATED): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    const refusal = this.log.commandRefusal('cancel', req, at, auth, this.input);
    if (refusal) return this.log.refuse(this.log.entryOf('cancel', req, at, auth), refusal);
    if (!this.stopped) this.reason = `cancelled by ${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    this.stopped = true;
    return { accepted: true };
  }

  // ---- The workflow's steps: gates and phases ------------------------------------------------------------

  /** Opens the phase's approval gate if the policy asks for one; true when it did. */
  openGate(index: number): boolean {
    const { beforePhases } = this.input.settings.approvals;
    if (beforePhases !== 'all' && !beforePhases.includes(index)) return false;
    const phase = this.phases[index];
    phase.status = PHASE_STATUS.WaitingForApproval;
    const gate = this.log.open(index);
    this.setStatus(
      ROLLOUT_STATUS.WaitingForApproval,
      `approval of gate "${gate}" (${phase.regions.join(', ')})`,
    );
    return true;
  }

  gateSettled(): boolean {
    return this.stopped || this.log.settled();
  }

  /** Closes the open gate: `run` the phase, or `stop` the rollout (rejected, cancelled); expiry halts it. */
  closeGate(at: string): 'run' | 'stop' {
    const gate = this.log.close(at);
    if (this.stopped) return 'stop';
    if (gate.decision === GATE_DECISION.rejected) {
      this.phases[gate.phase].status = PHASE_STATUS.Skipped;
      this.reason = `gate "${gate.name}" rejected`;
      this.setStatus(ROLLOUT_STATUS.Rejected);
      return 'stop';
    }
    if (gate.decision === GATE_DECISION.expired) this.halt(`gate "${gate.name}" expired without a decision`);
    return 'run';
  }

  startPhase(index: number, at: string): void {
    const phase = this.phases[index];
    this.phase = index;
    phase.status = PHASE_STATUS.Running;
    phase.startedAt = at;
    this.setStatus(ROLLOUT_STATUS.Running, `phase ${index}: ${phase.regions.join(', ')}`);
    this.regions.open(phase.regions);
  }

  /** Every region of the running phase has ended (its last report said so). */
  phaseEnded(): boolean {
    return this.regions.allEnded();
  }

  /** After a phase's regions ended: promoted, or halted with the verdict's reason. */
  finishPhase(at: string): void {
    const phase = this.phases[this.phase];
    phase.finishedAt = at;
    const verdict =
      this.stopped || this.status === ROLLOUT_STATUS.Halted ? undefined : this.phaseVerdict(this.phase);
    phase.status = verdict?.verdict === 'promote' ? PHASE_STATUS.Succeeded : PHASE_STATUS.Halted;
    if (verdict && verdict.verdict !== 'promote')
      this.halt(verdict.reason, `${verdict.verdict}: ${verdict.reason}`);
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
    const { errorBudget } = this.input.settings;
    return this.regions.budget(machineCountOf(this.input), this.forgivenErrors, errorBudget);
  }

  phaseVerdict(index: number): GateVerdict {
    return this.regions.verdict(this.phases[index].regions, this.errorTally());
  }

  summary(): RolloutSummary {
    return summaryOf(this);
  }

  carry(): RolloutCarry {
    return carryOf(this);
  }

  ended(): boolean {
    return FINAL_ROLLOUT_STATUSES.has(this.status);
  }

  private setStatus(status: RolloutStatus, waitingFor?: string): void {
    this.status = status;
    this.waitingFor = waitingFor;
  }

  /** Also when a hook failed under `onFailure: halt` (workflows/rollout-notices.ts). */
  halt(reason: string, shown = reason): void {
    this.reason = reason;
    this.setStatus(ROLLOUT_STATUS.Halted, `an operator to resume with an override, or cancel (${shown})`);
  }
}
