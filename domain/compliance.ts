import { BASELINE_MONTHS, releaseMonthOf } from './calendar';
import type { AvailablePatch, ExclusionReason, PatchInstallState, PatchOutcome } from './patches';
import { normalizeKb } from './patch-selection';

/**
 * Per-machine patch compliance from the evidence Temporal keeps (assessment workflows' results and
 * machine-attempt workflows' results), and fleet-wide percentages. Pure: the CLI gathers the records.
 *
 * Rules, per machine:
 * - The base is the latest successful assessment (`A`): its Critical and Security patches are
 *   outstanding, less those an attempt that closed after `A` installed.
 * - An attempt that assessed the machine in its window and closed after `A` (or with no `A` at all) adds
 *   the patches it selected but left Failed or Pending.
 * - No successful assessment and no attempt that assessed the machine: `Unknown`. Otherwise `Compliant`
 *   when nothing is outstanding, else `NonCompliant`.
 * - By patch: the latest piece of evidence that mentions the patch gives its state (an assessment lists
 *   it as `Missing`, an attempt gives its install state); when a later successful assessment no longer
 *   lists it, it is `NotAvailable` (installed by other means or superseded).
 */

/** `Simulated`: patched by the simulator (driver: simulated), which changes nothing; never counted compliant. */
export type ComplianceStatus = 'Compliant' | 'NonCompliant' | 'Unknown' | 'Simulated';
export const COMPLIANCE_STATUSES: readonly ComplianceStatus[] = [
  'Compliant',
  'NonCompliant',
  'Unknown',
  'Simulated',
];

export interface AssessmentEvidence {
  machine: string;
  /** ISO time. */
  assessedAt: string;
  outcome: 'Succeeded' | 'Unreachable';
  patches: AvailablePatch[];
}

export interface AttemptEvidence {
  machine: string;
  rolloutId: string;
  attempt: number;
  /** The attempt's outcome, or how its workflow closed when it returned none (e.g. `Terminated`). */
  outcome: string;
  /** ISO time the attempt's workflow closed. */
  closedAt: string;
  /** Set when the attempt assessed the machine in its window (its patch outcomes are then meaningful). */
  assessedAt?: string;
  patches: PatchOutcome[];
}

export type PatchState = PatchInstallState | 'Missing' | 'NotAvailable';

export interface MachineCompliance {
  machine: string;
  status: ComplianceStatus;
  /** A simulated machine: the status its (unreal) evidence alone would give. */
  simulatedEvidence?: ComplianceStatus;
  lastAssessedAt?: string;
  /** Available patches by classification as of the last assessment, less what was installed since. */
  available?: { critical: number; security: number; other: number };
  /** Critical/Security patches still missing, and selected patches left Failed or Pending. */
  outstanding: string[];
  lastInstall?: {
    rolloutId: string;
    attempt: number;
    outcome: string;
    at: string;
    installed: number;
    failed: number;
    pending: number;
  };
  /** With a patch query: that patch's state on this machine. */
  patch?: { patchId: string; state: PatchState };
  /** Outstanding patches the latest attempt excluded: why, and when they are due. */
  excluded?: ExcludedPatch[];
}

export interface ExcludedPatch {
  patchId: string;
  reason: ExclusionReason | 'Unknown';
  /** When it will be installed, in words: "next baseline month: 2027-01", or what has to change. */
  due: string;
}

/** The month after `yearMonth` ('YYYY-MM') that is a hotpatch baseline month. */
export function nextBaselineMonth(yearMonth: string): string {
  let [year, month] = yearMonth.split('-').map(Number);
  do {
    month += 1;
    if (month === 13) [year, month] = [year + 1, 1];
  } while (!(BASELINE_MONTHS as readonly number[]).includes(month));
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** When an excluded patch is due, from its reason and the release month of the attempt that excluded it. */
export function dueOf(reason: ExcludedPatch['reason'], releaseMonth: string): string {
  if (reason === 'HotpatchMonth') return `next baseline month: ${nextBaselineMonth(releaseMonth)}`;
  if (reason === 'RequiresReboot') return 'when the policy allows reboots (excludeKbsRequiringReboot: false)';
  if (reason === 'PolicyExclusion') return "when the policy's exclusion lists no longer name it";
  return 'unknown: the attempt that excluded it recorded no reason';
}

export interface ComplianceQuery {
  machine?: string;
  /** A KB (`KB5031234`, `5031234`) or a package (`openssl`, `openssl=3.0.2-0ubuntu1.18`). */
  patch?: string;
  rollout?: string;
  status?: readonly ComplianceStatus[];
}

export interface ComplianceSummary {
  machines: number;
  compliant: number;
  nonCompliant: number;
  unknown: number;
  simulated: number;
  /** Compliant machines as a share of all machines considered, one decimal. */
  compliantPercent: number;
}

export interface ComplianceReport {
  query: ComplianceQuery;
  summary: ComplianceSummary;
  /** With a patch query: machines it applies to, and the share that has it installed or no longer needs it. */
  patch?: { query: string; applicable: number; installed: number; missing: number; installedPercent: number };
  machines: MachineCompliance[];
}

const KB = /^(kb)?\d{4,}$/i;

/** Whether a patch id (and its name, when known) matches a `--patch` query. */
export function patchMatches(query: string, patchId: string, name?: string): boolean {
  const q = query.trim();
  if (KB.test(q)) return KB.test(patchId) && normalizeKb(patchId) === normalizeKb(q);
  if (q.includes('=')) return patchId === q;
  return (name ?? patchId.split('=')[0]) === q;
}

const percent = (part: number, whole: number): number =>
  whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;
const later = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : a > b ? a : b;

function machineCompliance(
  machine: string,
  assessments: readonly AssessmentEvidence[],
  attempts: readonly AttemptEvidence[],
  patchQuery: string | undefined,
): MachineCompliance {
  const assessed = assessments
    .filter((a) => a.outcome === 'Succeeded')
    .sort((x, y) => x.assessedAt.localeCompare(y.assessedAt));
  const byTime = [...attempts].sort((x, y) => x.closedAt.localeCompare(y.closedAt));
  const informative = byTime.filter((t) => t.assessedAt !== undefined);
  const A = assessed[assessed.length - 1];
  const lastT = informative[informative.length - 1];
  const after = A ? informative.filter((t) => t.closedAt > A.assessedAt) : informative;
  const installedSince = new Set(
    after.flatMap((t) => t.patches.filter((p) => p.state === 'Installed').map((p) => p.patchId)),
  );

  const outstanding = new Set<string>();
  let available: MachineCompliance['available'];
  if (A) {
    available = { critical: 0, security: 0, other: 0 };
    for (const p of A.patches) {
      if (installedSince.has(p.patchId)) continue;
      if (p.classification === 'Critical') available.critical++;
      else if (p.classification === 'Security') available.security++;
      else available.other++;
      if (p.classification !== 'Other') outstanding.add(p.patchId);
    }
  }
  if (lastT && (!A || lastT.closedAt > A.assessedAt))
    for (const p of lastT.patches)
      if (p.state === 'Failed' || p.state === 'Pending') outstanding.add(p.patchId);

  const known = A !== undefined || lastT !== undefined;
  const last = byTime[byTime.length - 1];
  const result: MachineCompliance = {
    machine,
    status: !known ? 'Unknown' : outstanding.size ? 'NonCompliant' : 'Compliant',
    lastAssessedAt: later(A?.assessedAt, lastT?.assessedAt),
    available,
    outstanding: [...outstanding].sort(),
  };
  if (lastT) {
    // What the latest assessing attempt excluded and is still outstanding waits for a reason of its own.
    const month = releaseMonthOf(lastT.closedAt.slice(0, 10));
    const excluded = lastT.patches
      .filter((p) => p.state === 'Excluded' && outstanding.has(p.patchId))
      .map((p): ExcludedPatch => ({
        patchId: p.patchId,
        reason: p.reason ?? 'Unknown',
        due: dueOf(p.reason ?? 'Unknown', month),
      }));
    if (excluded.length) result.excluded = excluded;
  }
  if (last) {
    const count = (state: PatchInstallState) => last.patches.filter((p) => p.state === state).length;
    result.lastInstall = {
      rolloutId: last.rolloutId,
      attempt: last.attempt,
      outcome: last.outcome,
      at: last.closedAt,
      installed: count('Installed'),
      failed: count('Failed'),
      pending: count('Pending'),
    };
  }
  if (patchQuery !== undefined) {
    const mentions: Array<{ at: string; patchId: string; state: PatchState }> = [];
    for (const a of assessed)
      for (const p of a.patches)
        if (patchMatches(patchQuery, p.patchId, p.name))
          mentions.push({ at: a.assessedAt, patchId: p.patchId, state: 'Missing' });
    for (const t of informative)
      for (const p of t.patches)
        if (patchMatches(patchQuery, p.patchId))
          mentions.push({ at: t.closedAt, patchId: p.patchId, state: p.state });
    // The latest mention wins; at equal times an attempt (listed after the assessments) does.
    const found = mentions.reduce<(typeof mentions)[number] | undefined>(
      (best, m) => (!best || m.at >= best.at ? m : best),
      undefined,
    );
    if (found) {
      // A later successful assessment would have mentioned it: it no longer lists the patch.
      const superseded = A !== undefined && A.assessedAt > found.at && found.state !== 'Installed';
      result.patch = { patchId: found.patchId, state: superseded ? 'NotAvailable' : found.state };
    }
  }
  return result;
}

/**
 * The compliance report. `fleet` (optional) names machines that must appear even without evidence
 * (they are `Unknown`); with a rollout query only machines that rollout attempted are considered, and
 * only its attempts; with a patch query only machines where the patch was ever seen.
 */
export function complianceReport(input: {
  fleet?: readonly string[];
  assessments: readonly AssessmentEvidence[];
  attempts: readonly AttemptEvidence[];
  query: ComplianceQuery;
  /** Machines the simulator patched: their evidence is kept, their status is `Simulated`. */
  simulated?: (machine: string) => boolean;
}): ComplianceReport {
  const { query } = input;
  const attempts = query.rollout
    ? input.attempts.filter((t) => t.rolloutId === query.rollout)
    : input.attempts;
  const names = new Set<string>();
  if (query.rollout) for (const t of attempts) names.add(t.machine);
  else {
    for (const m of input.fleet ?? []) names.add(m);
    for (const a of input.assessments) names.add(a.machine);
    for (const t of attempts) names.add(t.machine);
  }
  if (query.machine !== undefined) for (const n of [...names]) if (n !== query.machine) names.delete(n);

  const group = <T extends { machine: string }>(list: readonly T[]) => {
    const map = new Map<string, T[]>();
    for (const item of list) map.set(item.machine, [...(map.get(item.machine) ?? []), item]);
    return map;
  };
  const assessmentsOf = group(input.assessments);
  const attemptsOf = group(attempts);
  let machines = [...names]
    .sort()
    .map((m) => machineCompliance(m, assessmentsOf.get(m) ?? [], attemptsOf.get(m) ?? [], query.patch))
    .map((m) =>
      input.simulated?.(m.machine) ? { ...m, status: 'Simulated' as const, simulatedEvidence: m.status } : m,
    );
  if (query.patch !== undefined) machines = machines.filter((m) => m.patch !== undefined);

  const tally = (status: ComplianceStatus) => machines.filter((m) => m.status === status).length;
  const summary: ComplianceSummary = {
    machines: machines.length,
    compliant: tally('Compliant'),
    nonCompliant: tally('NonCompliant'),
    unknown: tally('Unknown'),
    simulated: tally('Simulated'),
    compliantPercent: percent(tally('Compliant'), machines.length),
  };
  const report: ComplianceReport = { query, summary, machines };
  if (query.patch !== undefined) {
    const installed = machines.filter(
      (m) => m.patch!.state === 'Installed' || m.patch!.state === 'NotAvailable',
    ).length;
    report.patch = {
      query: query.patch,
      applicable: machines.length,
      installed,
      missing: machines.length - installed,
      installedPercent: percent(installed, machines.length),
    };
  }
  if (query.status?.length) report.machines = machines.filter((m) => query.status!.includes(m.status));
  return report;
}
