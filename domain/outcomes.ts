/**
 * The catalogues of how things end: a machine attempt, a machine in a report, a phase, a rollout.
 * One list per concept, used by value everywhere (workflows, activities, the CLI): a restated list drifts.
 */

/**
 * How one attempt on one machine ended. Retryable outcomes go to the machine's next window;
 * disruptive ones (the machine was touched and is worse) count against the error budget at once.
 */
export const OUTCOME = {
  Succeeded: 'Succeeded',
  /** Selected patches failed to install. */
  InstallFailed: 'InstallFailed',
  /** Patches stayed pending: the window ran out. */
  Pending: 'Pending',
  /** The machine could not be reached; nothing was done. */
  Unreachable: 'Unreachable',
  /** No window opened before the deadline, or the window closed before work could start. */
  WindowMissed: 'WindowMissed',
  PreScriptFailed: 'PreScriptFailed',
  PostScriptFailed: 'PostScriptFailed',
  /** Did not come back from its reboot in time. */
  DidNotComeBack: 'DidNotComeBack',
  Unhealthy: 'Unhealthy',
  /**
   * Infrastructure, not the host, stopped the attempt: its steps kept failing without a verdict (workers gone,
   * timeouts) until its window or the deadline ran out. The host was read again and what was done is recorded;
   * the machine is retried in its next window and nothing counts against the budget before its last attempt.
   */
  Interrupted: 'Interrupted',
  /** The attempt failed in a way the lifecycle does not map (say, a broken package manager): see its workflow. */
  Errored: 'Errored',
  /** The rollout was halted or cancelled before this machine started. */
  Skipped: 'Skipped',
} as const;
export type AttemptOutcome = (typeof OUTCOME)[keyof typeof OUTCOME];
/** Every attempt outcome, in the catalogue's order. Each one means the machine is done for that attempt. */
export const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = Object.values(OUTCOME);

/** A machine in a report: its last attempt's outcome, or why it has none. */
export const MACHINE_STATE = { ...OUTCOME, NotStarted: 'NotStarted', Excluded: 'Excluded' } as const;
export type MachineState = (typeof MACHINE_STATE)[keyof typeof MACHINE_STATE];
export const MACHINE_STATES: readonly MachineState[] = Object.values(MACHINE_STATE);

export const RETRYABLE_OUTCOMES: ReadonlySet<AttemptOutcome> = new Set([
  OUTCOME.InstallFailed,
  OUTCOME.Pending,
  OUTCOME.Unreachable,
  OUTCOME.WindowMissed,
  OUTCOME.Interrupted,
]);

/** Environmental misses: nothing was made worse, so they count only on a machine's last attempt. */
const ENVIRONMENTAL: ReadonlySet<AttemptOutcome> = new Set([
  OUTCOME.Pending,
  OUTCOME.Unreachable,
  OUTCOME.WindowMissed,
  OUTCOME.Interrupted,
]);

/**
 * Offpeak's error rule: a machine counts as an error when an attempt leaves it worse or proves a patch bad
 * (InstallFailed, a failed script, DidNotComeBack, Unhealthy, Errored), or when its last attempt ends without success.
 * Environmental misses (Pending, Unreachable, WindowMissed, Interrupted) on a non-final attempt do not count: they are retried.
 */
export function countsAsError(outcome: AttemptOutcome, finalAttempt: boolean): boolean {
  if (outcome === OUTCOME.Succeeded || outcome === OUTCOME.Skipped) return false;
  if (ENVIRONMENTAL.has(outcome)) return finalAttempt;
  return true;
}

export interface AttemptRecord {
  attempt: number;
  outcome: AttemptOutcome;
  /** The disruptive span: from install start until the post-reboot health check (absent when nothing was installed). */
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
}

/** Where a rollout stands. The final ones end its workflow. */
export const ROLLOUT_STATUS = {
  Running: 'Running',
  WaitingForApproval: 'WaitingForApproval',
  Paused: 'Paused',
  Halted: 'Halted',
  Completed: 'Completed',
  Rejected: 'Rejected',
  /** Cancelled by an operator: machines not yet started were skipped (Temporal's word, Canceled). */
  Canceled: 'Canceled',
} as const;
export type RolloutStatus = (typeof ROLLOUT_STATUS)[keyof typeof ROLLOUT_STATUS];
export const FINAL_ROLLOUT_STATUSES: ReadonlySet<RolloutStatus> = new Set([
  ROLLOUT_STATUS.Completed,
  ROLLOUT_STATUS.Rejected,
  ROLLOUT_STATUS.Canceled,
]);

export const PHASE_STATUS = {
  Pending: 'Pending',
  WaitingForApproval: 'WaitingForApproval',
  Running: 'Running',
  /** Promoted, and watched for its bake time before the next phase starts. */
  Baking: 'Baking',
  Succeeded: 'Succeeded',
  Halted: 'Halted',
  Skipped: 'Skipped',
} as const;
export type PhaseStatus = (typeof PHASE_STATUS)[keyof typeof PHASE_STATUS];
/** Phases that have started their regions (a halted phase halted after running). */
export const PHASES_THAT_RAN: ReadonlySet<PhaseStatus> = new Set([
  PHASE_STATUS.Running,
  PHASE_STATUS.Baking,
  PHASE_STATUS.Succeeded,
  PHASE_STATUS.Halted,
]);

/** What became of an operator's decision at a gate, a resume or a cancel. */
export const GATE_DECISION = {
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
  refused: 'refused',
  overridden: 'overridden',
} as const;
export type GateDecision = (typeof GATE_DECISION)[keyof typeof GATE_DECISION];
