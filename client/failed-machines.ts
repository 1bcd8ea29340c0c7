import type { Client } from '@temporalio/client';
import { ATTEMPT_MEMO_KEY, SA, type MachineAttemptMemo } from '../workflows/messages';
import { OUTCOME, type AttemptOutcome } from '../domain/outcomes';
import { FAILED_ATTEMPT_OUTCOMES, latestFailures, type ListedFailure, type FailedMachines } from './failures';
import { attemptOfWorkflowId } from './machine-reports';

/** Failed attempts a status reads at most: the names it shows are the first few of these. */
const MAX_FAILED_ATTEMPTS = 1000;

const quoted = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(', ');

/**
 * The rollout's failed machines from visibility (no worker needed): machine attempts whose
 * `OffpeakOutcome` is a failure, less those a later attempt patched. Reads at most 1,000 failed attempts
 * (`capped` beyond), then one listing of those machines' successes.
 */
export async function failedMachines(client: Client, rolloutId: string): Promise<FailedMachines> {
  const ofRollout = `${SA.kind.name} = "machine" AND ${SA.rollout.name} = ${JSON.stringify(rolloutId)}`;
  const attempts: ListedFailure[] = [];
  let capped = false;
  const query = `${ofRollout} AND ${SA.outcome.name} IN (${quoted(FAILED_ATTEMPT_OUTCOMES)})`;
  for await (const w of client.workflow.list({ query, pageSize: 500 })) {
    if (attempts.length >= MAX_FAILED_ATTEMPTS) {
      capped = true;
      break;
    }
    const name = w.typedSearchAttributes.get(SA.machine);
    const memo = w.memo?.[ATTEMPT_MEMO_KEY] as MachineAttemptMemo | undefined;
    const attempt = memo?.attempt ?? attemptOfWorkflowId(w.workflowId);
    const outcome = (memo?.outcome ?? w.typedSearchAttributes.get(SA.outcome)) as AttemptOutcome | undefined;
    if (!name || attempt === undefined || !outcome) continue;
    attempts.push({
      name,
      region: w.typedSearchAttributes.get(SA.region) ?? memo?.region ?? '',
      phase: w.typedSearchAttributes.get(SA.phase),
      attempt,
      outcome,
      ...(memo?.detail ? { detail: memo.detail } : {}),
    });
  }
  const names = [...new Set(attempts.map((a) => a.name))];
  const succeeded: Array<{ name: string; attempt: number }> = [];
  // Visibility queries stay short: the successes of at most 200 machines per listing.
  for (let i = 0; i < names.length; i += 200) {
    const batch = names.slice(i, i + 200);
    const later = `${ofRollout} AND ${SA.outcome.name} = "${OUTCOME.Succeeded}" AND ${SA.machine.name} IN (${quoted(batch)})`;
    for await (const w of client.workflow.list({ query: later, pageSize: 500 })) {
      const name = w.typedSearchAttributes.get(SA.machine);
      const attempt = attemptOfWorkflowId(w.workflowId);
      if (name && attempt !== undefined) succeeded.push({ name, attempt });
    }
  }
  const machines = latestFailures(attempts, succeeded);
  return { machines, total: machines.length, ...(capped ? { capped } : {}) };
}
