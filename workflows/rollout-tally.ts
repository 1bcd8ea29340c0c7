import { countsAsError, OUTCOME } from '../domain/outcomes';
import type { RegionTally, StepResult } from './messages';

/**
 * Folding attempts into a region's counts (`RegionTally`). Pure: no Temporal imports.
 *
 * The counts follow Offpeak's error rule (`countsAsError`, errors sticky once counted), which needs one fact
 * only the region knows: whether an earlier attempt of the machine already counted as an error
 * (`erredBefore`, carried in the region's retry marks).
 */
export function emptyTally(region: string, phase: number, total: number): RegionTally {
  return { region, phase, total, done: 0, attempts: 0, succeeded: 0, errors: 0, failing: 0 };
}

/** Folds one attempt's result into its region's tally (each attempt is reported exactly once). */
export function foldResult(tally: RegionTally, result: StepResult, maxAttempts: number): void {
  if (result.attempt === 1) tally.done++;
  if (result.outcome !== OUTCOME.Skipped) tally.attempts++;
  if (result.outcome === OUTCOME.Succeeded) {
    tally.succeeded++;
    if (result.erredBefore) tally.failing--;
  } else if (!result.erredBefore && countsAsError(result.outcome, result.attempt >= maxAttempts)) {
    tally.errors++;
    tally.failing++;
  }
}
