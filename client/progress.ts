import { simulatedNotice, type SimulatedMarker } from '../domain/simulated';
import type { RolloutReport } from '../workflows/rollout-state';
import { bar, table } from './output';

/** A report as the client assembles it: with the rollout's simulated machines (client/temporal.ts). */
type Shown = RolloutReport & { simulated?: SimulatedMarker };

const DONE = new Set([
  'Succeeded',
  'InstallFailed',
  'Pending',
  'Unreachable',
  'WindowMissed',
  'PreScriptFailed',
  'PostScriptFailed',
  'DidNotComeBack',
  'Unhealthy',
  'Skipped',
]);

/** Progress per phase and region, as lines for a terminal. */
export function progressLines(report: Shown): string[] {
  const lines = [
    `Rollout ${report.rolloutId}: ${report.status}${report.waitingFor ? ` (waiting for ${report.waitingFor})` : ''}`,
  ];
  const simulated = simulatedNotice(report.simulated);
  if (simulated) lines.push(`  ${simulated}`);
  if (report.paged) return [...lines, ...pagedLines(report, report.paged), errorsLine(report)];
  for (const phase of report.phases) {
    const machines = report.machines.filter((m) => m.phase === phase.index);
    const done = machines.filter((m) => DONE.has(m.outcome)).length;
    lines.push(
      `  phase ${phase.index} ${bar(done, machines.length)} ${done}/${machines.length} ${phase.status}`,
    );
    for (const region of phase.regions) {
      const inRegion = machines.filter((m) => m.region === region);
      const regionDone = inRegion.filter((m) => DONE.has(m.outcome)).length;
      const failed = inRegion.filter((m) => DONE.has(m.outcome) && m.outcome !== 'Succeeded').length;
      lines.push(
        `    ${region.padEnd(20)} ${bar(regionDone, inRegion.length, 20)} ${regionDone}/${inRegion.length}${failed ? `  ${failed} not succeeded` : ''}`,
      );
    }
  }
  lines.push(errorsLine(report));
  return lines;
}

const errorsLine = (report: RolloutReport) =>
  `  errors ${report.errors.count} (budget ${report.errors.allowed})`;

/** A sliced rollout's progress, from its per-region tallies (its status lists no machines). */
function pagedLines(report: RolloutReport, paged: NonNullable<RolloutReport['paged']>): string[] {
  const lines: string[] = [];
  for (const phase of report.phases) {
    const regions = paged.regions.filter((r) => r.phase === phase.index);
    const total = regions.reduce((n, r) => n + r.total, 0);
    const done = regions.reduce((n, r) => n + r.done, 0);
    lines.push(`  phase ${phase.index} ${bar(done, total)} ${done}/${total} ${phase.status}`);
    for (const r of regions)
      lines.push(
        `    ${r.region.padEnd(20)} ${bar(r.done, r.total, 20)} ${r.done}/${r.total}${r.notSucceeded ? `  ${r.notSucceeded} not succeeded` : ''}`,
      );
  }
  return lines;
}

/** The closing summary: one row per outcome, then the machines that did not succeed. */
export function summaryTable(report: Shown): string {
  const byOutcome = new Map<string, number>();
  for (const m of report.machines) byOutcome.set(m.outcome, (byOutcome.get(m.outcome) ?? 0) + 1);
  const counts = table(
    ['outcome', 'machines'],
    [...byOutcome.entries()].sort((a, b) => b[1] - a[1]).map(([o, n]) => [o, n]),
  );
  const notOk = report.machines.filter((m) => m.outcome !== 'Succeeded' && m.outcome !== 'Excluded');
  const rows = notOk.map((m) => [m.name, m.region, m.outcome, m.attempts.length, m.detail ?? '']);
  const installed = report.machines.reduce((n, m) => n + m.installed, 0);
  const rebooted = report.machines.filter((m) => m.rebooted).length;
  const simulated = simulatedNotice(report.simulated);
  return [
    ...(simulated ? [simulated, ''] : []),
    counts,
    '',
    `patches installed: ${installed}; machines rebooted: ${rebooted}; errors: ${report.errors.count} (budget ${report.errors.allowed})`,
    ...(rows.length ? ['', table(['machine', 'region', 'outcome', 'attempts', 'detail'], rows)] : []),
    ...(report.gates.length
      ? [
          '',
          table(
            ['gate', 'decision', 'by', 'at', 'comment'],
            report.gates.map((g) => [g.name, g.decision, g.by, g.at, g.comment ?? '']),
          ),
        ]
      : []),
  ].join('\n');
}
