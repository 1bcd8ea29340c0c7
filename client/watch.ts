import type { Client } from '@temporalio/client';
import { FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS } from '../domain/outcomes';
import type { RolloutSummary } from '../workflows/messages';
import { NotFoundError } from './errors';
import { failedLines, progressLines } from './progress';
import type { FailedMachines } from './failures';
import { waitingLines } from './waiting-machines';
import { keptSummary, rolloutView, shortReason, type RolloutView, type ServerView } from './rollout-view';

const NEEDS_A_PERSON: ReadonlySet<string> = new Set([
  ROLLOUT_STATUS.WaitingForApproval,
  ROLLOUT_STATUS.Halted,
]);

/**
 * What the server alone says about a rollout, for when no worker answers: the last summary the rollout
 * kept in its memo (the same progress lines, per step and phase), or as much of it as there is.
 */
export function serverLines(
  rolloutId: string,
  server: ServerView,
  why: string,
  failed?: FailedMachines,
): string[] {
  const kept = server.memoStatus;
  const whole = keptSummary(server);
  return [
    `Rollout ${rolloutId}: workflow ${server.execution} (${why}; showing what the server keeps, without running workflow code)`,
    `  started ${server.startTime}${server.closeTime ? `, closed ${server.closeTime}` : ''}`,
    ...(server.summary ? [`  ${server.summary}`] : []),
    ...(whole
      ? progressLines(whole, failed).map((line, i) => (i === 0 ? `  last kept status: ${line}` : `  ${line}`))
      : [
          ...(kept?.status
            ? [
                `  last kept status: ${kept.status}${kept.waitingFor ? ` (waiting for ${kept.waitingFor})` : ''}`,
              ]
            : []),
          ...failedLines(kept?.failed),
          ...(kept?.phases ?? []).map((p) => `  phase ${p.index} ${p.status}`),
        ]),
  ];
}

/** The lines of one view: the workflow's own progress, or the server's view. */
export function viewLines(rolloutId: string, view: RolloutView): string[] {
  const lines = view.report
    ? progressLines(view.report, view.failed, view.guardWaits)
    : serverLines(rolloutId, view.server, view.fallback, view.failed);
  return [lines[0], ...waitingLines(view.waiting), ...lines.slice(1)];
}

/** The command an operator runs next, given where the rollout stands. */
export function nextCommand(report: RolloutSummary | undefined, rolloutId: string): string {
  if (!report) return `offpeak rollout status ${rolloutId}   # once a worker runs: \`offpeak worker\``;
  if (report.status === ROLLOUT_STATUS.WaitingForApproval && report.openGate)
    return `offpeak rollout approve ${rolloutId} --gate ${report.openGate}`;
  if (report.status === ROLLOUT_STATUS.Halted)
    return `offpeak rollout resume ${rolloutId} --override --comment "..."`;
  if (report.status === ROLLOUT_STATUS.Paused) return `offpeak rollout resume ${rolloutId}`;
  return `offpeak rollout report ${rolloutId}`;
}

export interface WatchIo {
  /** Redraw in place (a terminal) or print plain lines when something changed (a pipe or file). */
  tty: boolean;
  write(text: string): void;
  /** Waits between polls. */
  sleep(ms: number): Promise<void>;
  intervalMs?: number;
}

/**
 * Polls the rollout until it ends or waits for a person, through worker and server restarts: a poll that
 * fails (server unreachable) prints one line and tries again; a worker that does not answer is shown as
 * the server's view. Returns the last view.
 */
export async function watchRollout(client: Client, rolloutId: string, io: WatchIo): Promise<RolloutView> {
  let drawn = 0;
  let last = '';
  for (;;) {
    let view: RolloutView | undefined;
    let lines: string[];
    try {
      view = await rolloutView(client, rolloutId);
      lines = viewLines(rolloutId, view);
    } catch (err) {
      if (err instanceof NotFoundError) throw err;
      lines = [`Rollout ${rolloutId}: cannot reach Temporal (${shortReason(err)}); retrying`];
    }
    const text = lines.join('\n');
    if (io.tty) {
      // Move up over the previous frame and clear it, then draw the new one.
      io.write(`${drawn ? `\x1b[${drawn}F\x1b[J` : ''}${text}\n`);
      drawn = lines.length;
    } else if (text !== last) io.write(`${new Date().toISOString()} ${text}\n`);
    last = text;
    const status = view?.report?.status;
    if (
      view &&
      ((status && (FINAL_ROLLOUT_STATUSES.has(status) || NEEDS_A_PERSON.has(status))) || isClosed(view))
    )
      return view;
    await io.sleep(io.intervalMs ?? 2000);
  }
}

const isClosed = (view: RolloutView) => view.server.execution !== 'RUNNING';
