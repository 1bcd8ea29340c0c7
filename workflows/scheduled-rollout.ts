import {
  executeChild,
  ParentClosePolicy,
  setCurrentDetails,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import { releaseMonthAt, releaseSettings } from '../domain/calendar';
import type { RolloutInput } from '../domain/rollout-spec';
import { rolloutWorkflowId } from './ids';
import { SA, type RolloutSummary, type ScheduledRolloutInput, type ScheduledRolloutResult } from './messages';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The month's rollout input (pure): the same release settings as `buildRolloutInput`. */
export function rolloutForMonth(input: ScheduledRolloutInput, month: string): RolloutInput {
  return {
    ...input.template,
    rolloutId: `${input.scheduleId}-${month}`,
    settings: {
      ...input.template.settings,
      ...releaseSettings(month, input.deadlineDays, input.unplannedBaselineMonths),
    },
  };
}

/** The release month a run belongs to: the latest release on or before its local date (as for rollouts). */
export function releaseMonthOfRun(scheduledAt: number, timeZone: string): string {
  return releaseMonthAt(scheduledAt, timeZone);
}

/** Runs the month's rollout as a child and waits for it, so the schedule's overlap policy (SKIP) sees it running. */
export async function scheduledRolloutWorkflow(
  input: ScheduledRolloutInput,
): Promise<ScheduledRolloutResult> {
  const info = workflowInfo();
  const scheduledAt =
    info.typedSearchAttributes.get(SCHEDULED_START)?.getTime() ?? info.runStartTime.getTime();
  const month = releaseMonthOfRun(scheduledAt, input.timeZone);
  const rollout = rolloutForMonth(input, month);
  setCurrentDetails(`Rollout **${rollout.rolloutId}** (${month}, ${rollout.settings.monthType})`);
  try {
    const report: RolloutSummary = await executeChild('rolloutWorkflow', {
      workflowId: rolloutWorkflowId(rollout.rolloutId),
      args: [rollout],
      // One rollout per schedule and month, even if triggered again after it closed.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `Offpeak rollout ${rollout.rolloutId} (schedule ${input.scheduleId}), ${month} (${rollout.settings.monthType})`,
      typedSearchAttributes: [
        { key: SA.kind, value: 'rollout' },
        { key: SA.rollout, value: rollout.rolloutId },
      ],
    });
    return { rolloutId: rollout.rolloutId, month, alreadyStarted: false, report };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { rolloutId: rollout.rolloutId, month, alreadyStarted: true };
    throw err;
  }
}
