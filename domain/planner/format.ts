import type { ExclusionReason, Plan } from '../plan';

export interface FormatOptions {
  /** Steps listed per region before the rest is summarised in one line (default 20). */
  maxStepsPerRegion?: number;
}

const REASON_TEXT: Record<ExclusionReason, string> = {
  LeftToOS: 'the OS patches them (AutomaticByOS, ImageDefault)',
  ManualPatchMode: 'patch mode Manual (explicit schedules and on-demand runs only)',
  RegionNotInPhases: 'region in none of the explicit phases',
};

/** A plain-text explanation of a plan for a terminal: phases, regions, steps, exclusions, estimate. */
export function formatPlanTable(plan: Plan, options: FormatOptions = {}): string {
  const maxSteps = options.maxStepsPerRegion ?? 20;
  const excluded = new Map<ExclusionReason, number>();
  for (const m of plan.machines)
    if (m.excluded) excluded.set(m.excluded.reason, (excluded.get(m.excluded.reason) ?? 0) + 1);
  let excludedTotal = 0;
  for (const count of excluded.values()) excludedTotal += count;
  const planned = plan.machines.length - excludedTotal;

  const lines: string[] = [
    `Rollout plan: ${count(plan.phases.length, 'phase')}, ${count(plan.regions.length, 'region')}, ` +
      `${count(planned, 'machine')} to patch, ${digits(excludedTotal)} excluded`,
    `Patching time only: ${minutes(plan.estimateMinutes)} (lower bound ${minutes(plan.lowerBoundMinutes)}); no windows, approvals or retries`,
  ];
  for (const phase of plan.phases) {
    // An explicit phase may be left with no machines to patch; it keeps its place (and its index).
    const regions = phase.regions.length ? phase.regions.join(', ') : 'no machines to patch';
    lines.push('', `Phase ${phase.index}: ${regions} (estimate ${minutes(phase.estimateMinutes)})`);
    for (const region of plan.regions) {
      if (region.phase !== phase.index) continue;
      const machines = region.steps.reduce((sum, s) => sum + s.machines.length, 0);
      const lanes = new Set(region.steps.map((s) => s.lane)).size;
      lines.push(
        `  ${region.region}: ${count(machines, 'machine')} in ${count(region.steps.length, 'step')}` +
          `${lanes > 1 ? ` (${digits(lanes)} lanes side by side)` : ''}, estimate ${minutes(region.estimateMinutes)}`,
      );
      const rows = region.steps
        .slice(0, maxSteps)
        .map((s) => [
          String(s.index),
          s.label,
          String(s.lane),
          digits(s.machines.length),
          minutes(s.estimateMinutes),
        ]);
      if (rows.length)
        lines.push(...table([['step', 'label', 'lane', 'machines', 'estimate'], ...rows], '    '));
      const rest = region.steps.slice(maxSteps);
      if (rest.length) {
        const restMachines = rest.reduce((sum, s) => sum + s.machines.length, 0);
        const restMinutes = rest.reduce((sum, s) => sum + s.estimateMinutes, 0);
        lines.push(
          `    ... ${count(rest.length, 'more step')}: ${count(restMachines, 'machine')}, ${minutes(restMinutes)}`,
        );
      }
    }
  }
  lines.push('', excludedTotal ? `Excluded: ${count(excludedTotal, 'machine')}` : 'Excluded: none');
  for (const reason of Object.keys(REASON_TEXT) as ExclusionReason[]) {
    const n = excluded.get(reason);
    if (n) lines.push(`  ${reason.padEnd(18)} ${digits(n).padStart(9)}  ${REASON_TEXT[reason]}`);
  }
  return lines.join('\n') + '\n';
}

/** Left-aligned text columns, right-aligned numeric ones (every column but the label). */
function table(rows: string[][], indent: string): string[] {
  const widths = rows[0].map((_, c) => rows.reduce((w, row) => Math.max(w, row[c].length), 0));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, c) => (c === 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
  );
}

function count(n: number, noun: string): string {
  return `${digits(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** 1234567 -> "1,234,567", independent of the locale. */
function digits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Whole minutes: "40m", "2h 05m". */
function minutes(value: number): string {
  const total = Math.round(value);
  if (total < 60) return `${total}m`;
  return `${digits(Math.floor(total / 60))}h ${String(total % 60).padStart(2, '0')}m`;
}
