import { TemporalFailure } from '@temporalio/workflow';
import { OUTCOME } from '../domain/outcomes';
import { zeroCounts } from '../domain/patches';
import type { MachineAttemptResult } from './messages';

/** A machine attempt that failed unexpectedly: Errored (an error against the budget), not a failed region. */
export function errored(name: string, attempt: number, err: unknown): MachineAttemptResult {
  return {
    name,
    attempt,
    outcome: OUTCOME.Errored,
    detail: rootCause(err),
    counts: zeroCounts(),
    patches: [],
    rebooted: false,
  };
}

/** The root cause (say, the driver's message) is what an operator needs, not "Activity task failed". */
export function rootCause(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof TemporalFailure && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}
