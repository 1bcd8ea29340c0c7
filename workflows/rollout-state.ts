import { budgetReason, type BudgetCheck, type GateVerdict } from '../domain/gates';
import type { HealthSignalVerdict } from '../domain/health-signals';
import { GATE_DECISION, PHASE_STATUS, ROLLOUT_STATUS } from '../domain/outcomes';
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
import { RolloutStanding } from './rollout-standing';
import { PhaseWatch, signalHalt } from './phase-watch';
import { carryOf, summaryOf } from './rollout-summary';

export { REFUSALS_KEPT } from './gate-book';

/**
 * The rollout's state machine, kept apart from the workflow's wiring: handlers call it, the workflow asks
 * it what to do next, the status query reads it. Pure and deterministic (no Temporal imports; time comes in
 * as arguments), so it is tested without a server. Where it stands (status, hold, pause) is its base
 * `RolloutStanding`; its regions' counts, failed machines and channels are a `RegionBook`, its decisions a
 * `GateBook`, its bake and health signals a `PhaseWatch`; it carries all of it across continue-as-new.
 */
export class RolloutState extends RolloutStanding {
  /** The phase whose regions run, or last ran. */
  phase = -1;
  readonly phases: PhaseReport[];
  /** Errors already forgiven by an operator's override; the budget counts errors beyond them. */
  forgivenErrors = 0;
  /** The same, of the running phase's own errors. */
  phaseForgiven = 0;
  readonly log: GateBook;
  readonly regions: RegionBook;
  /** The bake and the health signals. */
  readonly watch: PhaseWatch;

  constructor(
    readonly input: RolloutInput,
    carry?: RolloutCarry,
  ) {
    super(carry);
    this.phases =
      carry?.phases ??
      input.phases.map((p) => ({ index: p.index, regions: p.regions, status: PHASE_STATUS.Pending }));
    this.log = new GateBook(carry);
    this.regions = new RegionBook(input, carry);
    this.watch = new PhaseWatch(input.settings, carry);
    if (!carry) return;
    this.forgivenErrors = carry.forgivenErrors;
    this.phaseForgiven = carry.phaseForgiven ?? 0;
    this.phase = carry.phase;
  }

  // ---- Progress from regions, and the replies they are owed ----------------------------------------------

  /** A region's report: folded once, judged against both budgets (naming machines); a failed region halts. */
  recordStep(report: StepReport): void {
    const { recorded } = this.regions.record(report, this.input.settings.maxAttempts);
    if (!recorded) return;
    if (report.end?.failure && !this.stopped)
      this.halt(`region ${report.region} failed: ${report.end.failure}`);
    if (!report.end && report.results.length > 0) this.watch.stepDone(report.region);
    if (this.halted()) return;
    const phase = this.phaseTally();
    const rollout = this.errorTally();
    if (phase.exceeded)
      this.halt(budgetReason(`in phase ${this.phase}`, phase, this.regions.failedIn(this.phase)));
    else if (rollout.exceeded) this.halt(budgetReason('in the rollout', rollout, this.regions.failed));
  }

  /** Each running region's answer to its last report, and to all of them when the hold changed. Taken once. */
  takeReplies(): Array<{ region: string; reply: StepReply }> {
    return this.regions.takeReplies(this.hold(), this.stopped, this.watch.due);
  }

  // ---- Operator commands: each answers accepted, or refused and why ----------------------------------------

  /** `auth`: how the request was authenticated (approvers with keys: the signature's verdict, from an activity). */
  decideGate(decision: 'approve' | 'reject', req: GateRequest, at: string, auth = UNAUTHENTICATED): Decision {
    return this.log.decide(decision, req, at, this.input.startedBy, this.input.settings.approvals, auth);
  }

  resume(req: ResumeRequest, at: string, auth = UNAUTHENTICATED): Decision {
    if (this.halted()) {
      const entry = this.log.entryOf('resume', req, at, auth);
      const refusal = req.override
        ? this.log.commandRefusal('override', req, at, auth, this.input)
        : 'resuming a halted rollout needs --override';
      if (refusal) return this.log.refuse(entry, refusal);
      this.forgivenErrors = this.errorTally().count;
      this.phaseForgiven = this.phase >= 0 ? this.phaseTally().count : 0;
      this.reason = this.paused = undefined;
      this.setStatus(ROLLOUT_STATUS.Running);
      return this.log.record({ ...entry, decision: GATE_DECISION.overridden, comment: req.comment });
    }
    if (!this.paused) return { accepted: false, reason: `the rollout is not paused (${this.status})` };
    this.paused = undefined;
    return { accepted: true };
  }

  /** Cancel needs an approver whenever approvers are configured (and their signature when they have keys). */
  cancel(req: PauseRequest, at: string, auth = UNAUTHENTICATED): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    const refusal = this.log.commandRefusal('cancel', req, at, auth, this.input);
    if (refusal) return this.log.refuse(this.log.entryOf('cancel', req, at, auth), refusal);
    return this.stop(req);
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
    else
      this.setStatus(ROLLOUT_STATUS.Running, `phase ${gate.phase} to start (gate "${gate.name}" approved)`);
    return 'run';
  }

  startPhase(index: number, at: string): void {
    const phase = this.phases[index];
    this.phase = index;
    phase.status = PHASE_STATUS.Running;
    phase.startedAt = at;
    this.setStatus(ROLLOUT_STATUS.Running, `phase ${index}: ${phase.regions.join(', ')}`);
    this.phaseForgiven = 0;
    this.regions.open(phase.regions);
  }

  /** A region's workflow started with `initial`: answered from now on, a hold changed meanwhile included. */
  regionStarted(region: string, initial: StepReply): void {
    this.regions.started(region, initial);
  }

  /** Every region of the running phase has ended (its last report said so). */
  phaseEnded(): boolean {
    return this.regions.allEnded();
  }

  /**
   * After a phase's regions ended: halted with the verdict's reason, or promoted; a promoted phase with a
   * bake time bakes first (`baking`), and only then succeeds.
   */
  finishPhase(at: string): void {
    const phase = this.phases[this.phase];
    phase.finishedAt = at;
    const verdict = this.stopped || this.halted() ? undefined : this.phaseVerdict(this.phase);
    phase.status = verdict?.verdict === 'promote' ? PHASE_STATUS.Succeeded : PHASE_STATUS.Halted;
    if (verdict && verdict.verdict !== 'promote')
      this.halt(verdict.reason, `${verdict.verdict}: ${verdict.reason}`);
    if (verdict?.verdict !== 'promote' || !this.watch.startBake(this.phase, at)) return;
    phase.status = PHASE_STATUS.Baking;
    this.setStatus(ROLLOUT_STATUS.Running); // the summary says `Baking phase 1 until 03:40Z`
  }

  /** A bake runs: its phase was promoted, and no halt or cancel ended it. */
  baking(): boolean {
    return this.watch.bake !== undefined && !this.stopped && this.status !== ROLLOUT_STATUS.Halted;
  }

  /** The bake ended: its phase succeeded, unless a halt or cancel ended it first. */
  endBake(): void {
    if (!this.watch.bake) return;
    this.phases[this.watch.bake.phase].status = this.baking() ? PHASE_STATUS.Succeeded : PHASE_STATUS.Halted;
    this.watch.bake = undefined;
  }

  /** The health signals' answer for `regions`: firing halts, unreachable is inconclusive (a person decides). */
  recordSignals(regions: readonly string[], verdict: HealthSignalVerdict): void {
    this.watch.answered(regions);
    const halt = signalHalt(verdict);
    if (halt && !this.stopped && this.status !== ROLLOUT_STATUS.Halted) this.halt(halt.reason, halt.shown);
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

  errorTally(): BudgetCheck {
    const { errorBudget } = this.input.settings;
    return this.regions.budget(machineCountOf(this.input), this.forgivenErrors, errorBudget);
  }

  /** The running phase's own budget. */
  phaseTally(): BudgetCheck {
    return this.regions.phaseBudget(this.phase, this.phaseForgiven, this.input.settings.errorBudget);
  }

  phaseVerdict(index: number): GateVerdict {
    return this.regions.verdict(index, { phase: this.phaseTally(), rollout: this.errorTally() });
  }

  /** `Baking phase 1 until 03:40Z` while a bake runs. */
  bakingLabel(): string | undefined {
    return this.baking() ? this.watch.label() : undefined;
  }

  summary(): RolloutSummary {
    return summaryOf(this);
  }

  carry(): RolloutCarry {
    return carryOf(this);
  }
}
