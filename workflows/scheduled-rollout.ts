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
import { SA } from '../servers/search-attributes';
import { rolloutWorkflowId } from './ids';
import { rolloutWorkflow } from './rollout';
import type { RolloutReport } from './rollout-state';

/**
 * What an `offpeak schedule` starts every month. The plan was made (and the fleet and policy validated)
 * when the schedule was created; what depends on the month is settled here, from the run's scheduled time:
 * the release month, its type (baseline or hotpatch), the deadline and the rollout's ID.
 */
export interface ScheduledRolloutInput {
  version: 1;
  scheduleId: string;
  /** The schedule's `Offset±k` (the release month no longer depends on it: see `releaseMonthOfRun`). */
  offsetDays: number;
  timeZone: string;
  deadlineDays: number;
  unplannedBaselineMonths: string[];
  /** A rollout planned at creation; `rolloutId` and the month-dependent settings are replaced per run. */
  template: RolloutInput;
}

export interface ScheduledRolloutResult {
  rolloutId: string;
  month: string;
  /** A rollout of this schedule and month already ran (a second trigger in one month is a no-op). */
  alreadyStarted: boolean;
  report?: RolloutReport;
}

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
    const report = await executeChild(rolloutWorkflow, {
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
