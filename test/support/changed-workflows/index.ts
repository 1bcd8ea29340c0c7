/**
 * The real workflows, except that the rollout waits one second before it does anything: the kind of
 * change that looks harmless and breaks every rollout in flight, because it is not behind `patched()`.
 * Bundled by test/support/global-setup.js; the replay test proves our saved histories catch it.
 */
import { sleep } from '@temporalio/workflow';
import { rolloutWorkflow as currentRolloutWorkflow } from '../../../workflows/rollout';
import type { RolloutSummary, RolloutWorkflowInput } from '../../../workflows/messages';

export { regionWorkflow } from '../../../workflows/region';
export { machineAttemptWorkflow } from '../../../workflows/machine';
export { fleetGuardWorkflow } from '../../../workflows/fleet-guard';

export async function rolloutWorkflow(input: RolloutWorkflowInput): Promise<RolloutSummary> {
  await sleep('1 second');
  return currentRolloutWorkflow(input);
}
