import type { Client } from '@temporalio/client';
import { ATTEMPT_MEMO_KEY, SA, type MachineAttemptMemo } from '../workflows/messages';

/** What running machine attempts wait for, and who: `no worker on task queue offpeak-site-dublin`. */
export interface WaitingMachines {
  reason: string;
  /** The first few machines waiting for it. */
  machines: string[];
  count: number;
}

/** Running attempts a status reads at most, and machine names it shows per reason. */
const MAX_RUNNING = 1000;
const NAMES_SHOWN = 10;

/**
 * The rollout's machine attempts that wait for something outside them (their memo's `waiting`), grouped by
 * reason, from visibility: no worker needed, which is the point (a site whose worker is missing).
 */
export async function waitingMachines(client: Client, rolloutId: string): Promise<WaitingMachines[]> {
  const query = `${SA.kind.name} = "machine" AND ${SA.rollout.name} = ${JSON.stringify(rolloutId)} AND ExecutionStatus = "Running"`;
  const byReason = new Map<string, WaitingMachines>();
  let read = 0;
  for await (const w of client.workflow.list({ query, pageSize: 500 })) {
    if (++read > MAX_RUNNING) break;
    const memo = w.memo?.[ATTEMPT_MEMO_KEY] as MachineAttemptMemo | undefined;
    if (!memo?.waiting) continue;
    const entry = byReason.get(memo.waiting) ?? { reason: memo.waiting, machines: [], count: 0 };
    entry.count++;
    if (entry.machines.length < NAMES_SHOWN)
      entry.machines.push(w.typedSearchAttributes.get(SA.machine) ?? w.workflowId);
    byReason.set(memo.waiting, entry);
  }
  return [...byReason.values()];
}

/** Status lines: `waiting: no worker on task queue offpeak-site-dublin (3 machine(s): dub-1, dub-2, dub-3)`. */
export function waitingLines(waiting: readonly WaitingMachines[] | undefined): string[] {
  return (waiting ?? []).map(
    (w) =>
      `  waiting: ${w.reason} (${w.count} machine(s): ${w.machines.join(', ')}${w.count > w.machines.length ? ', …' : ''})`,
  );
}
