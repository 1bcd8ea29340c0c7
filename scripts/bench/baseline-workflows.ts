import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { NON_RETRYABLE_FAILURES } from '../../domain/failures';
import { selectPatches } from '../../domain/patch-selection';
import { shouldReboot } from '../../domain/reboot';
import type { MachineSpec, RolloutInput, RolloutSettings } from '../../domain/rollout-spec';
import type { InlineSliceRef } from '../../domain/spec-slices';

/**
 * The bare Temporal baseline for the throughput benchmark (scripts/bench-throughput.ts): the same shape as
 * an Offpeak rollout (one parent, one child per region, one child per machine, the steps of a region one
 * after another, the machines of a step at once, the phases one after another) and, per machine, the same
 * activities with the same arguments on the same driver (assess, install, the reboot's three steps when it
 * is needed, the health check), with none of Offpeak's guarantees: no leases, no reports to the rollout, no
 * gates or halts, no memo, no search attributes, no retries across windows.
 */
const { assess, install, bootId, reboot, waitForBoot, healthCheck } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

type Settings = Pick<RolloutSettings, 'deadline' | 'rebootSetting' | 'selection'>;

export async function baselineMachine(machine: MachineSpec, settings: Settings, id: string): Promise<void> {
  const op = { id, attempt: 1 };
  const assessment = await assess(machine, op);
  const { selected } = selectPatches(assessment.patches, { ...settings.selection, hotpatchOnly: false });
  if (selected.length === 0 && !shouldReboot(settings.rebootSetting, assessment.rebootPending, false)) return;
  const installed = await install(machine, op, selected, settings.deadline);
  if (shouldReboot(settings.rebootSetting, installed.rebootRequired, false)) {
    const before = await bootId(machine, op);
    await reboot(machine, op, before);
    await waitForBoot(machine, op, before);
  }
  await healthCheck(machine, op);
}

export async function baselineRegion(
  slices: InlineSliceRef[],
  settings: Settings,
  id: string,
  prefix: string,
): Promise<void> {
  for (const { inline: slice } of slices) {
    const byName = new Map(slice.machines.map((m) => [m.name, m]));
    for (const step of slice.steps)
      await Promise.all(
        step.machines.map((name) =>
          executeChild(baselineMachine, {
            workflowId: `${prefix}/${name}`,
            args: [byName.get(name)!, settings, id],
          }),
        ),
      );
  }
}

/** The rollout's own input (its slices inline), run phase by phase, the regions of a phase at once. */
export async function baselineRollout(input: RolloutInput, id: string): Promise<void> {
  for (const phase of input.phases)
    await Promise.all(
      input.regions
        .filter((r) => phase.regions.includes(r.region))
        .map((r) =>
          executeChild(baselineRegion, {
            workflowId: `${id}/${r.region}`,
            args: [r.slices as InlineSliceRef[], input.settings, id, `${id}/${r.region}`],
          }),
        ),
    );
}
