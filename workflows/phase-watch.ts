import { bakeLabel } from '../domain/gates';
import type { HealthSignalRequest, HealthSignalVerdict } from '../domain/health-signals';
import type { RolloutSettings } from '../domain/rollout-spec';
import type { RolloutCarry } from './messages';

/**
 * What the rollout watches besides its machines' outcomes: a promoted phase's bake (its time) and the
 * operator's health signals, asked after each step (the step's region waits for the answer) and during the
 * bake. Pure: no Temporal imports; the workflow runs the timers and the `checkHealthSignals` activity.
 */
export class PhaseWatch {
  bake?: { phase: number; since: number; until: number };
  /** Regions whose last step waits for the health signals' answer before they are acknowledged. */
  readonly due: string[];

  constructor(
    private readonly settings: RolloutSettings,
    carry?: Pick<RolloutCarry, 'bake' | 'signalsDue'>,
  ) {
    this.bake = carry?.bake;
    this.due = [...(carry?.signalsDue ?? [])];
  }

  /** A phase was promoted at `at`: true when it bakes (its bake time is above 0). */
  startBake(phase: number, at: string): boolean {
    const minutes = this.settings.bakeMinutes?.[phase] ?? 0;
    if (minutes <= 0) return false;
    this.bake = { phase, since: Date.parse(at), until: Date.parse(at) + minutes * 60_000 };
    return true;
  }

  /** Milliseconds until the next health check of the bake, or its end; 0 once it is over. */
  nextWait(now: number): number {
    if (!this.bake) return 0;
    const left = Math.max(0, this.bake.until - now);
    const interval = this.settings.health ? this.settings.health.prometheus.intervalSeconds * 1000 : left;
    return Math.min(left, interval);
  }

  label(): string | undefined {
    return this.bake ? bakeLabel(this.bake.phase, this.bake.until, this.bake.since) : undefined;
  }

  /** A region's step ended: with health signals configured, its acknowledgement waits for their answer. */
  stepDone(region: string): void {
    if (this.settings.health && !this.due.includes(region)) this.due.push(region);
  }

  /** What to ask Prometheus about: the regions given (and their services), or undefined without signals. */
  request(regions: readonly string[]): HealthSignalRequest | undefined {
    const health = this.settings.health;
    if (!health || regions.length === 0) return undefined;
    const services = [...new Set(regions.flatMap((r) => health.services?.[r] ?? []))].sort();
    return { prometheus: health.prometheus, regions: [...regions], services };
  }

  /** The regions asked about were answered: their steps are acknowledged. */
  answered(regions: readonly string[]): void {
    for (const r of regions) if (this.due.includes(r)) this.due.splice(this.due.indexOf(r), 1);
  }

  carry(): Pick<RolloutCarry, 'bake' | 'signalsDue'> {
    return { bake: this.bake, signalsDue: this.due };
  }
}

/** Why a health verdict halts the rollout (and how the halt shows), or undefined when it is ok. */
export function signalHalt(verdict: HealthSignalVerdict): { reason: string; shown: string } | undefined {
  if (verdict.status === 'ok') return undefined;
  if (verdict.status === 'firing') {
    const named = verdict.firing.map((f) => `${f.name}{${labelsOf(f.labels)}}`).join(', ');
    const reason = `health signal firing: ${named}${verdict.reason ? ` (${verdict.reason})` : ''}`;
    return { reason, shown: reason };
  }
  const reason = `health signals unreachable: ${verdict.reason}`;
  return { reason, shown: `inconclusive: ${reason}` };
}

const labelsOf = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
