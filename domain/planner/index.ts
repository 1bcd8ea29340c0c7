/** The availability-first planner: pure, deterministic, no I/O. See docs/planner.md. */
export { longestLane, planRollout } from './rollout';
export { formatPlanTable, type FormatOptions } from './format';
export { DEFAULT_MINUTES, machineMinutes } from './eligibility';
export { resolveMinAvailable, serviceAllowance } from './capacity';
export { availabilitySetCap, MAX_BATCH_MACHINES, MAX_REGION_ATTEMPTS } from './limits';
export { forecastRollout, type Forecast, type ForecastAssumptions, type ForecastDetail } from './forecast';
export { formatForecastTable, type ForecastFormatOptions } from './forecast-format';
