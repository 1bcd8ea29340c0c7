import { metricMeter } from '@temporalio/workflow';
import type { AttemptOutcome } from '../domain/outcomes';
import type { RolloutReport } from './rollout-state';

/**
 * Offpeak's own metrics, emitted from workflow code through the SDK's workflow metric meter: the worker
 * exports them beside Temporal's (`offpeak worker --metrics-port`), and the SDK drops them while a
 * workflow replays, so a counter is not counted twice. Emitting adds no command to the history: calls
 * can be added to running workflows without `patched()`.
 */
export const OFFPEAK_METRICS = {
  attempts: 'offpeak_machine_attempts',
  patched: 'offpeak_machines_patched',
  failed: 'offpeak_machines_failed',
  pending: 'offpeak_machines_pending',
  gatesWaiting: 'offpeak_gates_waiting',
} as const;

/** Counts a machine attempt that ended, by rollout, region and outcome. Call once per attempt. */
export function countMachineAttempt(rolloutId: string, region: string, outcome: AttemptOutcome): void {
  metricMeter
    .createCounter(OFFPEAK_METRICS.attempts, 'attempts', 'Machine attempts that ended, by outcome')
    .add(1, { rollout: rolloutId, region, outcome });
}

/** Machines of a rollout by where they stand: patched, failed (errors), pending (everything else planned). */
export function machineTally(report: RolloutReport): { patched: number; failed: number; pending: number } {
  if (report.paged) {
    const { planned, succeeded } = report.paged;
    return {
      patched: succeeded,
      failed: report.errors.count,
      pending: Math.max(0, planned - succeeded - report.errors.count),
    };
  }
  const planned = report.machines.filter((m) => m.outcome !== 'Excluded').length;
  const patched = report.machines.filter((m) => m.outcome === 'Succeeded').length;
  const failed = report.errors.count;
  return { patched, failed, pending: Math.max(0, planned - patched - failed) };
}

/** Sets the rollout's gauges from its report: machines patched, failed and pending, gates waiting. */
export function setRolloutGauges(report: RolloutReport): void {
  const tags = { rollout: report.rolloutId };
  const tally = machineTally(report);
  const gauge = (name: string, description: string, value: number) =>
    metricMeter.createGauge(name, 'int', 'machines', description).set(value, tags);
  gauge(OFFPEAK_METRICS.patched, 'Machines of the rollout patched successfully', tally.patched);
  gauge(OFFPEAK_METRICS.failed, 'Machines of the rollout counted as errors', tally.failed);
  gauge(OFFPEAK_METRICS.pending, 'Machines of the rollout not patched yet', tally.pending);
  metricMeter
    .createGauge(OFFPEAK_METRICS.gatesWaiting, 'int', 'gates', 'Gates of the rollout waiting for a decision')
    .set(report.openGate ? 1 : 0, tags);
}
