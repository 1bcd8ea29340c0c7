import type { Plan } from '../plan';
import type { ForecastDetail } from './forecast';

export interface ForecastFormatOptions {
  /** Steps listed per region (default 20); the rest is one line. */
  maxStepsPerRegion?: number;
  /** Late machines listed by name (default 50); the rest is counted. */
  maxLate?: number;
  /** The assumptions, as the operator gave them, for the header line. */
  assumptions: string;
}

/** "2026-12-08 22:00 UTC": minutes are what an operator plans with. */
function at(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function atMs(ms: number): string {
  return at(new Date(ms).toISOString());
}

/** The forecast for a terminal: finish, bound, deadline, phases, regions, steps, late machines. */
export function formatForecastTable(
  plan: Plan,
  detail: ForecastDetail,
  options: ForecastFormatOptions,
): string {
  const f = detail.forecast;
  const maxSteps = options.maxStepsPerRegion ?? 20;
  const maxLate = options.maxLate ?? 50;
  const lines = [
    `Forecast from ${at(f.startAt)} (${options.assumptions})`,
    `Finishes ${at(f.finishAt)}, lower bound ${at(f.lowerBoundFinishAt)}, deadline ${at(f.deadline)}`,
  ];
  for (const phase of f.phases) {
    lines.push('', `Phase ${phase.index}: ${at(phase.startAt)} -> ${at(phase.finishAt)}`);
    plan.regions.forEach((region, k) => {
      if (region.phase !== phase.index) return;
      const span = f.regions[k];
      lines.push(`  ${region.region}: ${at(span.startAt)} -> ${at(span.finishAt)}`);
      const steps = detail.steps.get(region.region) ?? [];
      steps.slice(0, maxSteps).forEach((s, j) => {
        lines.push(
          `    ${String(j).padStart(4)}  ${atMs(s.startAt)} -> ${atMs(s.finishAt)}  ${region.steps[j].label}`,
        );
      });
      if (steps.length > maxSteps) lines.push(`    ... ${steps.length - maxSteps} more step(s)`);
    });
  }
  lines.push('');
  if (f.late.length === 0) lines.push('Late: none, every machine is patched before the deadline');
  else {
    lines.push(`Late: ${f.late.length} machine(s) cannot be patched before the deadline`);
    for (const m of f.late.slice(0, maxLate)) lines.push(`  ${m.name}: ${m.reason}`);
    if (f.late.length > maxLate)
      lines.push(`  ... ${f.late.length - maxLate} more (--output json lists all)`);
  }
  return lines.join('\n') + '\n';
}
