import type { Command } from 'commander';
import { Option } from 'commander';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { SA } from '../../workflows/messages';
import { withExamples } from '../command';
import { UsageError } from '../errors';
import { connectClient } from '../temporal';
import { listWorkflows } from '../visibility';
import { printData } from './compliance';
import { outputOption } from './options';

/** Temporal's execution statuses as its visibility queries spell them (`ExecutionStatus = "Running"`). */
export const EXECUTION_STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut'];

export interface RolloutListing {
  rolloutId: string;
  workflowId: string;
  status: string;
  month: string | null;
  startTime: string;
  closeTime: string | null;
}

/**
 * The patch month of a listed rollout: from its memo (`rollout start` and `install` keep it there), else
 * from a scheduled rollout's ID (`<schedule>-YYYY-MM`); null when neither says.
 */
export function monthOf(w: Pick<WorkflowExecutionInfo, 'memo'>, rolloutId: string): string | null {
  const memo = w.memo?.offpeak as { month?: unknown } | undefined;
  if (typeof memo?.month === 'string') return memo.month;
  return /-(\d{4}-\d{2})$/.exec(rolloutId)?.[1] ?? null;
}

/** The visibility query of `rollout list`; runs that continued as new are left out (their last run counts). */
export function listQuery(status?: string): string {
  return [
    `${SA.kind.name} = "rollout"`,
    'ExecutionStatus != "ContinuedAsNew"',
    ...(status ? [`ExecutionStatus = "${status}"`] : []),
  ].join(' AND ');
}

export function registerRolloutList(rollout: Command): void {
  withExamples(
    rollout
      .command('list')
      .description('Rollouts Temporal knows, newest first (from visibility: no worker needed)')
      .addOption(
        new Option('--status <status>', 'only rollouts in this Temporal execution status').choices(
          EXECUTION_STATUSES,
        ),
      )
      .option('--month <YYYY-MM>', 'only rollouts of this patch month')
      .addOption(outputOption(['table', 'json'])),
    'offpeak rollout list',
    'offpeak rollout list --status Running',
    'offpeak rollout list --month 2026-11 -o json | jq -r ".[].rolloutId"',
  ).action(async (opts: { status?: string; month?: string; output: string }) => {
    if (opts.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(opts.month))
      throw UsageError.of('--month', `"${opts.month}" must be a month as YYYY-MM`);
    const { client } = await connectClient();
    const listed = await listWorkflows(client, listQuery(opts.status));
    const rows: RolloutListing[] = listed
      .map((w) => {
        const rolloutId = w.typedSearchAttributes.get(SA.rollout) ?? w.workflowId;
        return {
          rolloutId,
          workflowId: w.workflowId,
          status: w.status.name,
          month: monthOf(w, rolloutId),
          startTime: w.startTime.toISOString(),
          closeTime: w.closeTime?.toISOString() ?? null,
        };
      })
      .filter((r) => opts.month === undefined || r.month === opts.month)
      .sort((a, b) => b.startTime.localeCompare(a.startTime));
    const headers = ['rollout', 'status', 'month', 'started', 'closed'];
    printData(
      opts.output,
      headers,
      rows.map((r) => [r.rolloutId, r.status, r.month ?? '-', r.startTime, r.closeTime ?? '-']),
      rows,
    );
  });
}
