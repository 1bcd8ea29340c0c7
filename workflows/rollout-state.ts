import { errorBudgetExceeded, evaluatePhaseGate, type GateVerdict } from '../domain/gates';
import { countsAsError, type AttemptOutcome } from '../domain/outcomes';
import type { PatchCounts } from '../domain/patches';
import type { RolloutInput } from '../domain/rollout-spec';
import { machineCountOf, regionSummaries, type SpecSliceRef } from '../domain/spec-slices';
import type { MachineAttemptResult } from './machine';
import type { ProgressResult } from './region';
import { emptyTally, foldResult, type RegionTally } from './rollout-tally';

export type RolloutStatus =
  'Running' | 'WaitingForApproval' | 'Paused' | 'Halted' | 'Completed' | 'Rejected' | 'Aborted';
export type PhaseStatus = 'Pending' | 'WaitingForApproval' | 'Running' | 'Succeeded' | 'Halted' | 'Skipped';
export type GateDecision = 'approved' | 'rejected' | 'expired' | 'refused' | 'overridden';

export interface GateRecord {
  name: string;
  phase: number;
  decision: GateDecision;
  by: string;
  at: string;
  comment?: string;
}

export interface MachineReport extends PatchCounts {
  name: string;
  region: string;
  zone?: string;
  availabilitySet?: string;
  updateDomain?: number;
  phase?: number;
  outcome: AttemptOutcome | 'NotStarted' | 'Excluded';
  detail?: string;
  rebooted: boolean;
  lastAssessedAt?: string;
  patches: MachineAttemptResult['patches'];
  attempts: Array<{
    attempt: number;
    outcome: AttemptOutcome;
    startedAt?: string;
    finishedAt?: string;
    detail?: string;
  }>;
}

export interface RolloutReport {
  rolloutId: string;
  status: RolloutStatus;
  reason?: string;
  waitingFor?: string;
  /** The gate waiting for a decision, if any. */
  openGate?: string;
  startedBy: string;
  month: string;
  monthType: 'baseline' | 'hotpatch';
  deadline: string;
  errors: { count: number; allowed: number };
  phases: Array<{
    index: number;
    regions: string[];
    status: PhaseStatus;
    startedAt?: string;
    finishedAt?: string;
  }>;
  gates: GateRecord[];
  /**
   * Every machine. A sliced rollout (docs/scale.md) leaves this empty in its status and result, which
   * carry `paged` instead; `offpeak rollout report` assembles the machines from the `machines` query.
   */
  machines: MachineReport[];
  /** Set by sliced rollouts: the machines are read page by page (`machinesQuery`). */
  paged?: {
    /** Machines recorded so far (reported at least once, or excluded). */
    recorded: number;
    /** Planned machines. */
    planned: number;
    succeeded: number;
    regions: Array<{
      region: string;
      phase: number;
      total: number;
      done: number;
      notSucceeded: number;
      /**
       * The region's slices in the spec store. Set by rollouts that keep tallies only (they continue as
       * new): `offpeak rollout report` reads the planned machines from these and each attempt from its
       * machine workflow (visibility memo). Absent: the machines are read with the `machines` query.
       */
      slices?: SpecSliceRef[];
    }>;
    /** Tallied rollouts: attempts that ran, each a machine workflow (how a report knows it read them all). */
    attempts?: number;
    /**
     * Tallied rollouts, in their result only: the machines the plan left out (the report lists them
     * first). A running rollout pages them with the `machines` query, keeping its status small.
     */
    excluded?: RolloutInput['excluded'];
  };
}

/** At most this many machines per page of the `machines` query (about 300 KB). */
export const MACHINE_PAGE_LIMIT = 1000;

type Placement = Pick<MachineReport, 'name' | 'region' | 'zone' | 'availabilitySet' | 'updateDomain'>;

function placementOf(m: Placement): Placement {
  return {
    name: m.name,
    region: m.region,
    zone: m.zone,
    availabilitySet: m.availabilitySet,
    updateDomain: m.updateDomain,
  };
}

/** A machine's report before any attempt: NotStarted unless told otherwise, no patches, zero counts. */
function newMachineReport(fields: Placement & Partial<MachineReport>): MachineReport {
  // Placement first, so a report reads name, region, zone, set... in that order.
  const { name, region, ...rest } = fields;
  return {
    name,
    region,
    outcome: 'NotStarted',
    rebooted: false,
    patches: [],
    attempts: [],
    installed: 0,
    failed: 0,
    pending: 0,
    excluded: 0,
    notSelected: 0,
    ...rest,
  };
}

/** What a rollout that continues as new carries of its state: no record per machine (docs/scale.md). */
export interface RolloutCarry {
  status: RolloutStatus;
  reason?: string;
  waitingFor?: string;
  paused?: string;
  aborted: boolean;
  forgivenErrors: number;
  gates: GateRecord[];
  phases: RolloutReport['phases'];
  tallies: RegionTally[];
}

type PhaseCounts = { total: number; succeeded: number; errors: number };
type Paged = NonNullable<RolloutReport['paged']>;

/** How a rollout keeps its machines: a record per machine, or counts per region. */
interface MachineBook {
  record(results: ProgressResult[]): void;
  /** Machines that counted as an error. */
  errorCount(): number;
  phaseCounts(regions: ReadonlySet<string>): PhaseCounts;
  /** The report's `machines` and `paged`. */
  listing(final: boolean): { machines: MachineReport[]; paged?: Paged };
  page(offset: number, limit: number): MachineReport[];
}

/**
 * The rollout's state machine, kept apart from the workflow's wiring: signals change it, the query reads
 * it, the workflow asks it what to do. Deterministic: time comes in as arguments.
 *
 * A tallied rollout (a large one that continues as new) keeps counts per region only, and takes them,
 * with its phases, gates and status, from `carry` when it was continued.
 */
export class RolloutState {
  status: RolloutStatus = 'Running';
  reason?: string;
  waitingFor?: string;
  openGate?: string;
  paused?: string;
  aborted = false;
  /** Errors already forgiven by an operator's override; the budget counts errors beyond them. */
  private forgivenErrors = 0;
  readonly gates: GateRecord[] = [];
  readonly phases: RolloutReport['phases'];
  private readonly planned: number;
  private readonly book: MachineBook;

  constructor(
    private readonly input: RolloutInput,
    options: { tallied?: boolean; carry?: RolloutCarry } = {},
  ) {
    this.planned = machineCountOf(input);
    this.phases = input.phases.map((p) => ({
      index: p.index,
      regions: p.regions,
      status: 'Pending' as PhaseStatus,
    }));
    const { carry } = options;
    if (carry) {
      this.status = carry.status;
      this.reason = carry.reason;
      this.waitingFor = carry.waitingFor;
      this.paused = carry.paused;
      this.aborted = carry.aborted;
      this.forgivenErrors = carry.forgivenErrors;
      this.gates.push(...carry.gates);
      this.phases = carry.phases;
    }
    this.book =
      options.tallied || carry ? new RegionTallies(input, carry?.tallies) : new MachineRecords(input);
  }

  /** What continue-as-new carries (tallied rollouts). */
  carry(): RolloutCarry {
    if (!(this.book instanceof RegionTallies)) throw new Error('only a tallied rollout continues as new');
    return {
      status: this.status,
      reason: this.reason,
      waitingFor: this.waitingFor,
      paused: this.paused,
      aborted: this.aborted,
      forgivenErrors: this.forgivenErrors,
      gates: this.gates,
      phases: this.phases,
      tallies: this.book.tallies,
    };
  }

  record(results: ProgressResult[]): void {
    this.book.record(results);
  }

  errorTally(): { count: number; allowed: number; exceeded: boolean } {
    const count = this.book.errorCount();
    const { exceeded, allowed } = errorBudgetExceeded(
      { planned: this.planned, errors: count - this.forgivenErrors },
      this.input.settings.errorBudget,
    );
    return { count, allowed, exceeded };
  }

  phaseVerdict(index: number): GateVerdict {
    const { total, succeeded, errors } = this.book.phaseCounts(new Set(this.phases[index].regions));
    // Machines not reported yet (a sliced rollout does not list them) are unresolved, as NotStarted ones are.
    const unresolved = total - succeeded - errors;
    const tally = this.errorTally();
    return evaluatePhaseGate(
      { total, succeeded, errors, unresolved },
      { exceeded: tally.exceeded, allowed: tally.allowed },
    );
  }

  /** An operator resumed past a halt: the errors so far are forgiven, new ones count against a fresh budget. */
  override(): void {
    this.forgivenErrors = this.errorTally().count;
  }

  /** Why regions must not start another step right now, or null. */
  hold(): string | null {
    if (this.aborted) return 'aborted';
    if (this.status === 'Halted') return `halted: ${this.reason}`;
    if (this.paused) return `paused: ${this.paused}`;
    return null;
  }

  /** The status; `final` for the rollout's result, which may carry more (a tallied rollout's exclusions). */
  report(final = false): RolloutReport {
    const tally = this.errorTally();
    return {
      rolloutId: this.input.rolloutId,
      status: this.status,
      reason: this.reason,
      waitingFor: this.waitingFor,
      openGate: this.openGate,
      startedBy: this.input.startedBy,
      month: this.input.settings.month,
      monthType: this.input.settings.monthType,
      deadline: new Date(this.input.settings.deadline).toISOString(),
      errors: { count: tally.count, allowed: tally.allowed },
      phases: this.phases,
      gates: this.gates,
      ...this.book.listing(final),
    };
  }

  /**
   * A page of the machines the rollout keeps a record of, in a stable order: excluded first, then as they
   * reported. A tallied rollout keeps records of its excluded machines only.
   */
  machinePage(offset: number, limit: number): MachineReport[] {
    return this.book.page(offset, limit);
  }
}

/**
 * A record per machine: inline rollouts (their report lists every machine), and sliced rollouts started
 * before tallies, which learn their machines from their reports and page them.
 */
class MachineRecords implements MachineBook {
  private readonly machines = new Map<string, MachineReport>();
  private readonly phaseOfRegion = new Map<string, number>();
  private readonly regionTotals = new Map<string, number>();
  private readonly sliced: boolean;

  constructor(private readonly input: RolloutInput) {
    this.sliced = (input.slicedRegions ?? []).length > 0;
    for (const r of regionSummaries(input)) {
      this.regionTotals.set(r.region, r.machineCount);
      this.phaseOfRegion.set(r.region, r.phase);
    }
    for (const r of input.regions)
      for (const m of r.machines)
        this.machines.set(m.name, newMachineReport({ ...placementOf(m), phase: r.phase }));
    for (const e of input.excluded)
      this.machines.set(
        e.name,
        newMachineReport({ name: e.name, region: e.region, outcome: 'Excluded', detail: e.reason }),
      );
  }

  record(results: ProgressResult[]): void {
    for (const r of results) {
      // A sliced rollout learns its machines from their first report (it never holds the whole fleet's spec).
      if (this.sliced && !this.machines.has(r.name) && this.phaseOfRegion.has(r.region ?? ''))
        this.machines.set(
          r.name,
          newMachineReport({
            ...placementOf({ ...r, region: r.region! }),
            phase: this.phaseOfRegion.get(r.region!),
          }),
        );
      const m = this.machines.get(r.name);
      if (!m || m.attempts.some((a) => a.attempt === r.attempt)) continue; // progress may arrive twice
      m.attempts.push({
        attempt: r.attempt,
        outcome: r.outcome,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        detail: r.detail,
      });
      m.outcome = r.outcome;
      m.detail = r.detail;
      m.rebooted ||= r.rebooted;
      if (r.assessedAt) m.lastAssessedAt = r.assessedAt;
      if (r.patches?.length) m.patches = r.patches;
      Object.assign(m, r.counts);
    }
  }

  private isError(m: MachineReport): boolean {
    if (m.outcome === 'NotStarted' || m.outcome === 'Excluded') return false;
    const final = m.attempts.length >= this.input.settings.maxAttempts;
    return m.attempts.some((a, i) => countsAsError(a.outcome, final && i === m.attempts.length - 1));
  }

  errorCount(): number {
    let count = 0;
    for (const m of this.machines.values()) if (this.isError(m)) count++;
    return count;
  }

  phaseCounts(regions: ReadonlySet<string>): PhaseCounts {
    let total = 0,
      succeeded = 0,
      errors = 0;
    for (const region of regions) total += this.regionTotals.get(region) ?? 0;
    for (const m of this.machines.values()) {
      if (!regions.has(m.region) || m.outcome === 'Excluded') continue;
      if (m.outcome === 'Succeeded') succeeded++;
      else if (this.isError(m)) errors++;
    }
    return { total, succeeded, errors };
  }

  listing(): { machines: MachineReport[]; paged?: Paged } {
    return this.sliced ? { machines: [], paged: this.tally() } : { machines: [...this.machines.values()] };
  }

  page(offset: number, limit: number): MachineReport[] {
    const start = Math.max(0, Math.floor(offset));
    const size = Math.min(MACHINE_PAGE_LIMIT, Math.max(0, Math.floor(limit)));
    const page: MachineReport[] = [];
    let i = 0;
    for (const m of this.machines.values()) {
      if (i++ < start) continue;
      if (page.length >= size) break;
      page.push(m);
    }
    return page;
  }

  private tally(): Paged {
    const regions = new Map(
      regionSummaries(this.input).map((r) => [
        r.region,
        { region: r.region, phase: r.phase, total: r.machineCount, done: 0, notSucceeded: 0 },
      ]),
    );
    let succeeded = 0;
    for (const m of this.machines.values()) {
      if (m.outcome === 'Succeeded') succeeded++;
      const r = regions.get(m.region);
      if (!r || m.outcome === 'Excluded' || m.outcome === 'NotStarted') continue;
      r.done++;
      if (m.outcome !== 'Succeeded') r.notSucceeded++;
    }
    return {
      recorded: this.machines.size,
      planned: machineCountOf(this.input),
      succeeded,
      regions: [...regions.values()],
    };
  }
}

/** Counts per region (`rollout-tally.ts`): large rollouts that continue as new. */
class RegionTallies implements MachineBook {
  readonly tallies: RegionTally[];
  private readonly byRegion: Map<string, RegionTally>;

  constructor(
    private readonly input: RolloutInput,
    carried?: RegionTally[],
  ) {
    this.tallies =
      carried ?? regionSummaries(input).map((r) => emptyTally(r.region, r.phase, r.machineCount));
    this.byRegion = new Map(this.tallies.map((t) => [t.region, t]));
  }

  record(results: ProgressResult[]): void {
    for (const r of results) {
      const tally = this.byRegion.get(r.region ?? '');
      if (tally) foldResult(tally, r, this.input.settings.maxAttempts);
    }
  }

  errorCount(): number {
    return this.tallies.reduce((n, t) => n + t.errors, 0);
  }

  phaseCounts(regions: ReadonlySet<string>): PhaseCounts {
    const counts = { total: 0, succeeded: 0, errors: 0 };
    for (const t of this.tallies)
      if (regions.has(t.region)) {
        counts.total += t.total;
        counts.succeeded += t.succeeded;
        counts.errors += t.failing;
      }
    return counts;
  }

  listing(final: boolean): { machines: MachineReport[]; paged: Paged } {
    const slices = new Map((this.input.slicedRegions ?? []).map((r) => [r.region, r.slices]));
    const done = this.tallies.reduce((n, t) => n + t.done, 0);
    return {
      machines: [],
      paged: {
        recorded: this.input.excluded.length + done,
        planned: machineCountOf(this.input),
        succeeded: this.tallies.reduce((n, t) => n + t.succeeded, 0),
        regions: this.tallies.map((t) => ({
          region: t.region,
          phase: t.phase,
          total: t.total,
          done: t.done,
          notSucceeded: t.done - t.succeeded,
          slices: slices.get(t.region) ?? [],
        })),
        attempts: this.tallies.reduce((n, t) => n + t.attempts, 0),
        ...(final ? { excluded: this.input.excluded } : {}),
      },
    };
  }

  /** Only the excluded machines: `offpeak rollout report` assembles the others from their attempts. */
  page(offset: number, limit: number): MachineReport[] {
    const start = Math.max(0, Math.floor(offset));
    const size = Math.min(MACHINE_PAGE_LIMIT, Math.max(0, Math.floor(limit)));
    return this.input.excluded
      .slice(start, start + size)
      .map((e) =>
        newMachineReport({ name: e.name, region: e.region, outcome: 'Excluded', detail: e.reason }),
      );
  }
}
