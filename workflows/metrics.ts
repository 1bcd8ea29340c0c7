import { metricMeter } from '@temporalio/workflow';
import type { AttemptOutcome } from '../domain/outcomes';
import type { RolloutSummary } from './messages';

/**
 * Offpeak's own metrics, emitted from workflow code through the SDK's workflow metric meter: the worker
 * exports them beside Temporal's (`offpeak worker --metrics-port`), and the SDK drops them while a
 * workflow replays, so a counter is not counted twice. Emitting adds no command to the history: calls
 * can be added to running workflows without a version marker.
 */
export const OFFPEAK_METRICS = {
  attempts: 'offpeak_machine_attempts',
  patched: 'offpeak_machines_patched',
  failed: 'offpeak_machines_failed',
  pending: 'offpeak_machines_pending',
  gatesWaiting: 'offpeak_gates_waiting',
  leaseWait: 'offpeak_lease_wait_seconds',
  leasesHeld: 'offpeak_leases_held',
  leasesWaiting: 'offpeak_leases_waiting',
} as const;

/** A lease granted: how long its step waited for the fleet guard (0 when granted at once). */
export function recordLeaseWait(rolloutId: string, region: string, waitedMs: number, unsafe: boolean): void {
  metricMeter
    .createHistogram(OFFPEAK_METRICS.leaseWait, 'float', 's', 'Time a step waited for its fleet-guard lease')
    .record(waitedMs / 1000, { rollout: rolloutId, region, unsafe: String(unsafe) });
}

/** The fleet guard's book: leases held and waiting. */
export function setLeaseGauges(held: number, waiting: number): void {
  const gauge = (name: string, description: string, value: number) =>
    metricMeter.createGauge(name, 'int', 'leases', description).set(value);
  gauge(OFFPEAK_METRICS.leasesHeld, 'Fleet-guard leases held', held);
  gauge(OFFPEAK_METRICS.leasesWaiting, 'Fleet-guard lease requests waiting', waiting);
}

/** Counts a machine attempt that ended, by rollout, region and outcome. Call once per attempt. */
export function countMachineAttempt(rolloutId: string, region: string, outcome: AttemptOutcome): void {
  metricMeter
    .createCounter(OFFPEAK_METRICS.attempts, 'attempts', 'Machine attempts that ended, by outcome')
    .add(1, { rollout: rolloutId, region, outcome });
}

/** Machines of a rollout by where they stand: patched, failed (errors), pending (everything else planned). */
export function machineTally(summary: RolloutSummary): { patched: number; failed: number; pending: number } {
  const failed = summary.errors.count;
  return {
    patched: summary.succeeded,
    failed,
    pending: Math.max(0, summary.planned - summary.succeeded - failed),
  };
}

/** Sets the rollout's gauges from its report: machines patched, failed and pending, gates waiting. */
export function setRolloutGauges(report: RolloutSummary): void {
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
