import { condition, getExternalWorkflowHandle, TemporalFailure } from '@temporalio/workflow';
import { stepReportSignal, type RegionCursor, type RegionInput, type StepResult } from './messages';

/** A report the rollout has not answered within this goes again. */
const REPORT_RESEND_MS = 60_000;

/** A report on its way: `delivered` once the rollout has it, `answered` with its answer; false: the rollout is gone. */
export interface Reported {
  delivered: Promise<boolean>;
  answered: Promise<boolean>;
}

interface Report {
  step: string;
  results: StepResult[];
}

/**
 * A region's reports to its rollout (workflows/region.ts), numbered per region. Each leaves once the one
 * before is delivered, so the rollout reads them in order (one that overtakes a report lost on its way is
 * not folded: region-book.ts). Unanswered, the same report goes again: a signal can be lost when the
 * rollout's run closes as it arrives, and the rollout folds a report once.
 *
 * A lane's clean step (nothing in it can halt the rollout) is reported as the lane's next step comes
 * (`defer`, then `flush`), so that a region's last step and its end travel as one report (`end`): two
 * signals in a row, each waited for, cost the rollout's phase a round trip.
 */
export function regionReports(input: RegionInput, cursor: RegionCursor) {
  const rollout = getExternalWorkflowHandle(input.parentWorkflowId);
  let gone = false;
  let queue: Promise<unknown> = Promise.resolve();
  const unanswered = new Set<Promise<boolean>>();
  /** Per lane: its clean step not yet reported. */
  const pending = new Map<number, Report>();

  const send = async (
    { step, results }: Report,
    end: { failure?: string } | undefined,
    delivered: (rolloutLives: boolean) => void,
  ) => {
    const seq = ++cursor.sent;
    const answered = () => cursor.reply.ack >= seq || (!end && cursor.reply.stop);
    do {
      try {
        await rollout.signal(stepReportSignal, { region: input.region, seq, step, results, end });
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        delivered(false);
        return !(gone = true); // terminated, or ended: nobody to report to
      }
      delivered(true);
    } while (!(await condition(answered, REPORT_RESEND_MS)));
    return true;
  };

  const report = (step: string, results: StepResult[], end?: { failure?: string }): Reported => {
    let delivered!: (rolloutLives: boolean) => void;
    const arrived = new Promise<boolean>((resolve) => (delivered = resolve));
    const answered = queue.then(() =>
      send({ step, results }, end, delivered).catch((err: unknown) => {
        delivered(false);
        throw err;
      }),
    );
    queue = arrived;
    unanswered.add(answered);
    void answered.finally(() => unanswered.delete(answered)).catch(() => undefined);
    return { answered, delivered: arrived };
  };

  /** Every report sent so far is answered (or the rollout is gone). */
  const allAnswered = async (): Promise<void> => void (await Promise.all(unanswered));

  /** Sends every deferred report, in lane order (each leaves once the one before is delivered). */
  const flushAll = (): void => {
    for (const [, r] of [...pending].sort((a, b) => a[0] - b[0])) report(r.step, r.results);
    pending.clear();
  };

  return {
    /** The rollout is gone (a report could not be delivered). */
    gone: () => gone,
    report,
    /** A lane's clean step, reported when the lane's next step comes (`flush`) or the region ends (`last`). */
    defer(lane: number, step: string, results: StepResult[]): void {
      pending.set(lane, { step, results });
    },
    /** Sends the lane's deferred report, if any; resolves once delivered (false: the rollout is gone). */
    async flush(lane: number): Promise<boolean> {
      const r = pending.get(lane);
      if (!r) return true;
      pending.delete(lane);
      return report(r.step, r.results).delivered;
    },
    flushAll,
    answered: allAnswered,
    /**
     * The region's last report: a lane's deferred step (the last lane's) carries the end, or a report of
     * its own does. It leaves once every report before it is answered: sent while the rollout's answer to
     * the one before is on its way, the two signals cross and the server holds both for half a second.
     */
    async last(): Promise<boolean> {
      // The last lane to end still holds its step (region.ts reports the others' as they end).
      const [lane, final] = [...pending].pop() ?? [-1, { step: 'done', results: [] }];
      pending.delete(lane);
      flushAll();
      await allAnswered();
      return report(final.step, final.results, {}).answered;
    },
  };
}

export type RegionReports = ReturnType<typeof regionReports>;
