import { simulatedNotice, type SimulatedMarker } from '../domain/simulated';
import type { RolloutReport, RolloutSummary } from '../workflows/messages';
import { bar, table } from './output';

/** What the client read with a rollout: its simulated machines (its memo, client/report.ts). */
type Marked = { simulated?: SimulatedMarker };

/** Progress per phase and region, as lines for a terminal: from the summary's counts, at any size. */
export function progressLines(
  report: RolloutSummary & Marked,
  guardWaits: Record<string, string> = {},
): string[] {
  const lines = [
    `Rollout ${report.rolloutId}: ${report.status}${report.waitingFor ? ` (waiting for ${report.waitingFor})` : ''}`,
  ];
  const simulated = simulatedNotice(report.simulated);
  if (simulated) lines.push(`  ${simulated}`);
  for (const phase of report.phases) {
    const regions = report.regions.filter((r) => r.phase === phase.index);
    const total = regions.reduce((n, r) => n + r.total, 0);
    const done = regions.reduce((n, r) => n + r.done, 0);
    lines.push(`  phase ${phase.index} ${bar(done, total)} ${done}/${total} ${phase.status}`);
    for (const r of regions)
      lines.push(
        `    ${r.region.padEnd(20)} ${bar(r.done, r.total, 20)} ${r.done}/${r.total}${r.notSucceeded ? `  ${r.notSucceeded} not succeeded` : ''}${guardWaits[r.region] ? `  ${guardWaits[r.region]}` : ''}`,
      );
  }
  lines.push(`  errors ${report.errors.count} (budget ${report.errors.allowed})`);
  return lines;
}

/** The closing summary: one row per outcome, then the machines that did not succeed. */
export function summaryTable(report: RolloutReport & Marked): string {
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
