export { rolloutWorkflow } from './rollout';
export { regionWorkflow } from './region';
export { machineAttemptWorkflow } from './machine';
