import {
  FINAL_ROLLOUT_STATUSES,
  MACHINE_STATE,
  OUTCOME,
  PHASES_THAT_RAN,
  ROLLOUT_STATUS,
} from '../domain/outcomes';
import { zeroCounts, type PatchOutcome } from '../domain/patches';
import type { PlanStep } from '../domain/plan';
import type { MachineSpec, RolloutInput } from '../domain/rollout-spec';
import { isStored, type SpecSliceRef } from '../domain/spec-slices';
import type {
  MachineAttemptMemo,
  MachineAttemptResult,
  MachineReport,
  RolloutSummary,
} from '../workflows/messages';

/**
 * A rollout's machines, assembled outside the workflow (which keeps counts only, docs/scale.md "Reports"):
 * the planned machines from its slices (inline in its input, or in the spec store), each attempt from its
 * machine workflow as a listing shows it (memo, or result). Pure: `client/report.ts` does the reading.
 */

/** What an attempt reported: its memo, or the same fields read from its result (no placement then). */
export type AttemptReport = Omit<MachineAttemptMemo, 'region'> &
  Partial<Pick<MachineAttemptMemo, 'region'>> & {
    /** Read from the attempt's result when the report shows patches. */
    patches?: PatchOutcome[];
  };

/** One machine attempt as a listing shows it. */
export interface ListedAttempt {
  machine: string;
  region: string;
  attempt: number;
  /** Absent while the attempt runs: no outcome yet. */
  report?: AttemptReport;
}

/** A machine's placement, as its slice gives it. */
export type Placement = Pick<MachineSpec, 'name' | 'region' | 'zone' | 'availabilitySet' | 'updateDomain'>;

/** A slice's steps (the report names each machine's step). */
export type StepRead = Pick<PlanStep, 'index' | 'label' | 'machines'> & { lane?: number };

/** A slice's machines as read from the spec store (placement and steps are all the report needs), or why not. */
export type SliceRead = { machines: Placement[]; steps?: StepRead[] } | { error: string };

/** The plan's regions and exclusions, each slice named by a key (`sliceKey`), with the rollout's status. */
export interface AssemblyInput {
  summary: Pick<RolloutSummary, 'status' | 'phases'> & {
    regions: Array<{ region: string; phase: number; slices: Array<{ key: string; machines: number }> }>;
    excluded?: RolloutInput['excluded'];
  };
  /** By slice key; a key missing here counts as unreadable. */
  slices: ReadonlyMap<string, SliceRead>;
  attempts: readonly ListedAttempt[];
}

/** How a report names a slice: its file in the spec store, or its place in the input when inline. */
export const sliceKey = (region: string, index: number, ref: SpecSliceRef): string =>
  isStored(ref) ? ref.ref : `${region}#${index}`;

/** A closed attempt without a memo (started by older code): the same record, read from its result. */
export function reportFromResult(r: MachineAttemptResult): AttemptReport {
  const { attempt, outcome, startedAt, finishedAt, detail, counts, rebooted, assessedAt, patches } = r;
  return { attempt, outcome, startedAt, finishedAt, detail, counts, rebooted, assessedAt, patches };
}

/** An attempt whose workflow failed, was terminated or timed out: Errored, as its region reports it. */
export function erroredReport(attempt: number, err: unknown): AttemptReport {
  // The root cause (say, the driver's message) is what an operator needs, not "Workflow execution failed".
  let cause = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return { attempt, outcome: OUTCOME.Errored, detail, counts: zeroCounts(), rebooted: false };
}

/** The attempt number in a machine workflow's ID (`…/<machine>/attempt-<n>`, workflows/ids.ts). */
export function attemptOfWorkflowId(workflowId: string): number | undefined {
  const m = /\/attempt-(\d+)$/.exec(workflowId);
  return m ? Number(m[1]) : undefined;
}

/** One machine's report from its attempts, as the rollout state would have recorded them (patches aside). */
function machineReport(
  m: Placement,
  phase: number | undefined,
  listed: readonly ListedAttempt[],
  skipped: string | undefined,
  step?: MachineReport['step'],
): MachineReport {
  const { name, region, zone, availabilitySet, updateDomain } = m;
  const done = listed
    .flatMap((a) => (a.report ? [a.report] : []))
    .sort((a, b) => a.attempt - b.attempt)
    .filter((a, i, all) => i === 0 || all[i - 1].attempt !== a.attempt);
  const last = done.at(-1);
  const base = { name, region, zone, availabilitySet, updateDomain, phase, ...(step ? { step } : {}) };
  if (!last) {
    // Never attempted: Skipped once the rollout has stopped in a phase that ran (as its regions report
    // such machines), else not started yet. A running attempt has no outcome yet.
    const outcome = skipped && listed.length === 0 ? OUTCOME.Skipped : MACHINE_STATE.NotStarted;
    const attempts: MachineReport['attempts'] =
      outcome === OUTCOME.Skipped ? [{ attempt: 1, outcome, detail: skipped }] : [];
    return {
      ...base,
      outcome,
      detail: outcome === OUTCOME.Skipped ? skipped : undefined,
      ...zeroCounts(),
      rebooted: false,
      patches: [],
      attempts,
    };
  }
  return {
    ...base,
    outcome: last.outcome,
    detail: last.detail,
    // What a machine installed is every attempt's: a later one is not offered what an earlier one installed.
    ...last.counts,
    installed: done.reduce((n, a) => n + a.counts.installed, 0),
    rebooted: done.some((a) => a.rebooted),
    lastAssessedAt: [...done].reverse().find((a) => a.assessedAt)?.assessedAt,
    patches: mergedPatches(done),
    attempts: done.map(({ attempt, outcome, startedAt, finishedAt, detail }) => ({
      attempt,
      outcome,
      startedAt,
      finishedAt,
      detail,
    })),
  };
}

/**
 * A machine's patches over its attempts: each patch as the latest attempt that lists it says, except that an
 * installed patch stays Installed (an attempt interrupted after installing, then a retry not offered it).
 */
function mergedPatches(done: readonly AttemptReport[]): PatchOutcome[] {
  const merged = new Map<string, PatchOutcome>();
  for (const a of done)
    for (const p of a.patches ?? [])
      if (merged.get(p.patchId)?.state !== 'Installed') merged.set(p.patchId, p);
  return [...merged.values()];
}

/**
 * Every machine once, in the order the rollout state lists them: excluded machines first, then the plan's
 * order (region by region, slice by slice), then machines known only from their attempts (their slice
 * could not be read). Notes say what could not be read.
 */
export function assembleMachineReports(input: AssemblyInput): { machines: MachineReport[]; notes: string[] } {
  const { summary, slices, attempts } = input;
  const regions = summary.regions;
  const phaseOf = new Map(regions.map((r) => [r.region, r.phase]));
  const ran = new Set(summary.phases.filter((p) => PHASES_THAT_RAN.has(p.status)).map((p) => p.index));
  const why =
    summary.status === ROLLOUT_STATUS.Canceled ? 'the rollout stopped' : 'the rollout deadline passed';
  const skippedIn = (phase: number | undefined) =>
    FINAL_ROLLOUT_STATUSES.has(summary.status) && phase !== undefined && ran.has(phase) ? why : undefined;

  const byMachine = new Map<string, ListedAttempt[]>();
  for (const a of attempts) {
    const list = byMachine.get(a.machine) ?? [];
    list.push(a);
    byMachine.set(a.machine, list);
  }

  // Summaries without `excluded` (none planned out, or an older rollout) list none.
  const machines: MachineReport[] = (summary.excluded ?? []).map((e) => ({
    name: e.name,
    region: e.region,
    outcome: MACHINE_STATE.Excluded,
    detail: e.reason,
    ...zeroCounts(),
    rebooted: false,
    patches: [],
    attempts: [],
  }));
  const seen = new Set(machines.map((m) => m.name));
  const notes: string[] = [];
  for (const r of regions) {
    for (const ref of r.slices) {
      const slice = slices.get(ref.key) ?? { error: 'not read' };
      if ('error' in slice) {
        notes.push(
          `${r.region}: slice ${ref.key} (${ref.machines} machine(s)) could not be read (${slice.error}); ` +
            'only its machines that have started are listed',
        );
        continue;
      }
      const stepOf = new Map<string, MachineReport['step']>();
      for (const st of slice.steps ?? [])
        for (const name of st.machines)
          stepOf.set(name, {
            index: st.index,
            ...(st.lane !== undefined ? { lane: st.lane } : {}),
            label: st.label,
          });
      for (const m of slice.machines) {
        seen.add(m.name);
        machines.push(
          machineReport(m, r.phase, byMachine.get(m.name) ?? [], skippedIn(r.phase), stepOf.get(m.name)),
        );
      }
    }
  }

  const order = new Map(regions.map((r, i) => [r.region, i]));
  const unplanned = [...byMachine.entries()]
    .filter(([name]) => !seen.has(name))
    .map(([name, listed]) => {
      // Placement from a memo (every attempt's has the same; results carry none), the region from the listing.
      const memo = listed.find((a) => a.report?.region)?.report;
      const region = listed[0].region;
      return machineReport({ ...memo, name, region }, phaseOf.get(region), listed, undefined);
    })
    .sort(
      (a, b) => (order.get(a.region) ?? Infinity) - (order.get(b.region) ?? Infinity) || cmp(a.name, b.name),
    );
  return { machines: [...machines, ...unplanned], notes };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * How many attempts the rollout has recorded (`paged.attempts`: every result but Skipped, each a closed
 * machine workflow) that the listing does not show closed yet. Visibility is eventually consistent and may
 * lag a step that just ended; 0 means caught up. Attempts listed before the rollout recorded them are fine.
 */
export function visibilityShortfall(
  summary: Pick<RolloutSummary, 'attempts'>,
  attempts: readonly ListedAttempt[],
): number {
  return Math.max(0, summary.attempts - attempts.filter((a) => a.report).length);
}
