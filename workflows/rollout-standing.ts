import { FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS, type RolloutStatus } from '../domain/outcomes';
import type { Decision, PauseRequest, RolloutCarry, StepReply } from './messages';

/**
 * Where a rollout stands and how it shows it: its status, why it halted, what it waits for, whether an
 * operator paused or cancelled it, and the hold its regions obey. The base of `RolloutState`, which owns the
 * transitions. Pure: no Temporal imports.
 */
export class RolloutStanding {
  status: RolloutStatus = ROLLOUT_STATUS.Running;
  reason?: string;
  waitingFor?: string;
  paused?: string;
  stopped = false;

  constructor(carry?: Pick<RolloutCarry, 'status' | 'reason' | 'waitingFor' | 'paused' | 'stopped'>) {
    if (!carry) return;
    ({ status: this.status, reason: this.reason, waitingFor: this.waitingFor, paused: this.paused } = carry);
    this.stopped = carry.stopped;
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

  halted(): boolean {
    return this.status === ROLLOUT_STATUS.Halted;
  }

  /**
   * The status as shown: a pause shows as Paused in every state it holds (a gate waiting, a bake, between
   * phases, between steps), saying what comes after the resume; a halt shows itself.
   */
  shown(): { status: RolloutStatus; waitingFor?: string } {
    const { status, waitingFor } = this;
    const pausable = status === ROLLOUT_STATUS.Running || status === ROLLOUT_STATUS.WaitingForApproval;
    if (!this.paused || this.stopped || !pausable) return { status, waitingFor };
    const then = waitingFor ? `, then ${waitingFor}` : '';
    return { status: ROLLOUT_STATUS.Paused, waitingFor: `resume (paused by ${this.paused})${then}` };
  }

  pause(req: PauseRequest): Decision {
    if (this.ended()) return { accepted: false, reason: `the rollout has ended (${this.status})` };
    if (this.stopped) return { accepted: false, reason: 'the rollout is being cancelled' };
    this.paused = `${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    return { accepted: true };
  }

  /** Cancels (RolloutState.cancel checks who may, first). */
  protected stop(req: PauseRequest): Decision {
    if (!this.stopped) this.reason = `cancelled by ${req.by}${req.reason ? `: ${req.reason}` : ''}`;
    this.stopped = true;
    return { accepted: true };
  }

  /**
   * A region of the running phase is about to start: its first reply, the hold now. A pause or halt that
   * came before it started holds its first step (the reply travels in its input).
   */
  firstReply(): StepReply {
    return { ack: 0, hold: this.hold(), stop: this.stopped };
  }

  ended(): boolean {
    return FINAL_ROLLOUT_STATUSES.has(this.status);
  }

  protected setStatus(status: RolloutStatus, waitingFor?: string): void {
    this.status = status;
    this.waitingFor = waitingFor;
  }

  /** Also when a hook failed under `onFailure: halt` (workflows/rollout-notices.ts). */
  halt(reason: string, shown = reason): void {
    this.reason = reason;
    this.setStatus(ROLLOUT_STATUS.Halted, `an operator to resume with an override, or cancel (${shown})`);
  }
}
