import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { jsonBytes, START_COMMAND_BYTES } from '../domain/payload-limits';
import { machineSettingsOf } from '../domain/machine-settings';
import type { RolloutInput } from '../domain/rollout-spec';
import type { SlicedRegion } from '../domain/spec-slices';
import { machineWorkflowId, regionWorkflowId } from './ids';
import { SA, type MachineAttemptInput, type RegionInput, type StepReply } from './messages';
import type { StartBudget } from './start-budget';

/*
 * Children are started by workflow type name, with their inputs typed by the contracts (messages.ts):
 * this file imports no workflow, so the rollout, its regions and their machines never import each other.
 */

/**
 * Starts a region of the rollout as a child, with its readable ID, summary and search attributes, and its
 * first reply (the rollout's hold as it starts).
 */
export function startRegion(plan: RolloutInput, region: SlicedRegion, reply: StepReply) {
  const input: RegionInput = {
    rolloutId: plan.rolloutId,
    parentWorkflowId: workflowInfo().workflowId,
    region: region.region,
    phase: region.phase,
    machineCount: region.machineCount,
    slices: region.slices,
    ...(region.laneStarts ? { laneStarts: region.laneStarts } : {}),
    settings: plan.settings,
    childrenPerRun: plan.childrenPerRun,
    eventsPerRun: plan.eventsPerRun,
    ...(plan.startsInFlightBytes ? { startsInFlightBytes: plan.startsInFlightBytes } : {}),
    reply,
  };
  return startChild('regionWorkflow', {
    workflowId: regionWorkflowId(plan.rolloutId, region.region),
    args: [input satisfies RegionInput],
    // Regions outlive each run of the rollout, which continues as new while they work; a region whose
    // rollout is gone stops at its next report.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `${region.region}: phase ${region.phase}, ${region.machineCount} machine(s) in ${region.stepCount} step(s), ${region.laneStarts?.length ?? 1} lane(s)`,
    typedSearchAttributes: [
      { key: SA.kind, value: 'region' },
      { key: SA.rollout, value: plan.rolloutId },
      { key: SA.region, value: region.region },
      { key: SA.phase, value: region.phase },
    ],
  });
}

/**
 * Starts one machine's attempt as a child of its region, with its readable ID, summary and search attributes,
 * once the region's start budget has room for its input (workflows/start-budget.ts).
 */
export function startMachineAttempt(
  region: RegionInput,
  attempt: Omit<MachineAttemptInput, 'rolloutId' | 'settings'>,
  stepLabel: string,
  budget: StartBudget,
) {
  const { rolloutId } = region;
  const { machine } = attempt;
  const input: MachineAttemptInput = { rolloutId, settings: machineSettingsOf(region.settings), ...attempt };
  return budget.start(jsonBytes(input) + START_COMMAND_BYTES, () =>
    startChild('machineAttemptWorkflow', {
      workflowId: machineWorkflowId(rolloutId, region.region, machine.name, attempt.attempt),
      args: [input],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `${machine.name}: attempt ${attempt.attempt} (${stepLabel})`,
      typedSearchAttributes: [
        { key: SA.kind, value: 'machine' },
        { key: SA.rollout, value: rolloutId },
        { key: SA.region, value: region.region },
        { key: SA.phase, value: region.phase },
        { key: SA.machine, value: machine.name },
      ],
    }),
  );
}
