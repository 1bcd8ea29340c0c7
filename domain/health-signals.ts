import { z } from 'zod';

/**
 * Fleet-level health signals from the operator's monitoring (issue 11): Prometheus alerts, or a PromQL
 * query, asked after each step and during a phase's bake. The contract between the policy, the
 * `checkHealthSignals` activity and the rollout's gates. Workflows import the types only.
 */

const name = z.string().min(1).max(256);

export const prometheusSignalSchema = z
  .object({
    /** The Prometheus server, for example http://prometheus:9090 (its HTTP API under /api/v1). */
    url: z.string().url().max(2048),
    /** Alert names (the `alertname` label) that halt the rollout when firing for the phase's regions or services. */
    alerts: z.array(name).min(1).max(100).optional(),
    /** Or a PromQL query: any sample returned is a firing signal. `$regions` and `$services` expand to a regex alternation. */
    query: z.string().min(1).max(4096).optional(),
    /** The label names that carry a machine's region and service in the alerts' labels. */
    labels: z
      .object({ region: name.default('region'), service: name.default('service') })
      .strict()
      .default({ region: 'region', service: 'service' }),
    /** How often the bake asks, in seconds. */
    intervalSeconds: z.number().int().min(5).max(3600).default(60),
    /** One request's timeout, in seconds; a timeout is an unreachable Prometheus (inconclusive). */
    timeoutSeconds: z.number().int().min(1).max(120).default(10),
  })
  .strict()
  .refine((p) => (p.alerts === undefined) !== (p.query === undefined), {
    message: 'give exactly one of alerts or query',
  });

export type PrometheusSignal = z.infer<typeof prometheusSignalSchema>;

/** What the rollout asks: the signal, for the regions and services of the phase being judged. */
export interface HealthSignalRequest {
  prometheus: PrometheusSignal;
  regions: string[];
  services: string[];
}

export interface FiringSignal {
  /** The alert's name, or `query` for a PromQL signal. */
  name: string;
  labels: Record<string, string>;
}

/**
 * The answer. `firing` halts the rollout, naming the signals; `unreachable` makes the gate inconclusive
 * (a person decides), never a silent pass.
 */
export type HealthSignalVerdict =
  | { status: 'ok' }
  | { status: 'firing'; firing: FiringSignal[]; reason: string }
  | { status: 'unreachable'; reason: string };

/**
 * Where verdicts come from: the Prometheus client in production (activities/signals/prometheus.ts), a
 * controllable source in workflow tests (like the simulated machine driver). The `checkHealthSignals`
 * activity asks the source it was built with.
 */
export interface HealthSignalSource {
  check(request: HealthSignalRequest): Promise<HealthSignalVerdict>;
}
