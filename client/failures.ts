import { MACHINE_STATE, OUTCOME, type AttemptOutcome, type MachineState } from '../domain/outcomes';
import type { MachineReport, RolloutSummary } from '../workflows/messages';

/**
 * Failures first, wherever a rollout is shown (status, watch, the table and HTML reports): which machines
 * failed, and the order that puts them before the rest. Pure.
 */

/** States that are not a failure: done well, not done (yet), or left out on purpose. */
const NOT_FAILED: ReadonlySet<MachineState> = new Set([
  MACHINE_STATE.Succeeded,
  MACHINE_STATE.Skipped,
  MACHINE_STATE.NotStarted,
  MACHINE_STATE.Excluded,
]);

/** A machine failed when its latest attempt ended in anything but success (or it was skipped). */
export const isFailed = (outcome: MachineState): boolean => !NOT_FAILED.has(outcome);

/** Attempt outcomes that are failures: what a visibility query of failed attempts asks for. */
export const FAILED_ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = Object.values(OUTCOME).filter(isFailed);

/** Failed machines, then the rest in their order, then excluded machines (stable). */
export function failuresFirst<T extends Pick<MachineReport, 'outcome'>>(machines: readonly T[]): T[] {
  const rank = (m: T) => (isFailed(m.outcome) ? 0 : m.outcome === MACHINE_STATE.Excluded ? 2 : 1);
  return machines
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map(({ m }) => m);
}

/**
 * A failed machine as visibility names it (its latest failed attempt): for summaries from older code,
 * which do not name their failed machines themselves (`RolloutSummary.failed`).
 */
export interface ListedFailure {
  name: string;
  region: string;
  phase?: number;
  attempt: number;
  outcome: AttemptOutcome;
  detail?: string;
}

/** The failed machines status and watch found, the first ones named. */
export interface FailedMachines {
  /** Failed machines, at most the listing's limit, by phase, region, then name. */
  machines: ListedFailure[];
  /** How many failed machines there are (at least this many when `capped`). */
  total: number;
  capped?: boolean;
}

/** How many machine names a status line shows before "and N more". */
export const NAMED_FAILURES = 10;

/** "w1 (InstallFailed: 1 patch(es) failed), e2 (Unhealthy) and 3 more": the first failures by name. */
export function failedMachinesLine(failed: FailedMachines, shown = NAMED_FAILURES): string {
  const named = failed.machines
    .slice(0, shown)
    .map((m) => `${m.name} (${m.outcome}${m.detail ? `: ${m.detail}` : ''})`);
  const more = failed.total - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more}${failed.capped ? '+' : ''} more` : ''}`;
}

/** Whether the summary's counts say a machine may have failed (else no listing is needed). */
export function mayHaveFailures(summary: Pick<RolloutSummary, 'regions' | 'errors'>): boolean {
  return summary.errors.count > 0 || summary.regions.some((r) => r.notSucceeded > 0);
}

/**
 * Of the failed attempts a listing found and the later successes of those machines, the machines whose
 * latest finished attempt failed: one entry each (its latest failed attempt), by phase, region, then name.
 */
export function latestFailures(
  failedAttempts: readonly ListedFailure[],
  succeeded: ReadonlyArray<{ name: string; attempt: number }>,
): ListedFailure[] {
  const latest = new Map<string, ListedFailure>();
  for (const a of failedAttempts) {
    const seen = latest.get(a.name);
    if (!seen || seen.attempt < a.attempt) latest.set(a.name, a);
  }
  for (const s of succeeded) {
    const f = latest.get(s.name);
    if (f && f.attempt < s.attempt) latest.delete(s.name);
  }
  return [...latest.values()].sort(
    (a, b) => (a.phase ?? Infinity) - (b.phase ?? Infinity) || cmp(a.region, b.region) || cmp(a.name, b.name),
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
