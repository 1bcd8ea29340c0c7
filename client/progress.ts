import { MACHINES_NAMED } from '../domain/gates';
import { simulatedNotice, type SimulatedMarker } from '../domain/simulated';
import type { MachineReport, RegionReport, RolloutReport, RolloutSummary } from '../workflows/messages';
import { failedMachinesLine, failuresFirst, isFailed, type FailedMachines } from './failures';
import { bar, table } from './output';
import type { RolloutView } from './rollout-view';

/** What the client read with a rollout: its simulated machines (its memo, client/report.ts). */
type Marked = { simulated?: SimulatedMarker };

/** A phase's counts, summed over its regions: what the status table shows per phase. */
export type PhaseCounts = Pick<RegionReport, 'total' | 'done' | 'succeeded' | 'notSucceeded' | 'errors'>;

export function phaseCounts(report: Pick<RolloutSummary, 'regions'>, phase: number): PhaseCounts {
  const counts: PhaseCounts = { total: 0, done: 0, succeeded: 0, notSucceeded: 0, errors: 0 };
  for (const r of report.regions)
    if (r.phase === phase) for (const k of Object.keys(counts) as Array<keyof PhaseCounts>) counts[k] += r[k];
  return counts;
}

/**
 * What `status --output json` prints: the summary with each phase's counts (every count the table shows,
 * per phase and per region), the failed machines named: the rollout's own list (the first ten per
 * phase), or for a summary from older code the ones visibility names, with their total; and what its
 * regions wait for from the fleet guard, with the leases in their way and who holds them.
 */
export function statusJson(
  report: RolloutSummary & Marked,
  listed?: FailedMachines,
  guard: Pick<RolloutView, 'guardWaits' | 'guardLeases'> = {},
) {
  return {
    ...report,
    phases: report.phases.map((p) => ({ ...p, ...phaseCounts(report, p.index) })),
    failed: report.failed ?? listed?.machines ?? [],
    ...(!report.failed && listed
      ? { failedTotal: listed.total, ...(listed.capped ? { failedCapped: true } : {}) }
      : {}),
    guardWaits: guardWaitsJson(guard),
  };
}

/** Per region waiting for the fleet guard: its words, and its waiting leases as the guard's book has them. */
export function guardWaitsJson({
  guardWaits = {},
  guardLeases = [],
}: Pick<RolloutView, 'guardWaits' | 'guardLeases'>) {
  return Object.entries(guardWaits)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([region, waitingFor]) => ({
      region,
      waitingFor,
      leases: guardLeases
        .filter((l) => l.region === region)
        .map((l) => ({
          leaseId: l.leaseId,
          step: l.step,
          machines: l.machines,
          askedAt: l.askedAt,
          waitingFor: l.waitingFor,
          blockedBy: l.blockedBy,
        })),
    }));
}

/** Progress per phase and region, as lines for a terminal: from the summary's counts, at any size. */
export function progressLines(
  report: RolloutSummary & Marked,
  listed?: FailedMachines,
  guardWaits: Record<string, string> = {},
): string[] {
  const lines = [
    `Rollout ${report.rolloutId}: ${report.status}${report.baking ? `, ${report.baking}` : ''}${report.waitingFor ? ` (waiting for ${report.waitingFor})` : ''}`,
  ];
  // The reason as the workflow gives it (a halt's names its machines), unless the line above carries it.
  if (report.reason && !report.waitingFor?.includes(report.reason)) lines.push(`  reason: ${report.reason}`);
  const simulated = simulatedNotice(report.simulated);
  if (simulated) lines.push(`  ${simulated}`);
  // The failed machines the rollout names itself, else (a summary from older code) those visibility names.
  if (report.failed) lines.push(...failedLines(report.failed));
  else if (listed?.total) lines.push(`  failed: ${failedMachinesLine(listed)}`);
  for (const phase of report.phases) {
    const { done, total } = phaseCounts(report, phase.index);
    lines.push(`  phase ${phase.index} ${bar(done, total)} ${done}/${total} ${phase.status}`);
    for (const r of report.regions.filter((x) => x.phase === phase.index))
      lines.push(
        `    ${r.region.padEnd(20)} ${bar(r.done, r.total, 20)} ${r.done}/${r.total}${r.notSucceeded ? `  ${r.notSucceeded} not succeeded` : ''}${guardWaits[r.region] ? `  ${guardWaits[r.region]}` : ''}`,
      );
  }
  lines.push(`  errors ${report.errors.count} (budget ${report.errors.allowed})`);
  return lines;
}

/**
 * The failed machines a summary names (the first ten of each phase), failures first: what `status` and
 * `watch` show before the progress bars.
 */
export function failedLines(failed: RolloutSummary['failed']): string[] {
  if (!failed?.length) return [];
  const width = Math.max(...failed.map((f) => f.name.length));
  return [
    `  failed machines (the first ${MACHINES_NAMED} of each phase):`,
    ...failed.map(
      (f) => `    ${f.name.padEnd(width)}  ${f.outcome.padEnd(16)} ${f.region}, phase ${f.phase}`,
    ),
  ];
}

/** Up to this many attempts, the table report lists every one; beyond, those of failed and retried machines. */
export const ALL_ATTEMPTS_UP_TO = 200;

const when = (iso: string | undefined) => iso ?? '';

/**
 * The table report (and `watch`'s closing summary): the status and the reason as the workflow gives it,
 * machines by outcome, the phases, the failed machines by name (failures first), the attempts with their
 * disruptive spans, and the gate decisions.
 */
export function summaryTable(report: RolloutReport & Marked): string {
  const byOutcome = new Map<string, number>();
  for (const m of report.machines) byOutcome.set(m.outcome, (byOutcome.get(m.outcome) ?? 0) + 1);
  const counts = table(
    ['outcome', 'machines'],
    [...byOutcome.entries()].sort((a, b) => b[1] - a[1]).map(([o, n]) => [o, n]),
  );
  const installed = report.machines.reduce((n, m) => n + m.installed, 0);
  const rebooted = report.machines.filter((m) => m.rebooted).length;
  const simulated = simulatedNotice(report.simulated);
  const ordered = failuresFirst(report.machines);
  const failed = ordered.filter((m) => isFailed(m.outcome));
  const phases = table(
    ['phase', 'regions', 'status', 'started', 'finished', 'done', 'succeeded', 'not succeeded', 'errors'],
    report.phases.map((p) => {
      const c = phaseCounts(report, p.index);
      return [
        p.index,
        p.regions.join(', '),
        p.status,
        when(p.startedAt),
        when(p.finishedAt),
        `${c.done}/${c.total}`,
        c.succeeded,
        c.notSucceeded,
        c.errors,
      ];
    }),
  );
  return [
    ...(simulated ? [simulated, ''] : []),
    `Rollout ${report.rolloutId}: ${report.status}`,
    ...(report.reason ? [`reason: ${report.reason}`] : []),
    '',
    counts,
    '',
    `patches installed: ${installed}; machines rebooted: ${rebooted}; errors: ${report.errors.count} (budget ${report.errors.allowed})`,
    '',
    phases,
    ...(failed.length
      ? [
          '',
          `Failed machines (${failed.length}):`,
          table(
            ['machine', 'region', 'phase', 'step', 'outcome', 'attempts', 'detail'],
            failed.map((m) => [
              m.name,
              m.region,
              m.phase ?? '',
              m.step?.label ?? '',
              m.outcome,
              m.attempts.length,
              m.detail ?? '',
            ]),
          ),
        ]
      : []),
    ...attemptLines(ordered),
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

/** The attempts, failed machines first, each with its disruptive span (install start to health check). */
function attemptLines(machines: readonly MachineReport[]): string[] {
  const all = machines.reduce((n, m) => n + m.attempts.length, 0);
  if (all === 0) return [];
  const every = all <= ALL_ATTEMPTS_UP_TO;
  const shown = every ? machines : machines.filter((m) => isFailed(m.outcome) || m.attempts.length > 1);
  const rows = shown.flatMap((m) =>
    m.attempts.map((a) => [
      m.name,
      a.attempt,
      a.outcome,
      when(a.startedAt),
      when(a.finishedAt),
      a.detail ?? '',
    ]),
  );
  return [
    '',
    every
      ? `Attempts (${all}; started and finished: the disruptive span, install start to the post-reboot health check):`
      : `Attempts of failed and retried machines (${rows.length} of ${all}; every attempt is in \`rollout report -o json\` and \`--html\`):`,
    ...(rows.length
      ? [table(['machine', 'attempt', 'outcome', 'started', 'finished', 'detail'], rows)]
      : ['(none)']),
  ];
}
