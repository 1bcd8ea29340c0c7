import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AvailablePatch } from '../domain/patches';
import type { MachineSpec } from '../domain/rollout-spec';
import { SA } from '../servers/search-attributes';

export interface AssessInput {
  machine: MachineSpec;
  requestedBy: string;
}

/** The result is the record: `offpeak compliance` finds it by `OffpeakKind = "assessment"` and `OffpeakMachine`. */
export interface AssessmentResult {
  machine: string;
  outcome: 'Succeeded' | 'Unreachable';
  assessedAt: string;
  rebootPending?: boolean;
  counts: { critical: number; security: number; other: number };
  patches: AvailablePatch[];
  requestedBy: string;
}

/** Readable ID: one assessment of one machine, keyed by when it was requested. */
export const assessWorkflowId = (machine: string, requestedAt: string): string =>
  `offpeak-assess/${machine}/${requestedAt}`;

/** On-demand assessment of one machine through the `assess` activity; nothing is installed. */
export async function assessWorkflow(input: AssessInput): Promise<AssessmentResult> {
  const { machine } = input;
  const { assess } = proxyActivities<Activities>({
    taskQueue: machine.taskQueue,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: ['HostKeyMismatch'] },
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
      outcome: 'Succeeded',
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
      err.cause.type === 'MachineUnreachable'
    )
      return done({
        machine: machine.name,
        outcome: 'Unreachable',
        assessedAt: new Date(Date.now()).toISOString(),
        counts: { critical: 0, security: 0, other: 0 },
        patches: [],
        requestedBy: input.requestedBy,
      });
    throw err;
  }
}
