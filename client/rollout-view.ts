import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { regionWorkflowId, rolloutWorkflowId } from '../workflows/ids';
import {
  FLEET_GUARD_ID,
  leasesQuery,
  regionStatusQuery,
  STATUS_MEMO_KEY,
  statusQuery,
  type LeaseView,
  type RolloutSummary,
} from '../workflows/messages';
import { NotFoundError } from './errors';
import { failedMachines } from './failed-machines';
import { waitingMachines, type WaitingMachines } from './waiting-machines';
import { mayHaveFailures, type FailedMachines } from './failures';
import { LIVE_POLLER_MS, workflowPollers } from './temporal';

/**
 * How long `status` and `watch` wait for a worker to answer a query. Without a worker the server holds
 * a query until its own timeout (about 30 s); a short deadline lets us say so and fall back.
 */
export const QUERY_TIMEOUT_MS = 3000;

/** What the server returns about a rollout without running workflow code: describe, memo, attributes. */
export interface ServerView {
  workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
  execution: string;
  startTime: string;
  closeTime: string | null;
  summary: string | null;
  /** The status the rollout last kept in its memo, if it keeps one. */
  memoStatus: Partial<RolloutSummary> | null;
}

/**
 * A rollout's status: the workflow's own answer (its result once completed, else a query) when a worker
 * gives it in time, otherwise the server's view with `fallback` saying why.
 */
export type RolloutView = (
  | { report: RolloutSummary; server: ServerView; fallback?: undefined }
  | { report?: undefined; server: ServerView; fallback: string }
) & {
  /** The failed machines visibility names (no worker needed), when the counts say there are any. */
  failed?: FailedMachines;
  /** What running machine attempts wait for (a site with no worker), from visibility. */
  waiting?: WaitingMachines[];
  /** Per running region that waits for the fleet guard: what for (docs/fleet-guard.md). */
  guardWaits?: Record<string, string>;
  /** The rollout's leases waiting in the guard's queue, each with the lease in its way and its holder. */
  guardLeases?: LeaseView[];
};

/** A memo that holds a whole summary (every rollout keeps one per step and phase), not just a status. */
export function keptSummary(server: ServerView): RolloutSummary | undefined {
  const m = server.memoStatus;
  return m && m.rolloutId && m.status && m.errors && Array.isArray(m.phases) && Array.isArray(m.regions)
    ? (m as RolloutSummary)
    : undefined;
}

async function serverViewOf(d: WorkflowExecutionDescription): Promise<ServerView> {
  const memo = d.memo?.[STATUS_MEMO_KEY];
  return {
    workflowId: d.workflowId,
    execution: d.status.name,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString() ?? null,
    summary: (await d.staticSummary()) ?? null,
    memoStatus: memo && typeof memo === 'object' ? (memo as Partial<RolloutSummary>) : null,
  };
}

type Grpc = { code?: number; details?: string; message?: string };

/** DEADLINE_EXCEEDED, or CANCELLED as grpc-js reports some deadlines: a call's own deadline ran out. */
export function pastDeadline(err: unknown): boolean {
  const e = err as Grpc & { cause?: Grpc };
  const code = e.cause?.code ?? e.code;
  return code === 4 || code === 1;
}

/** The first line of an error, without gRPC's framing: what an operator needs, not a stack. */
export function shortReason(err: unknown, timeoutMs = QUERY_TIMEOUT_MS): string {
  const e = err as Grpc & { cause?: Grpc };
  // Our short timeout ran out.
  if (pastDeadline(err)) return `no worker answered within ${timeoutMs / 1000} s`;
  // FAILED_PRECONDITION: the server itself knows no worker polls ("no poller seen ... recently").
  const text = String(e.cause?.details || e.details || e.message || err).split('\n')[0];
  // grpc-js wraps a refused connection in a long sentence: keep the system's words and the address.
  const refused = /connect (E[A-Z]+) (\S+?)\.?(\s|$)/.exec(text);
  return refused ? `${refused[1]} ${refused[2]}` : text;
}

export async function rolloutView(
  client: Client,
  rolloutId: string,
  queryTimeoutMs = QUERY_TIMEOUT_MS,
): Promise<RolloutView> {
  const view = await withWaiting(client, rolloutId, await workflowView(client, rolloutId, queryTimeoutMs));
  const summary = view.report ?? keptSummary(view.server);
  // A summary names its failed machines itself; older ones do not, and visibility names them.
  if (!summary || summary.failed || !mayHaveFailures(summary)) return view;
  try {
    return { ...view, failed: await failedMachines(client, rolloutId) };
  } catch {
    return view; // The names are extra: a status without them is still the status.
  }
}

/** A running rollout's waiting machines: extra, so a listing that fails leaves the status as it is. */
async function withWaiting(client: Client, rolloutId: string, view: RolloutView): Promise<RolloutView> {
  if (view.server.execution !== 'RUNNING') return view;
  try {
    const waiting = await waitingMachines(client, rolloutId);
    return waiting.length ? { ...view, waiting } : view;
  } catch {
    return view;
  }
}

async function workflowView(client: Client, rolloutId: string, queryTimeoutMs: number): Promise<RolloutView> {
  const handle = client.workflow.getHandle(rolloutWorkflowId(rolloutId));
  let described: WorkflowExecutionDescription;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new NotFoundError('ID', `no rollout "${rolloutId}" (workflow ${handle.workflowId} not found)`);
    throw err;
  }
  const server = await serverViewOf(described);
  // A completed rollout's report is its result, kept in the history: no worker needed.
  if (server.execution === 'COMPLETED') return { report: (await handle.result()) as RolloutSummary, server };
  if (server.execution !== 'RUNNING')
    return { server, fallback: `the workflow ended ${server.execution}: it returned no report` };
  // No worker polls the rollout's task queue: the server would hold a query until its deadline, so the
  // memo answers at once (what `status` shows in well under 200 ms at 100,000 machines: npm run bench).
  if ((await workflowPollers(client, described.taskQueue, LIVE_POLLER_MS)) === 0)
    return {
      server,
      fallback: `no worker has polled task queue "${described.taskQueue}" in the last ${LIVE_POLLER_MS / 1000} s`,
    };
  try {
    const report = await client.connection.withDeadline(Date.now() + queryTimeoutMs, () =>
      handle.query(statusQuery),
    );
    const waits = await guardWaits(client, report, queryTimeoutMs);
    if (Object.keys(waits).length === 0) return { report, server, guardWaits: waits };
    return {
      report,
      server,
      guardWaits: waits,
      guardLeases: await guardLeases(client, rolloutId, queryTimeoutMs),
    };
  } catch (err) {
    return { server, fallback: shortReason(err, queryTimeoutMs) };
  }
}

/** The rollout's waiting leases, as the guard's book shows them; none when the guard does not answer in time. */
async function guardLeases(client: Client, rolloutId: string, queryTimeoutMs: number): Promise<LeaseView[]> {
  try {
    const book = await client.connection.withDeadline(Date.now() + queryTimeoutMs, () =>
      client.workflow.getHandle(FLEET_GUARD_ID).query(leasesQuery, { rolloutId }),
    );
    return book.waiting.filter((l) => l.rolloutId === rolloutId);
  } catch {
    return []; // the regions' own words still say what they wait for
  }
}

/**
 * What the rollout's unfinished regions wait for from the fleet guard, asked of each region (the
 * rollout itself does not know). A region that does not answer in time is left out.
 */
async function guardWaits(
  client: Client,
  report: RolloutSummary,
  queryTimeoutMs: number,
): Promise<Record<string, string>> {
  const waits: Record<string, string> = {};
  const running = report.regions.filter(
    (r) => r.done < r.total && report.phases.find((p) => p.index === r.phase)?.status === 'Running',
  );
  await Promise.all(
    running.map(async (r) => {
      try {
        const status = await client.connection.withDeadline(Date.now() + queryTimeoutMs, () =>
          client.workflow.getHandle(regionWorkflowId(report.rolloutId, r.region)).query(regionStatusQuery),
        );
        if (status.waitingFor) waits[r.region] = status.waitingFor;
      } catch {
        // not started yet, or ended: nothing to wait for
      }
    }),
  );
  return waits;
}
