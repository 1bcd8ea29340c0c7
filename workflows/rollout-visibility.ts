import { setCurrentDetails, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { SA, STATUS_MEMO_KEY } from './messages';
import { setRolloutGauges } from './metrics';
import type { RolloutState } from './rollout-state';

/**
 * How a rollout shows where it stands, wherever an operator looks: the Temporal UI's current details, the
 * search attributes (on change only: each upsert is an event), the memo (what `status` reads when no
 * worker answers a query, and what a terminated rollout leaves) and the metrics gauges.
 */
export function publisher(state: RolloutState): () => void {
  let shown: { status?: string; phase?: number } = {};
  return () => {
    const summary = state.summary();
    const { status, waitingFor, baking } = summary;
    const details = [baking, waitingFor].filter(Boolean).join('; ');
    setCurrentDetails(details ? `**${status}**: ${details}` : `**${status}**`);
    if (shown.status !== status || shown.phase !== state.phase)
      upsertSearchAttributes([
        { key: SA.outcome, value: status },
        ...(state.phase >= 0 ? [{ key: SA.phase, value: state.phase }] : []),
      ]);
    shown = { status, phase: state.phase };
    upsertMemo({ [STATUS_MEMO_KEY]: summary });
    setRolloutGauges(summary);
  };
}
