import {
  TemporalFailure,
  patched,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setCurrentDetails,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { countsAsError, RETRYABLE_OUTCOMES } from '../domain/outcomes';
import type { PlanStep } from '../domain/plan';
import type { MachineSpec, RegionSpec, RolloutSettings } from '../domain/rollout-spec';
import type { SpecSliceRef } from '../domain/spec-slices';
import { SA } from '../servers/search-attributes';
import { machineWorkflowId } from './ids';
import { machineAttemptWorkflow, type MachineAttemptResult } from './machine';
import { anyMarked, emptyMarks, mark, marked, type RetryMarks } from './region-marks';

export interface RegionInput {
  rolloutId: string;
  /** The rollout workflow that receives this region's progress. */
  parentWorkflowId: string;
  spec: RegionSpec;
  settings: RolloutSettings;
  /**
   * The rollout acknowledges every progress report (`RegionControl.ack`) after judging it, and the region
   * waits for that before its next step. Absent from rollouts started before the `region-step-acks` patch.
   */
  stepAcks?: boolean;
  /**
   * A sliced region (docs/scale.md): its steps and machines are read slice by slice from the spec store,
   * and `spec` carries none. Progress then carries compact results (no patch lists) and the region returns
   * nothing more (the rollout has had every result by signal).
   */
  sliced?: { slices: SpecSliceRef[]; machineCount: number; childrenPerRun?: number };
  /**
   * Started by a rollout that keeps tallies and continues as new (its `rollout-continue-as-new` patch):
   * each result says whether the machine already counted as an error (`erredBefore`), and the region
   * signals its end (`regionEndSignal`), since a rollout cannot await a child across continue-as-new.
   * Absent from regions started before; only sliced regions get it.
   */
  talliedRollout?: boolean;
  /** A sliced region's position, carried across continue-as-new: cursors and retry marks only. */
  cursor?: RegionCursor;
  /** Carried across continue-as-new. */
  resume?: {
    round: number;
    stepCursor: number;
    results: MachineAttemptResult[];
    /** Absent in runs continued before the `region-step-acks` patch. */
    sent?: number;
    control?: RegionControl;
  };
}

/** A machine attempt's result as progress reports it: sliced regions leave out the patch list. */
export type ProgressResult = Omit<MachineAttemptResult, 'patches'> &
  Partial<Pick<MachineAttemptResult, 'patches'>> &
  Partial<Pick<MachineSpec, 'region' | 'zone' | 'availabilitySet' | 'updateDomain'>> & {
    /** An earlier attempt of this machine already counted as an error (set for tallied rollouts). */
    erredBefore?: boolean;
  };

export interface RegionCursor {
  round: number;
  slice: number;
  step: number;
  sent: number;
  control: RegionControl;
  /** Machines reported at least once. */
  done: number;
  /** Retried in this round; marked during it for the next. */
  due: RetryMarks;
  next: RetryMarks;
  /** Tallied rollouts: retried machines whose earlier attempt already counted as an error (sticky). */
  erred?: RetryMarks;
}

export interface RegionProgress {
  region: string;
  step: string;
  results: ProgressResult[];
  /** Numbers this region's reports from 1; the rollout acknowledges them in `RegionControl.ack`. */
  seq: number;
}

export interface RegionControl {
  /** Why the region must not start another step (paused, halted); null lets it go on. */
  hold: string | null;
  /** Finish now: machines not yet started are reported Skipped. */
  stop: boolean;
  /** The last progress report (its `seq`) the rollout has taken into account, holds included. */
  ack: number;
}

export interface RegionEnd {
  region: string;
  /** Why the region failed, when it did (its machines not yet started were never reported). */
  failure?: string;
}

export const regionControlSignal = defineSignal<[RegionControl]>('regionControl');
export const regionProgressSignal = defineSignal<[RegionProgress]>('regionProgress');
/** A tallied rollout's regions end with this signal, after their last progress report. */
export const regionEndSignal = defineSignal<[RegionEnd]>('regionEnd');
export const regionStatusQuery = defineQuery<{
  round: number;
  step: number;
  hold: string | null;
  done: number;
  total: number;
}>('regionStatus');

/** Children per run before continue-as-new: well under the 1,000-children and 10,000-event limits. */
const CHILDREN_PER_RUN = 500;

/**
 * One region: its steps strictly one after another (zones, update domains, batches), the machines of a
 * step concurrently. Machines whose attempt ended retryably are retried in later rounds, in groups that
 * keep their original step, so a retry never runs beside another zone or update domain.
 */
export async function regionWorkflow(input: RegionInput): Promise<MachineAttemptResult[]> {
  if (input.sliced && input.talliedRollout) return signallingEnd(input, input.sliced);
  if (input.sliced) return slicedRegion(input, input.sliced);
  const { spec, settings } = input;
  const byName = new Map(spec.machines.map((m) => [m.name, m]));
  const results: MachineAttemptResult[] = input.resume?.results ?? [];
  let round = input.resume?.round ?? 1;
  let stepCursor = input.resume?.stepCursor ?? 0;
  let control: RegionControl = input.resume?.control ?? { hold: null, stop: false, ack: 0 };
  let sent = input.resume?.sent ?? 0;
  let childrenThisRun = 0;

  setHandler(regionControlSignal, (c) => void (control = { ...c, ack: Math.max(control.ack, c.ack) }));
  setHandler(regionStatusQuery, () => ({
    round,
    step: stepCursor,
    hold: control.hold,
    done: new Set(results.map((r) => r.name)).size,
    total: spec.machines.length,
  }));

  const latest = () => {
    const last = new Map<string, MachineAttemptResult>();
    for (const r of results) last.set(r.name, r);
    return last;
  };

  /** The steps of a round: the plan's steps in round 1, then only the machines to retry, grouped by their step. */
  const stepsOf = (r: number): PlanStep[] => {
    if (r === 1) return spec.steps;
    const last = latest();
    return spec.steps
      .map((step) => ({
        ...step,
        label: `${step.label}, retry ${r - 1}`,
        machines: step.machines.filter((m) => {
          const prev = last.get(m);
          return prev !== undefined && RETRYABLE_OUTCOMES.has(prev.outcome) && prev.attempt === r - 1;
        }),
      }))
      .filter((step) => step.machines.length > 0);
  };

  for (; round <= settings.maxAttempts; round++, stepCursor = 0) {
    const steps = stepsOf(round);
    if (steps.length === 0) break;
    for (; stepCursor < steps.length; stepCursor++) {
      const step = steps[stepCursor];
      if (control.hold && !control.stop) {
        setCurrentDetails(`Held before "${step.label}": ${control.hold}`);
        await condition(() => control.hold === null || control.stop);
      }
      if (control.stop || Date.now() > settings.deadline) {
        const why = control.stop ? 'the rollout stopped' : 'the rollout deadline passed';
        // Only machines never attempted are Skipped: a retry that does not run leaves the last outcome standing.
        const tried = latest();
        for (const name of step.machines.filter((m) => !tried.has(m)))
          results.push({
            name,
            attempt: round,
            outcome: 'Skipped',
            detail: why,
            counts: zeroCounts(),
            patches: [],
            rebooted: false,
          });
        continue;
      }
      if (childrenThisRun + step.machines.length > CHILDREN_PER_RUN && childrenThisRun > 0) {
        await continueAsNew<typeof regionWorkflow>({
          ...input,
          resume: { round, stepCursor, results, sent, control },
        });
      }
      setCurrentDetails(
        `Round ${round}, step ${stepCursor + 1}/${steps.length}: ${step.label} (${step.machines.length} machine(s))`,
      );
      const handles = await Promise.all(
        step.machines.map((name) =>
          startMachineAttempt(input, round, step.label, byName.get(name)!, latest().get(name)?.windowEnd),
        ),
      );
      childrenThisRun += handles.length;
      // A machine whose attempt failed unexpectedly is recorded as Errored (an error against the budget),
      // instead of failing its whole region.
      const stepResults = await Promise.all(
        handles.map((h, i) =>
          h.result().catch((err: unknown) => {
            if (!patched('region-child-failures')) throw err;
            return erroredResult(step.machines[i], round, err);
          }),
        ),
      );
      results.push(...stepResults);
      const seq = ++sent;
      await getExternalWorkflowHandle(input.parentWorkflowId).signal(regionProgressSignal, {
        region: spec.region,
        step: step.label,
        results: stepResults,
        seq,
      });
      // The rollout judges this step (error budget) before the next one may start: wait for its answer.
      if (input.stepAcks) await condition(() => control.ack >= seq || control.stop);
    }
  }
  setCurrentDetails(`Done: ${latest().size} machine(s)`);
  return results;
}

/** A sliced region of a tallied rollout: tells the rollout it ended, or why it failed, then returns. */
async function signallingEnd(input: RegionInput, sliced: NonNullable<RegionInput['sliced']>): Promise<[]> {
  const rollout = getExternalWorkflowHandle(input.parentWorkflowId);
  const region = input.spec.region;
  try {
    await slicedRegion(input, sliced);
  } catch (err) {
    // Continue-as-new unwinds as an error too: only real failures are announced.
    if (!(err instanceof TemporalFailure)) throw err;
    await rollout.signal(regionEndSignal, { region, failure: rootCause(err) });
    throw err;
  }
  await rollout.signal(regionEndSignal, { region });
  return [];
}

/**
 * A sliced region: the same rounds and steps, read one slice at a time (`loadSpecSlice`), with only
 * cursors and retry marks carried across continue-as-new. New with slicing: no run started before it
 * takes this path (their input has no `sliced`), so it needs no `patched()` marker.
 */
async function slicedRegion(input: RegionInput, sliced: NonNullable<RegionInput['sliced']>): Promise<[]> {
  const { spec, settings } = input;
  const { loadSpecSlice } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: ['BadSlice'] },
  });
  const cursor: RegionCursor = input.cursor ?? {
    round: 1,
    slice: 0,
    step: 0,
    sent: 0,
    control: { hold: null, stop: false, ack: 0 },
    done: 0,
    due: emptyMarks(),
    next: emptyMarks(),
    ...(input.talliedRollout ? { erred: emptyMarks() } : {}),
  };
  const perRun = sliced.childrenPerRun ?? CHILDREN_PER_RUN;
  let childrenThisRun = 0;
  setHandler(
    regionControlSignal,
    (c) => void (cursor.control = { ...c, ack: Math.max(cursor.control.ack, c.ack) }),
  );
  setHandler(regionStatusQuery, () => ({
    round: cursor.round,
    step: cursor.step,
    hold: cursor.control.hold,
    done: cursor.done,
    total: sliced.machineCount,
  }));

  const report = async (label: string, results: ProgressResult[]) => {
    const seq = ++cursor.sent;
    await getExternalWorkflowHandle(input.parentWorkflowId).signal(regionProgressSignal, {
      region: spec.region,
      step: label,
      results,
      seq,
    });
    if (input.stepAcks) await condition(() => cursor.control.ack >= seq || cursor.control.stop);
  };

  for (; cursor.round <= settings.maxAttempts; cursor.round++) {
    const round = cursor.round;
    if (round > 1 && !anyMarked(cursor.due)) break;
    for (; cursor.slice < sliced.slices.length; cursor.slice++, cursor.step = 0) {
      if (round > 1 && !anyMarked(cursor.due, cursor.slice)) continue;
      const slice = await loadSpecSlice(sliced.slices[cursor.slice]);
      const position = new Map(slice.machines.map((m, i) => [m.name, i]));
      for (; cursor.step < slice.steps.length; cursor.step++) {
        const step = slice.steps[cursor.step];
        const names =
          round === 1
            ? step.machines
            : step.machines.filter((n) => marked(cursor.due, cursor.slice, position.get(n)!));
        if (names.length === 0) continue;
        const label = round === 1 ? step.label : `${step.label}, retry ${round - 1}`;
        if (cursor.control.hold && !cursor.control.stop) {
          setCurrentDetails(`Held before "${label}": ${cursor.control.hold}`);
          await condition(() => cursor.control.hold === null || cursor.control.stop);
        }
        const where = (name: string) => {
          const m = slice.machines[position.get(name)!];
          return {
            region: spec.region,
            zone: m.zone,
            availabilitySet: m.availabilitySet,
            updateDomain: m.updateDomain,
          };
        };
        if (cursor.control.stop || Date.now() > settings.deadline) {
          // Only machines never attempted (round 1) are Skipped: a retry that does not run leaves the last
          // outcome standing.
          if (round > 1) continue;
          const why = cursor.control.stop ? 'the rollout stopped' : 'the rollout deadline passed';
          cursor.done += names.length;
          await report(
            label,
            names.map((name) => ({
              name,
              attempt: round,
              outcome: 'Skipped',
              detail: why,
              counts: zeroCounts(),
              rebooted: false,
              ...where(name),
            })),
          );
          continue;
        }
        const info = workflowInfo();
        if (
          childrenThisRun > 0 &&
          (childrenThisRun + names.length > perRun ||
            info.continueAsNewSuggested ||
            info.historyLength > 8000)
        )
          await continueAsNew<typeof regionWorkflow>({ ...input, resume: undefined, cursor });
        setCurrentDetails(
          `Round ${round}, slice ${cursor.slice + 1}/${sliced.slices.length}, step ${cursor.step + 1}/${slice.steps.length}: ${label} (${names.length} machine(s))`,
        );
        const handles = await Promise.all(
          names.map((name) =>
            startMachineAttempt(
              input,
              round,
              label,
              slice.machines[position.get(name)!],
              marked(cursor.due, cursor.slice, position.get(name)!)?.windowEnd,
            ),
          ),
        );
        childrenThisRun += handles.length;
        const results = await Promise.all(
          handles.map((h, i) => h.result().catch((err: unknown) => erroredResult(names[i], round, err))),
        );
        if (round === 1) cursor.done += results.length;
        const erred = cursor.erred;
        const erredBefore = (name: string) =>
          erred && round > 1 && marked(erred, cursor.slice, position.get(name)!) ? { erredBefore: true } : {};
        // Compact: the patch lists stay in the machine attempts' own results (compliance reads them there).
        const compact = results.map(({ patches: _patches, windowEnd: _windowEnd, ...rest }) => ({
          ...rest,
          ...where(rest.name),
          ...erredBefore(rest.name),
        }));
        for (const r of results) {
          if (!RETRYABLE_OUTCOMES.has(r.outcome)) continue;
          const at = position.get(r.name)!;
          mark(cursor.next, cursor.slice, slice.machines.length, at, r.windowEnd);
          if (erred && countsAsError(r.outcome, r.attempt >= settings.maxAttempts))
            mark(erred, cursor.slice, slice.machines.length, at);
        }
        await report(label, compact);
      }
    }
    cursor.slice = 0;
    cursor.step = 0;
    cursor.due = cursor.next;
    cursor.next = emptyMarks();
  }
  setCurrentDetails(`Done: ${cursor.done} machine(s)`);
  return [];
}

/** Starts one machine's attempt as a child, with its readable ID, summary and search attributes. */
function startMachineAttempt(
  input: RegionInput,
  round: number,
  stepLabel: string,
  machine: MachineSpec,
  notBefore: number | undefined,
) {
  const { rolloutId, spec, settings } = input;
  return startChild(machineAttemptWorkflow, {
    workflowId: machineWorkflowId(rolloutId, spec.region, machine.name, round),
    args: [{ rolloutId, machine, attempt: round, settings, notBefore }],
    parentClosePolicy: ParentClosePolicy.TERMINATE,
    staticSummary: `${machine.name}: attempt ${round} (${stepLabel})`,
    typedSearchAttributes: [
      { key: SA.kind, value: 'machine' },
      { key: SA.rollout, value: rolloutId },
      { key: SA.region, value: spec.region },
      { key: SA.phase, value: spec.phase },
      { key: SA.machine, value: machine.name },
    ],
  });
}

function erroredResult(name: string, attempt: number, err: unknown): MachineAttemptResult {
  const detail = rootCause(err);
  return { name, attempt, outcome: 'Errored', detail, counts: zeroCounts(), patches: [], rebooted: false };
}

/** The root cause (say, the driver's message) is what an operator needs, not "Activity task failed". */
function rootCause(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof TemporalFailure && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

function zeroCounts() {
  return { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 };
}
