import { countsAsError } from '../domain/outcomes';
import type { ProgressResult } from './region';

/**
 * What a large rollout keeps of its machines: counts per region, never a record per machine, so that it
 * can continue as new with a small input at any fleet size (docs/scale.md). Pure: no Temporal imports.
 *
 * The counts follow Offpeak's error rule exactly as the per-machine report does (`countsAsError`, errors
 * sticky once counted), which needs one fact only the region knows: whether an earlier attempt of the
 * machine already counted as an error (`erredBefore`, carried in the region's retry marks).
 */
export interface RegionTally {
  region: string;
  phase: number;
  /** Planned machines. */
  total: number;
  /** Machines reported at least once (Skipped included). */
  done: number;
  /** Attempts that ran (every result but Skipped): each is a machine workflow `rollout report` reads. */
  attempts: number;
  /** Machines whose latest attempt succeeded. */
  succeeded: number;
  /** Machines that ever counted as an error: what the error budget counts. */
  errors: number;
  /** Errors not since patched by a retry: what a phase's gate counts. */
  failing: number;
}

export function emptyTally(region: string, phase: number, total: number): RegionTally {
  return { region, phase, total, done: 0, attempts: 0, succeeded: 0, errors: 0, failing: 0 };
}

/** Folds one attempt's result into its region's tally (each attempt is reported exactly once). */
export function foldResult(tally: RegionTally, result: ProgressResult, maxAttempts: number): void {
  if (result.attempt === 1) tally.done++;
  if (result.outcome !== 'Skipped') tally.attempts++;
  if (result.outcome === 'Succeeded') {
    tally.succeeded++;
    if (result.erredBefore) tally.failing--;
  } else if (!result.erredBefore && countsAsError(result.outcome, result.attempt >= maxAttempts)) {
    tally.errors++;
    tally.failing++;
  }
}
