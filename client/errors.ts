import { formatProblems, type Problem } from '../domain/problems';

/** Bad input from the user: exit code 2, one line per problem (bounded, see formatProblems), nothing started. */
export class UsageError extends Error {
  constructor(readonly problems: Problem[]) {
    super(formatProblems(problems).join('\n'));
    this.name = 'UsageError';
  }
  static of(path: string, message: string): UsageError {
    return new UsageError([{ path, message }]);
  }
}

/** The operation itself failed (a rollout halted, a server unreachable): exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

/** What the user named does not exist (a rollout, a schedule): exit code 1, like kubectl and the AWS CLI. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(path: string, message: string) {
    super(formatProblems([{ path, message }]).join('\n'));
  }
}

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;
