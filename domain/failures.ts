/**
 * The one catalogue of typed failures, as activities raise them (ApplicationFailure types) and workflows
 * read them. Retryable or not, on purpose:
 * - MachineUnreachable is retried by the activity's retry policy (a blip), then the attempt moves to the
 *   next window;
 * - BadSlice says a large rollout's spec store holds something else than the rollout was given;
 * - everything else reports a fact about the host that a retry would not change.
 */
export const FAILURE = {
  MachineUnreachable: 'MachineUnreachable',
  InstallFailed: 'InstallFailed',
  ScriptFailed: 'ScriptFailed',
  HostKeyMismatch: 'HostKeyMismatch',
  /** The SSH user's login shell quotes differently from POSIX sh: nothing was run (activities/drivers/ssh). */
  UnsupportedShell: 'UnsupportedShell',
  DidNotComeBack: 'DidNotComeBack',
  /** A cloud API refused a permission, naming the missing action: a person grants it. */
  NotAuthorized: 'NotAuthorized',
  /** The platform patches the machine itself (an Azure VM in AutomaticByPlatform): reported before anything runs. */
  PlatformManaged: 'PlatformManaged',
  BadSlice: 'BadSlice',
  /** An operator's request the rollout's Update validator refused as malformed or oversized: nothing recorded. */
  InvalidRequest: 'InvalidRequest',
  /** The notification webhook refused or missed a notice (retried unless its answer is lasting); never halts. */
  NotificationFailed: 'NotificationFailed',
  /** The fleet guard cannot place a lease (an unknown region or set) or could never grant it: the step fails. */
  LeaseRefused: 'LeaseRefused',
} as const;
export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  FAILURE.InstallFailed,
  FAILURE.ScriptFailed,
  FAILURE.HostKeyMismatch,
  FAILURE.UnsupportedShell,
  FAILURE.DidNotComeBack,
  FAILURE.NotAuthorized,
  FAILURE.PlatformManaged,
  FAILURE.BadSlice,
  FAILURE.LeaseRefused,
];
