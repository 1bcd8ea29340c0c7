import { setTimeout as pause } from 'node:timers/promises';
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { RolloutInput } from '../domain/rollout-spec';
import { readSlice, specStoreDir } from '../store/spec-store';
import {
  ATTEMPT_MEMO_KEY,
  SA,
  type MachineAttemptMemo,
  type MachineAttemptResult,
  type MachineReport,
  type RolloutSummary,
} from '../workflows/messages';
import { mapLimit } from './visibility';
import {
  assembleMachineReports,
  attemptOfWorkflowId,
  erroredReport,
  reportFromResult,
  sliceKey,
  visibilityShortfall,
  type AttemptReport,
  type ListedAttempt,
  type SliceRead,
} from './machine-reports';

/** Listings that lag the rollout's tallies are read again this many times, this far apart. */
const LISTING_RETRIES = 5;
const LISTING_PAUSE_MS = 500;

/** What the report reads of a machine attempt's workflow, as a listing (or a describe) gives it. */
export type ListedExecution = Pick<
  WorkflowExecutionInfo,
  'workflowId' | 'runId' | 'status' | 'memo' | 'typedSearchAttributes'
>;

export interface AttemptReading {
  /** Read each machine's patch list from its latest attempt's result. */
  patches?: boolean;
  /**
   * Where the attempts come from: visibility by default. (Temporal's time-skipping test server has no
   * visibility listing; its tests describe the attempts by ID instead.)
   */
  executions?: (query: string) => AsyncIterable<ListedExecution>;
}

/**
 * A rollout's machines (docs/scale.md, "Reports"): planned ones from its slices (inline in its input, or in
 * the spec store), attempts from visibility (each attempt's memo; the result of a closed one without), and
 * with `patches` each machine's patch list over its attempts (latest first, installs of every one). The assembly is pure
 * (`machine-reports.ts`); this is the reading. Visibility is eventually consistent: a listing that shows
 * fewer attempts than the rollout counts is read again a few times, and a note says if it still lags.
 */
export async function machinesFromAttempts(
  client: Client,
  summary: RolloutSummary,
  input: Pick<RolloutInput, 'regions' | 'excluded'>,
  rollout: WorkflowExecutionDescription,
  options: AttemptReading = {},
): Promise<{ machines: MachineReport[]; notes: string[] }> {
  const since = await firstRunStart(client, rollout);
  const dir = specStoreDir();
  const slices = new Map<string, SliceRead>();
  const regions = input.regions.map((r) => ({
    region: r.region,
    phase: r.phase,
    slices: r.slices.map((ref, i) => {
      const key = sliceKey(r.region, i, ref);
      try {
        slices.set(key, readSlice(dir, ref));
      } catch (err) {
        slices.set(key, { error: (err as Error).message });
      }
      return { key, machines: ref.machines };
    }),
  }));

  const query =
    `${SA.kind.name} = "machine" AND ${SA.rollout.name} = "${summary.rolloutId}"` +
    (since ? ` AND StartTime >= "${since.toISOString()}"` : '');
  const results = new Map<string, AttemptReport | undefined>(); // by run: a closed run's result never changes
  const listAttempts = async (): Promise<ListedAttempt[]> => {
    const attempts: ListedAttempt[] = [];
    const unread: Array<{ listed: ListedAttempt; workflowId: string; runId: string }> = [];
    // Kept compact while streaming: at 100,000 attempts the listed executions themselves would be large.
    for await (const w of options.executions?.(query) ?? client.workflow.list({ query })) {
      const listed = listedAttempt(w);
      if (!listed) continue;
      attempts.push(listed);
      if (CLOSED.has(w.status.name) && (!listed.report || (options.patches && touched(listed.report))))
        unread.push({ listed, workflowId: w.workflowId, runId: w.runId });
    }
    if (options.patches) keepLatestPerMachine(unread);
    await mapLimit(unread, 16, async ({ listed, workflowId, runId }) => {
      if (!results.has(runId))
        results.set(runId, await resultReport(client, workflowId, runId, listed.attempt));
      const read = results.get(runId);
      // The memo keeps its fields (placement among them); the result adds the patch list.
      listed.report =
        listed.report && read ? { ...listed.report, patches: read.patches } : (read ?? listed.report);
    });
    return attempts;
  };

  let attempts = await listAttempts();
  for (let i = 0; i < LISTING_RETRIES && visibilityShortfall(summary, attempts) > 0; i++) {
    await pause(LISTING_PAUSE_MS); // visibility catches up with the counts just read: read it again
    attempts = await listAttempts();
  }
  const { machines, notes } = assembleMachineReports({
    summary: { status: summary.status, phases: summary.phases, regions, excluded: input.excluded },
    slices,
    attempts,
  });
  const short = visibilityShortfall(summary, attempts);
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

/** An attempt that assessed patches: its result holds the patch list a report shows. */
const touched = (r: AttemptReport) => Object.values(r.counts).some((n) => n > 0);

/**
 * Of the attempts whose results would be read for their patches, keeps per machine the latest (the report
 * shows that one's list), every earlier one that installed something (a later attempt is not offered what
 * it installed: the report merges them), and every attempt that has no memo (its result is its only record).
 */
function keepLatestPerMachine(unread: Array<{ listed: ListedAttempt }>): void {
  const latest = new Map<string, number>();
  for (const { listed } of unread)
    if (listed.report) latest.set(listed.machine, Math.max(latest.get(listed.machine) ?? 0, listed.attempt));
  const kept = unread.filter(
    ({ listed }) =>
      !listed.report || listed.report.counts.installed > 0 || latest.get(listed.machine) === listed.attempt,
  );
  unread.splice(0, unread.length, ...kept);
}

/** One listed machine workflow as an attempt, with the report its memo holds (none while it runs). */
function listedAttempt(w: ListedExecution): ListedAttempt | undefined {
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
    if (err instanceof WorkflowFailedError)
      return { ...erroredReport(attempt, err), ...(await erroredSpan(client, workflowId, runId)) };
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The activities that begin disrupting a machine: its pre-script, else its install (workflows/machine.ts). */
const DISRUPTIVE_ACTIVITIES: ReadonlySet<string> = new Set(['runScript', 'install']);

/**
 * An attempt that failed as a workflow left no memo: its disruptive span from its history, from the first
 * disruptive activity scheduled until the workflow closed. None when it failed before touching the machine.
 */
async function erroredSpan(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<{ startedAt?: string; finishedAt?: string }> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const first = events.find((e) =>
    DISRUPTIVE_ACTIVITIES.has(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
  );
  const startedAt = optionalTsToMs(first?.eventTime);
  const finishedAt = optionalTsToMs(events.at(-1)?.eventTime);
  if (startedAt === undefined || finishedAt === undefined) return {};
  return { startedAt: new Date(startedAt).toISOString(), finishedAt: new Date(finishedAt).toISOString() };
}
