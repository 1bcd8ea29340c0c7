import { ApplicationFailure } from '@temporalio/activity';
import { DriverError, type DriverFailureKind } from './drivers/driver';

/**
 * The one catalogue of typed failures. Retryable or not, on purpose:
 * - MachineUnreachable is retried by the activity's retry policy (a blip), then the attempt moves to the next window;
 * - everything else reports a fact about the host that a retry would not change; NotAuthorized (a cloud
 *   API refused a permission, naming the missing action) waits for a person to grant it;
 *   PlatformManaged (Azure patches the VM itself) is reported before anything runs, never patched twice.
 */
export const FAILURE = {
  MachineUnreachable: 'MachineUnreachable',
  InstallFailed: 'InstallFailed',
  ScriptFailed: 'ScriptFailed',
  HostKeyMismatch: 'HostKeyMismatch',
  DidNotComeBack: 'DidNotComeBack',
  NotAuthorized: 'NotAuthorized',
  PlatformManaged: 'PlatformManaged',
} as const;
export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

export const NON_RETRYABLE: FailureType[] = [
  'InstallFailed',
  'ScriptFailed',
  'HostKeyMismatch',
  'DidNotComeBack',
  'NotAuthorized',
  'PlatformManaged',
];

const BY_KIND: Record<DriverFailureKind, FailureType> = {
  Unreachable: 'MachineUnreachable',
  InstallFailed: 'InstallFailed',
  ScriptFailed: 'ScriptFailed',
  HostKeyMismatch: 'HostKeyMismatch',
  DidNotComeBack: 'DidNotComeBack',
  NotAuthorized: 'NotAuthorized',
  PlatformManaged: 'PlatformManaged',
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
        nonRetryable: NON_RETRYABLE.includes(type),
      });
    }
    throw err;
  }
}
