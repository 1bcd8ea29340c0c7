import { setTimeout as pause } from 'node:timers/promises';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { readSlice, specStoreDir } from '../activities/spec-store';
import { SA } from '../servers/search-attributes';
import { ATTEMPT_MEMO_KEY, type MachineAttemptMemo, type MachineAttemptResult } from '../workflows/machine';
import type { MachineReport, RolloutReport } from '../workflows/rollout-state';
import { mapLimit } from './visibility';
import {
  assembleMachineReports,
  attemptOfWorkflowId,
  erroredReport,
  reportFromResult,
  visibilityShortfall,
  type AttemptReport,
  type ListedAttempt,
  type SliceRead,
} from './machine-reports';

/** Listings that lag the rollout's tallies are read again this many times, this far apart. */
const LISTING_RETRIES = 5;
const LISTING_PAUSE_MS = 500;

/**
 * The machines of a rollout that keeps tallies only (docs/scale.md, "Reports"): planned ones from its
 * slices in the spec store, attempts from visibility (each attempt's memo; the result of a closed one
 * without). The assembly is pure (`machine-reports.ts`); this is the reading. Visibility is eventually
 * consistent: a listing that shows fewer machines than the tallies count is read again a few times, and a
 * note says if it still lags.
 */
export async function machinesFromAttempts(
  client: Client,
  summary: RolloutReport & { paged: NonNullable<RolloutReport['paged']> },
  rollout: WorkflowExecutionDescription,
): Promise<{ machines: MachineReport[]; notes: string[] }> {
  const since = await firstRunStart(client, rollout);
  const dir = specStoreDir();
  const slices = new Map<string, SliceRead>();
  for (const ref of summary.paged.regions.flatMap((r) => r.slices ?? []))
    try {
      slices.set(ref.ref, readSlice(dir, ref));
    } catch (err) {
      slices.set(ref.ref, { error: (err as Error).message });
    }

  const query =
    `${SA.kind.name} = "machine" AND ${SA.rollout.name} = "${summary.rolloutId}"` +
    (since ? ` AND StartTime >= "${since.toISOString()}"` : '');
  const results = new Map<string, AttemptReport | undefined>(); // by run: a closed run's result never changes
  const listAttempts = async (): Promise<ListedAttempt[]> => {
    const attempts: ListedAttempt[] = [];
    const unread: Array<{ listed: ListedAttempt; workflowId: string; runId: string }> = [];
    // Kept compact while streaming: at 100,000 attempts the listed executions themselves would be large.
    for await (const w of client.workflow.list({ query })) {
      const listed = listedAttempt(w);
      if (!listed) continue;
      attempts.push(listed);
      if (!listed.report && CLOSED.has(w.status.name))
        unread.push({ listed, workflowId: w.workflowId, runId: w.runId });
    }
    await mapLimit(unread, 16, async ({ listed, workflowId, runId }) => {
      if (!results.has(runId))
        results.set(runId, await resultReport(client, workflowId, runId, listed.attempt));
      listed.report = results.get(runId);
    });
    return attempts;
  };

  let attempts = await listAttempts();
  for (let i = 0; i < LISTING_RETRIES && visibilityShortfall(summary.paged, attempts) > 0; i++) {
    await pause(LISTING_PAUSE_MS); // visibility catches up with the tallies just read: read it again
    attempts = await listAttempts();
  }
  const { machines, notes } = assembleMachineReports({ summary, slices, attempts });
  const short = visibilityShortfall(summary.paged, attempts);
  if (short > 0)
    notes.push(
      `visibility lags the rollout by ${short} attempt(s) (it is eventually consistent): read the report again in a moment`,
    );
  return { machines, notes };
}

/**
 * When the rollout's first run started (it continues as new): machine attempts started before it belong to
 * an earlier rollout with the same ID. Undefined when the server does not say, or no longer keeps that run:
 * an earlier rollout's attempts closed before it started, so retention has removed them too.
 */
async function firstRunStart(
  client: Client,
  rollout: WorkflowExecutionDescription,
): Promise<Date | undefined> {
  const first = rollout.raw.workflowExecutionInfo?.firstRunId;
  if (!first) return undefined;
  if (first === rollout.runId) return rollout.startTime;
  try {
    return (await client.workflow.getHandle(rollout.workflowId, first).describe()).startTime;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

const CLOSED = new Set(['COMPLETED', 'FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);

/** One listed machine workflow as an attempt, with the report its memo holds (none while it runs). */
function listedAttempt(w: WorkflowExecutionInfo): ListedAttempt | undefined {
  const memo = w.memo?.[ATTEMPT_MEMO_KEY] as MachineAttemptMemo | undefined;
  const machine = w.typedSearchAttributes.get(SA.machine);
  const attempt = memo?.attempt ?? attemptOfWorkflowId(w.workflowId);
  if (!machine || attempt === undefined) return undefined;
  const region = w.typedSearchAttributes.get(SA.region) ?? memo?.region ?? '';
  return { machine, region, attempt, report: memo };
}

/**
 * A closed attempt without a memo: its result, or Errored with the failure's root cause; nothing when
 * retention removed it since it was listed.
 */
async function resultReport(
  client: Client,
  workflowId: string,
  runId: string,
  attempt: number,
): Promise<AttemptReport | undefined> {
  try {
    return reportFromResult(
      (await client.workflow.getHandle(workflowId, runId).result()) as MachineAttemptResult,
    );
  } catch (err) {
    if (err instanceof WorkflowFailedError) return erroredReport(attempt, err);
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
