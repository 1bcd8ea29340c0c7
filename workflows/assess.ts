import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AvailablePatch } from '../domain/patches';
import { FAILURE, NON_RETRYABLE_FAILURES } from '../domain/failures';
import { OUTCOME } from '../domain/outcomes';
import { SA, type AssessInput, type AssessmentResult } from './messages';

/** On-demand assessment of one machine through the `assess` activity; nothing is installed. */
export async function assessWorkflow(input: AssessInput): Promise<AssessmentResult> {
  const { machine } = input;
  const { assess } = proxyActivities<Activities>({
    taskQueue: machine.taskQueue,
    startToCloseTimeout: '1 minute',
    retry: {
      maximumAttempts: 3,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
    },
  });
  upsertSearchAttributes([
    { key: SA.kind, value: 'assessment' },
    { key: SA.machine, value: machine.name },
  ]);
  const done = (result: AssessmentResult): AssessmentResult => {
    upsertSearchAttributes([{ key: SA.outcome, value: result.outcome }]);
    const c = result.counts;
    setCurrentDetails(
      `**${result.outcome}**: ${c.critical} critical, ${c.security} security, ${c.other} other`,
    );
    return result;
  };
  try {
    const a = await assess(machine, { id: `assess-${machine.name}`, attempt: 1 });
    const count = (cls: AvailablePatch['classification']) =>
      a.patches.filter((p) => p.classification === cls).length;
    return done({
      machine: machine.name,
      outcome: OUTCOME.Succeeded,
      assessedAt: a.assessedAt,
      rebootPending: a.rebootPending,
      counts: { critical: count('Critical'), security: count('Security'), other: count('Other') },
      patches: a.patches,
      requestedBy: input.requestedBy,
    });
  } catch (err) {
    if (
      err instanceof ActivityFailure &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === FAILURE.MachineUnreachable
    )
      return done({
        machine: machine.name,
        outcome: OUTCOME.Unreachable,
        assessedAt: new Date(Date.now()).toISOString(),
        counts: { critical: 0, security: 0, other: 0 },
        patches: [],
        requestedBy: input.requestedBy,
      });
    throw err;
  }
}
