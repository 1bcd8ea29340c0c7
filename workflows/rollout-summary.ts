import type { RolloutStatus } from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import type { PhaseWatch } from './phase-watch';
import type { GateBook } from './gate-book';
import type { RolloutCarry, RolloutSummary } from './messages';
import type { RegionBook } from './region-book';

/** What the summary reads of the rollout's state (`RolloutState`, which calls these). */
export type StateView = Pick<
  RolloutCarry,
  | 'status'
  | 'reason'
  | 'waitingFor'
  | 'paused'
  | 'stopped'
  | 'forgivenErrors'
  | 'phaseForgiven'
  | 'phases'
  | 'phase'
> & {
  input: RolloutInput;
  log: GateBook;
  regions: RegionBook;
  watch: PhaseWatch;
  errorTally(): { count: number; allowed: number };
  phaseTally(): { count: number; allowed: number };
  shown(): { status: RolloutStatus; waitingFor?: string };
  bakingLabel(): string | undefined;
};

/** What the rollout says of itself (status query, memo, result): counts per region and phase, decisions. */
export function summaryOf(state: StateView): RolloutSummary {
  const { rolloutId, startedBy, settings } = state.input;
  const { count, allowed } = state.errorTally();
  const { status, waitingFor } = state.shown();
  const baking = state.bakingLabel();
  return {
    rolloutId,
    status,
    reason: state.reason,
    waitingFor,
    ...(baking ? { baking } : {}),
    openGate: state.log.openGate,
    startedBy,
    month: settings.month,
    monthType: settings.monthType,
    deadline: new Date(settings.deadline).toISOString(),
    errors: { count, allowed },
    ...(state.phase >= 0 ? { phaseErrors: { phase: state.phase, ...pick(state.phaseTally()) } } : {}),
    failed: state.regions.failed,
    planned: state.regions.sum((t) => t.total),
    succeeded: state.regions.sum((t) => t.succeeded),
    attempts: state.regions.sum((t) => t.attempts),
    phases: state.phases,
    regions: state.regions.reports(),
    gates: state.log.records,
    ...(state.log.dropped ? { refusalsDropped: state.log.dropped } : {}),
  };
}

/** What a rollout that continues as new carries into its next run: its position, decisions and counts. */
export function carryOf(state: StateView): RolloutCarry {
  const { status, reason, waitingFor, paused, stopped, forgivenErrors, phaseForgiven, phases, phase } = state;
  return {
    ...{ status, reason, waitingFor, paused, stopped, forgivenErrors, phaseForgiven, phases, phase },
    gates: state.log.records,
    refusalsDropped: state.log.dropped,
    ...(state.log.nonces.length ? { nonces: state.log.nonces } : {}),
    ...state.regions.carry(),
    ...state.watch.carry(),
  };
}

const pick = ({ count, allowed }: { count: number; allowed: number }) => ({ count, allowed });
