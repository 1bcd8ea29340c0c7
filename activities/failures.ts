import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE, NON_RETRYABLE_FAILURES, type FailureType } from '../domain/failures';
import { DriverError, type DriverFailureKind } from './drivers/driver';

/** A driver's failure kinds as the catalogue's failure types (domain/failures.ts). */
const BY_KIND: Record<DriverFailureKind, FailureType> = {
  Unreachable: FAILURE.MachineUnreachable,
  InstallFailed: FAILURE.InstallFailed,
  ScriptFailed: FAILURE.ScriptFailed,
  HostKeyMismatch: FAILURE.HostKeyMismatch,
  UnsupportedShell: FAILURE.UnsupportedShell,
  DidNotComeBack: FAILURE.DidNotComeBack,
  NotAuthorized: FAILURE.NotAuthorized,
  PlatformManaged: FAILURE.PlatformManaged,
};

/**
 * Tries of one step after which an unreachable host is a verdict (the attempt moves to the next window): the
 * machine steps retry without a cap otherwise (workflows/machine-steps.ts), so the cap lives here.
 */
export const UNREACHABLE_TRIES = 3;

/** The try of the running activity, from 1 (1 outside an activity). */
function currentTry(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** Runs a driver call and turns its DriverErrors into typed ApplicationFailures. */
export async function asActivityFailure<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DriverError) {
      const type = BY_KIND[err.kind];
      const lastTry = type === FAILURE.MachineUnreachable && currentTry() >= UNREACHABLE_TRIES;
      throw ApplicationFailure.create({
        type,
        message: err.message,
        nonRetryable: lastTry || NON_RETRYABLE_FAILURES.includes(type),
      });
    }
    throw err;
  }
}
