import {
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
  /** Carried across continue-as-new. */
  resume?: { round: number; stepCursor: number; results: MachineAttemptResult[] };
}

export interface RegionProgress {
  region: string;
  step: string;
  results: MachineAttemptResult[];
}

export interface RegionControl {
  /** Why the region must not start another step (paused, halted); null lets it go on. */
  hold: string | null;
  /** Finish now: machines not yet started are reported Skipped. */
  stop: boolean;
}

export const regionControlSignal = defineSignal<[RegionControl]>('regionControl');
export const regionProgressSignal = defineSignal<[RegionProgress]>('regionProgress');
export const regionStatusQuery = defineQuery<{ round: number; step: number; hold: string | null; done: number; total: number }>('regionStatus');

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
  let control: RegionControl = { hold: null, stop: false };
  let childrenThisRun = 0;

  setHandler(regionControlSignal, (c) => void (control = c));
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
        for (const name of step.machines)
          results.push({ name, attempt: round, outcome: 'Skipped', detail: why, counts: zeroCounts(), patches: [], rebooted: false });
        continue;
      }
      if (childrenThisRun + step.machines.length > CHILDREN_PER_RUN && childrenThisRun > 0) {
        await continueAsNew<typeof regionWorkflow>({ ...input, resume: { round, stepCursor, results } });
      }
      setCurrentDetails(`Round ${round}, step ${stepCursor + 1}/${steps.length}: ${step.label} (${step.machines.length} machine(s))`);
      const handles = await Promise.all(
        step.machines.map((name) =>
          startChild(machineAttemptWorkflow, {
            workflowId: machineWorkflowId(rolloutId, spec.region, name, round),
            args: [{ rolloutId, machine: byName.get(name)!, attempt: round, settings, notBefore: latest().get(name)?.windowEnd }],
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
      const stepResults = await Promise.all(handles.map((h) => h.result()));
      results.push(...stepResults);
      await getExternalWorkflowHandle(input.parentWorkflowId).signal(regionProgressSignal, {
        region: spec.region,
        step: step.label,
        results: stepResults,
      });
    }
  }
  setCurrentDetails(`Done: ${latest().size} machine(s)`);
  return results;
}

function zeroCounts() {
  return { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 };
}
