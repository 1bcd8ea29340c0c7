/**
 * How one attempt on one machine ended. Retryable outcomes go to the machine's next window;
 * disruptive ones (the machine was touched and is worse) count against the error budget at once.
 */
export type AttemptOutcome =
  | 'Succeeded'
  /** Selected patches failed to install. */
  | 'InstallFailed'
  /** Patches stayed pending: the window ran out. */
  | 'Pending'
  /** The machine could not be reached; nothing was done. */
  | 'Unreachable'
  /** No window opened before the deadline, or the window closed before work could start. */
  | 'WindowMissed'
  | 'PreScriptFailed'
  | 'PostScriptFailed'
  /** Did not come back from its reboot in time. */
  | 'DidNotComeBack'
  | 'Unhealthy'
  /** The attempt failed in a way the lifecycle does not map (say, a broken package manager): see its workflow. */
  | 'Errored'
  /** The rollout was halted or cancelled before this machine started. */
  | 'Skipped';

export const RETRYABLE_OUTCOMES: ReadonlySet<AttemptOutcome> = new Set([
  'InstallFailed',
  'Pending',
  'Unreachable',
  'WindowMissed',
]);

/**
 * Offpeak's error rule: a machine counts as an error when an attempt leaves it worse or proves a patch bad
 * (InstallFailed, a failed script, DidNotComeBack, Unhealthy, Errored), or when its last attempt ends without success.
 * Environmental misses (Pending, Unreachable, WindowMissed) on a non-final attempt do not count: they are retried.
 */
export function countsAsError(outcome: AttemptOutcome, finalAttempt: boolean): boolean {
  if (outcome === 'Succeeded' || outcome === 'Skipped') return false;
  if (outcome === 'Pending' || outcome === 'Unreachable' || outcome === 'WindowMissed') return finalAttempt;
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
