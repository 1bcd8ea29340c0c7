import { ApplicationFailure } from '@temporalio/activity';
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

/** Runs a driver call and turns its DriverErrors into typed ApplicationFailures. */
export async function asActivityFailure<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DriverError) {
      const type = BY_KIND[err.kind];
      throw ApplicationFailure.create({
        type,
        message: err.message,
        nonRetryable: NON_RETRYABLE_FAILURES.includes(type),
      });
    }
    throw err;
  }
}
