export { rolloutWorkflow } from './rollout';
export { regionWorkflow } from './region';
export { machineAttemptWorkflow } from './machine';
export { assessWorkflow } from './assess';
export { scheduledRolloutWorkflow } from './scheduled-rollout';
export { fleetGuardWorkflow } from './fleet-guard';
