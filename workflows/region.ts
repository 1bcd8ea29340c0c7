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
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { RETRYABLE_OUTCOMES } from '../domain/outcomes';
import type { PlanStep } from '../domain/plan';
import type { RegionSpec, RolloutSettings } from '../domain/rollout-spec';
import { SA } from '../servers/search-attributes';
import { machineWorkflowId } from './ids';
import { machineAttemptWorkflow, type MachineAttemptResult } from './machine';

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

export interface RegionProgress {
  region: string;
  step: string;
  results: MachineAttemptResult[];
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

export const regionControlSignal = defineSignal<[RegionControl]>('regionControl');
export const regionProgressSignal = defineSignal<[RegionProgress]>('regionProgress');
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
  const { spec, settings, rolloutId } = input;
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
          startChild(machineAttemptWorkflow, {
            workflowId: machineWorkflowId(rolloutId, spec.region, name, round),
            args: [
              {
                rolloutId,
                machine: byName.get(name)!,
                attempt: round,
                settings,
                notBefore: latest().get(name)?.windowEnd,
              },
            ],
            parentClosePolicy: ParentClosePolicy.TERMINATE,
            staticSummary: `${name}: attempt ${round} (${step.label})`,
            typedSearchAttributes: [
              { key: SA.kind, value: 'machine' },
              { key: SA.rollout, value: rolloutId },
              { key: SA.region, value: spec.region },
              { key: SA.phase, value: spec.phase },
              { key: SA.machine, value: name },
            ],
          }),
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

function erroredResult(name: string, attempt: number, err: unknown): MachineAttemptResult {
  // The root cause (say, the driver's message) is what an operator needs, not "Activity task failed".
  let cause: unknown = err;
  while (cause instanceof TemporalFailure && cause.cause) cause = cause.cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return { name, attempt, outcome: 'Errored', detail, counts: zeroCounts(), patches: [], rebooted: false };
}

function zeroCounts() {
  return { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 };
}
