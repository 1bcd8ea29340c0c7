/**
 * An independent check of a finished rollout against the availability rules, written from the rules
 * themselves and not from the planner (nothing here imports `domain/planner`): it reads only the fleet,
 * the policy, Azure's region table and the report's recorded disruptive spans (each attempt's
 * `startedAt`..`finishedAt`). Two spans overlap when each starts before the other ends; spans that only
 * touch do not overlap.
 *
 * The rules:
 * - coverage: every machine of the fleet appears in the report exactly once, and it is 'Excluded'
 *   exactly when it is not eligible (patch mode other than AutomaticByPlatform, or a region outside the
 *   policy's explicit phases); a span has both ends, the end not before the start.
 * - zones: no two zones of one region are disrupted at the same time.
 * - updateDomains: no two update domains of one availability set at the same time (machines of a set
 *   without an update domain count as one more update domain).
 * - setConcurrency: at most max(1, floor(20% of the set's eligible machines)) machines of one set at
 *   once, and 1 when the set has fewer than 10.
 * - geoPairs: no two geo-paired regions at the same time (Azure's pairs and the fleet's `regionPairs`,
 *   as undirected edges).
 * - phaseOrder: every span of a later phase starts after every span of an earlier phase ended.
 * - serviceCapacity: with `serviceCapacity: {tag, minAvailable}`, at no instant are more than
 *   n - minAvailable(n) of a service's n eligible machines inside their spans (a percentage rounds up).
 *
 * `checkLedger` holds the report against the simulator's ledger: the host changes happened, once, and
 * inside the spans the availability rules were checked on.
 */
import azure from '../../domain/azure-regions.json';
import type { LedgerEntry } from '../../activities/drivers/simulated';
import type { Fleet, Machine } from '../../domain/fleet';
import type { Policy } from '../../domain/policy';
import type { MachineReport, RolloutReport } from '../../workflows/messages';

export type Rule =
  | 'coverage'
  | 'zones'
  | 'updateDomains'
  | 'setConcurrency'
  | 'geoPairs'
  | 'phaseOrder'
  | 'serviceCapacity'
  | 'machineOnce'
  | 'ledger';

export interface Violation {
  rule: Rule;
  message: string;
}

export interface Span {
  machine: string;
  attempt: number;
  start: number;
  end: number;
}

interface Located extends Span {
  m: Machine;
  phase: number;
}

const iso = (t: number): string => new Date(t).toISOString();
const overlap = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;
const show = (s: Span): string => `${s.machine}#${s.attempt} [${iso(s.start)}, ${iso(s.end)}]`;

/** Undirected geo-pair edges: every Azure (region, pair) and every fleet `regionPairs` entry, both ways. */
export function geoPairs(fleetPairs: Record<string, string | null>): Set<string> {
  const edges = new Set<string>();
  const add = (a: string, b: string | null) => {
    if (!b || a === b) return;
    edges.add(`${a}|${b}`);
    edges.add(`${b}|${a}`);
  };
  const regions = (azure as { regions: Record<string, { pair: string | null }> }).regions;
  for (const [region, info] of Object.entries(regions)) add(region, info.pair);
  for (const [region, pair] of Object.entries(fleetPairs)) add(region, pair);
  return edges;
}

export function isEligible(m: Machine, policy: Pick<Policy, 'phases'>): boolean {
  if (m.patchMode !== 'AutomaticByPlatform') return false;
  return policy.phases === undefined || policy.phases.some((p) => p.includes(m.region));
}

/**
 * The largest number of spans open at one instant, as `overlap` counts them: at an instant t, spans
 * ending at t close first, then a zero-length span [t, t] is counted with the spans strictly around t,
 * then spans starting at t open.
 */
export function maxConcurrent(spans: readonly Span[]): { count: number; at?: number; open: Span[] } {
  const END = 0;
  const INSTANT = 1;
  const START = 2;
  const events = spans.flatMap((s) =>
    s.end === s.start
      ? [{ t: s.start, kind: INSTANT, s }]
      : [
          { t: s.start, kind: START, s },
          { t: s.end, kind: END, s },
        ],
  );
  events.sort((a, b) => a.t - b.t || a.kind - b.kind);
  const open = new Set<Span>();
  let best: { count: number; at?: number; open: Span[] } = { count: 0, open: [] };
  const measure = (t: number) => {
    if (open.size > best.count) best = { count: open.size, at: t, open: [...open] };
  };
  for (const e of events) {
    if (e.kind === END) open.delete(e.s);
    else open.add(e.s);
    measure(e.t);
    if (e.kind === INSTANT) open.delete(e.s);
  }
  return best;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Pairs of overlapping spans whose `part` differs, within each group. */
function crossOverlaps(
  spans: readonly Located[],
  group: (s: Located) => string | undefined,
  part: (s: Located) => string,
): Array<[Located, Located, string]> {
  const found: Array<[Located, Located, string]> = [];
  for (const [g, list] of groupBy(spans, group))
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++)
        if (part(list[i]) !== part(list[j]) && overlap(list[i], list[j])) found.push([list[i], list[j], g]);
  return found;
}

/** Minimum available machines out of `n`: a count, or a percentage rounded up; never more than n. */
function minAvailable(value: number | string, n: number): number {
  const raw = typeof value === 'number' ? value : Math.ceil((parseFloat(value) * n) / 100 - 1e-9);
  return Math.min(raw, n);
}

export function spansOf(m: MachineReport): { spans: Span[]; problems: string[] } {
  const spans: Span[] = [];
  const problems: string[] = [];
  for (const a of m.attempts) {
    if (a.startedAt === undefined && a.finishedAt === undefined) continue;
    if (a.startedAt === undefined || a.finishedAt === undefined) {
      problems.push(`${m.name} attempt ${a.attempt} has a disruptive span with one end missing`);
      continue;
    }
    const span = {
      machine: m.name,
      attempt: a.attempt,
      start: Date.parse(a.startedAt),
      end: Date.parse(a.finishedAt),
    };
    if (!(span.end >= span.start)) problems.push(`${m.name} attempt ${a.attempt} ends before it starts`);
    else spans.push(span);
  }
  return { spans, problems };
}

export function checkAvailability(report: RolloutReport, fleet: Fleet, policy: Policy): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: Rule, message: string) => violations.push({ rule, message });

  // Coverage.
  const reported = groupBy(report.machines, (m) => m.name);
  const fleetNames = new Set(fleet.machines.map((m) => m.name));
  for (const m of fleet.machines) {
    const entries = reported.get(m.name) ?? [];
    if (entries.length !== 1) {
      fail('coverage', `${m.name} appears ${entries.length} times in the report`);
      continue;
    }
    const excluded = entries[0].outcome === 'Excluded';
    if (excluded === isEligible(m, policy))
      fail(
        'coverage',
        `${m.name} is ${excluded ? '' : 'not '}Excluded, but it is ${excluded ? '' : 'not '}eligible`,
      );
  }
  for (const name of reported.keys())
    if (!fleetNames.has(name)) fail('coverage', `${name} is not in the fleet`);

  const phaseOf = new Map<string, number>();
  for (const p of report.phases) for (const r of p.regions) phaseOf.set(r, p.index);
  const byName = new Map(fleet.machines.map((m) => [m.name, m]));
  const spans: Located[] = [];
  for (const r of report.machines) {
    const m = byName.get(r.name);
    if (!m) continue;
    const { spans: own, problems } = spansOf(r);
    for (const p of problems) fail('coverage', p);
    if (own.length > 0 && r.outcome === 'Excluded')
      fail('coverage', `${r.name} is Excluded but was disrupted`);
    const phase = phaseOf.get(m.region);
    if (own.length > 0 && phase === undefined)
      fail('coverage', `${r.name} was disrupted, but its region is in no phase`);
    for (const s of own) spans.push({ ...s, m, phase: phase ?? -1 });
  }

  // Phases in order.
  const byPhase = groupBy(spans, (s) => String(s.phase));
  const indices = [...byPhase.keys()].map(Number).sort((a, b) => a - b);
  for (let k = 1; k < indices.length; k++) {
    const earlier = indices.slice(0, k).flatMap((i) => byPhase.get(String(i))!);
    const lastEnd = earlier.reduce((a, b) => (b.end > a.end ? b : a));
    const firstStart = byPhase.get(String(indices[k]))!.reduce((a, b) => (b.start < a.start ? b : a));
    if (firstStart.start < lastEnd.end)
      fail(
        'phaseOrder',
        `phase ${indices[k]} started (${show(firstStart)}) before an earlier phase ended (${show(lastEnd)})`,
      );
  }

  spanRules(spans, fleet, policy, fail);
  return violations;
}

/** The rules over spans that hold across any number of runs: zones, update domains, sets, geo-pairs, services. */
function spanRules(
  spans: Located[],
  fleet: Fleet,
  policy: Policy,
  fail: (rule: Rule, message: string) => void,
): void {
  // Zones of a region, update domains of a set.
  for (const [a, b, region] of crossOverlaps(
    spans.filter((s) => s.m.zone !== undefined),
    (s) => s.m.region,
    (s) => s.m.zone!,
  ))
    fail('zones', `${region}: zone ${a.m.zone} (${show(a)}) overlaps zone ${b.m.zone} (${show(b)})`);
  const inSets = spans.filter((s) => s.m.availabilitySet !== undefined);
  const ud = (s: Located) => (s.m.updateDomain === undefined ? 'none' : String(s.m.updateDomain));
  for (const [a, b, set] of crossOverlaps(inSets, (s) => `${s.m.region}/${s.m.availabilitySet}`, ud))
    fail(
      'updateDomains',
      `set ${set}: update domain ${ud(a)} (${show(a)}) overlaps update domain ${ud(b)} (${show(b)})`,
    );

  // Concurrency within one availability set.
  const setSize = new Map<string, number>();
  for (const m of fleet.machines)
    if (m.availabilitySet !== undefined && isEligible(m, policy)) {
      const key = `${m.region}/${m.availabilitySet}`;
      setSize.set(key, (setSize.get(key) ?? 0) + 1);
    }
  for (const [set, list] of groupBy(inSets, (s) => `${s.m.region}/${s.m.availabilitySet}`)) {
    const size = setSize.get(set) ?? 0;
    const cap = size < 10 ? 1 : Math.max(1, Math.floor(size / 5));
    const peak = maxConcurrent(list);
    if (peak.count > cap)
      fail(
        'setConcurrency',
        `set ${set} (${size} machines, at most ${cap} at once): ${peak.count} at ${iso(peak.at!)}: ${peak.open.map((s) => s.machine).join(', ')}`,
      );
  }

  // Geo-pairs.
  const pairs = geoPairs(fleet.regionPairs);
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++) {
      const [a, b] = [spans[i], spans[j]];
      if (pairs.has(`${a.m.region}|${b.m.region}`) && overlap(a, b))
        fail('geoPairs', `paired regions ${a.m.region} (${show(a)}) and ${b.m.region} (${show(b)}) overlap`);
    }

  // Service capacity.
  const capacity = policy.serviceCapacity;
  if (capacity) {
    // Own tags only: a tag named "valueOf" is the machine's, not Object's.
    const serviceOf = (m: Machine) =>
      Object.hasOwn(m.tags, capacity.tag) ? m.tags[capacity.tag] : undefined;
    const eligibleOf = groupBy(
      fleet.machines.filter((m) => isEligible(m, policy)),
      serviceOf,
    );
    for (const [service, list] of groupBy(spans, (s) => serviceOf(s.m))) {
      const n = eligibleOf.get(service)?.length ?? 0;
      const maxDown = Math.max(0, n - minAvailable(capacity.minAvailable, n));
      const peak = maxConcurrent(list);
      if (peak.count > maxDown)
        fail(
          'serviceCapacity',
          `${capacity.tag}=${service} (${n} machines, at most ${maxDown} down): ${peak.count} at ${iso(peak.at!)}: ${peak.open.map((s) => s.machine).join(', ')}`,
        );
    }
  }
}

/**
 * Several runs' reports of one fleet, taken together (the fleet guard's promise): no machine in two
 * runs at once, and the zone, update-domain, set, geo-pair and service rules across every run's spans.
 * Phase order and coverage are each run's own (`checkAvailability`). Sets and services count the
 * machines `policy` makes eligible.
 */
export function checkAcrossRuns(reports: RolloutReport[], fleet: Fleet, policy: Policy): Violation[] {
  const violations: Violation[] = [];
  const fail = (rule: Rule, message: string) => violations.push({ rule, message });
  const byName = new Map(fleet.machines.map((m) => [m.name, m]));
  const spans: Array<Located & { run: string }> = [];
  for (const report of reports)
    for (const r of report.machines) {
      const m = byName.get(r.name);
      if (!m) {
        fail('coverage', `${r.name} (${report.rolloutId}) is not in the fleet`);
        continue;
      }
      const { spans: own, problems } = spansOf(r);
      for (const p of problems) fail('coverage', `${report.rolloutId}: ${p}`);
      for (const sp of own) spans.push({ ...sp, m, phase: 0, run: report.rolloutId });
    }
  for (const [name, list] of groupBy(spans, (sp) => sp.machine))
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++)
        if (list[i].run !== list[j].run && overlap(list[i], list[j]))
          fail(
            'machineOnce',
            `${name}: ${list[i].run} ${show(list[i])} overlaps ${list[j].run} ${show(list[j])}`,
          );
  spanRules(spans, fleet, policy, fail);
  return violations;
}

/**
 * The report against the simulator's ledger: every host change belongs to an attempt the report shows
 * and lies inside that attempt's disruptive span; installs only on machines the report shows installed,
 * and each patch installed once; reboots exactly on the machines the report says rebooted, at most one
 * per attempt.
 */
export function checkLedger(report: RolloutReport, ledger: readonly LedgerEntry[]): Violation[] {
  const violations: Violation[] = [];
  const fail = (message: string) => violations.push({ rule: 'ledger', message });
  const machines = new Map(report.machines.map((m) => [m.name, m]));
  const seenPatch = new Set<string>();
  const reboots = new Map<string, Map<number, number>>();

  for (const e of ledger) {
    if (e.kind === 'script') continue;
    const m = machines.get(e.machine);
    if (!m) {
      fail(`${e.kind} on ${e.machine}, which the report does not know`);
      continue;
    }
    const attempt = m.attempts.find((a) => a.attempt === e.attempt);
    if (!attempt) {
      fail(`${e.kind} on ${e.machine} in attempt ${e.attempt}, which the report does not show`);
      continue;
    }
    const at = Date.parse(e.at);
    if (!attempt.startedAt || !attempt.finishedAt)
      fail(`${e.kind} on ${e.machine} at ${e.at}, but attempt ${e.attempt} has no disruptive span`);
    else if (at < Date.parse(attempt.startedAt) || at > Date.parse(attempt.finishedAt))
      fail(
        `${e.kind} on ${e.machine} at ${e.at}, outside attempt ${e.attempt}'s span [${attempt.startedAt}, ${attempt.finishedAt}]`,
      );

    if (e.kind === 'install') {
      if (!(m.installed > 0))
        fail(`${e.machine} installed ${e.patchIds?.join(', ')}, but the report shows nothing installed`);
      for (const id of e.patchIds ?? []) {
        if (seenPatch.has(`${e.machine}|${id}`)) fail(`${e.machine} installed ${id} more than once`);
        seenPatch.add(`${e.machine}|${id}`);
        if (!m.patches.some((p) => p.patchId === id && p.state === 'Installed'))
          fail(`${e.machine} installed ${id}, which the report does not list as Installed`);
      }
    } else {
      const perAttempt = reboots.get(e.machine) ?? new Map<number, number>();
      perAttempt.set(e.attempt, (perAttempt.get(e.attempt) ?? 0) + 1);
      reboots.set(e.machine, perAttempt);
    }
  }

  for (const m of report.machines) {
    const perAttempt = reboots.get(m.name);
    if (m.rebooted && !perAttempt)
      fail(`${m.name} rebooted according to the report, but the ledger has no reboot`);
    if (!m.rebooted && perAttempt)
      fail(`${m.name} has reboots in the ledger, but the report says it did not reboot`);
    for (const [attempt, count] of perAttempt ?? [])
      if (count !== 1) fail(`${m.name} rebooted ${count} times in attempt ${attempt}`);
    if (m.installed > 0 && ![...seenPatch].some((k) => k.startsWith(`${m.name}|`)))
      fail(`${m.name} shows ${m.installed} installed patch(es), but the ledger has no install`);
  }
  return violations;
}
