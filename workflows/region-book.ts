import type { CountOrPercent } from '../domain/budget';
import {
  errorBudgetExceeded,
  evaluatePhaseGate,
  MACHINES_NAMED,
  phaseBudget,
  type BudgetCheck,
  type GateVerdict,
} from '../domain/gates';
import { countsAsError, OUTCOME } from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import type {
  FailedMachine,
  RegionReport,
  RegionTally,
  RolloutCarry,
  StepReply,
  StepReport,
} from './messages';
import { emptyTally, foldResult } from './rollout-tally';

type Channel = RolloutCarry['channels'][number];
const NO_REPLY: StepReply = { ack: 0, hold: null, stop: false };
const sameReply = (a: StepReply, b: StepReply) => a.ack === b.ack && a.hold === b.hold && a.stop === b.stop;

type Carried = Pick<RolloutCarry, 'tallies' | 'channels' | 'failed'>;

/**
 * What the rollout keeps of its regions: counts per region (never a record per machine), the names of
 * failed machines (at most `MACHINES_NAMED` per phase, so halts and status can name them) and, for the
 * regions of the running phase, the channel of the one request/reply: the last report judged and the last
 * reply sent. Pure: no Temporal imports.
 */
export class RegionBook {
  readonly tallies: RegionTally[];
  /** Machines whose errors count and that have not succeeded since, the first `MACHINES_NAMED` per phase. */
  readonly failed: FailedMachine[];
  private readonly byRegion: Map<string, RegionTally>;
  private readonly channels = new Map<string, Channel>();

  constructor(input: RolloutInput, carry?: Carried) {
    this.tallies = carry?.tallies ?? input.regions.map((r) => emptyTally(r.region, r.phase, r.machineCount));
    this.failed = [...(carry?.failed ?? [])];
    this.byRegion = new Map(this.tallies.map((t) => [t.region, t]));
    for (const c of carry?.channels ?? []) this.channels.set(c.region, c);
  }

  /** A phase starts: its regions will report through fresh channels, answered once each region started. */
  open(regions: readonly string[]): void {
    this.channels.clear();
    for (const region of regions)
      this.channels.set(region, { region, seq: 0, sent: NO_REPLY, ended: false, started: false });
  }

  /**
   * A region's workflow was started with `initial` as its first reply (the hold at its start, so a pause
   * that came first holds its first step): from now on it is answered whenever that changes.
   */
  started(region: string, initial: StepReply): void {
    const channel = this.channels.get(region);
    if (channel) Object.assign(channel, { started: true, sent: initial });
  }

  /**
   * Folds a report once and in order (a report delivered twice, out of order, or from a region not running, is
   * ignored). Returns the
   * last machine that counted as an error, and whether the report was new.
   */
  record(report: StepReport, maxAttempts: number): { recorded: boolean; lastError?: string } {
    const channel = this.channels.get(report.region);
    const tally = this.byRegion.get(report.region);
    if (!channel || !tally) return { recorded: false };
    // Sent again (unanswered, to the region): folded once, answered again.
    if (report.seq <= channel.seq) return ((channel.sent = NO_REPLY), { recorded: false });
    // It overtook a report lost on its way: answered with the last one in order, so both come again.
    if (report.seq > channel.seq + 1) return ((channel.sent = NO_REPLY), { recorded: false });
    channel.seq = report.seq;
    for (const r of report.results) {
      foldResult(tally, r, maxAttempts);
      const counted = countsAsError(r.outcome, r.attempt >= maxAttempts);
      this.name({ name: r.name, region: tally.region, phase: tally.phase, outcome: r.outcome }, counted);
    }
    if (report.end) channel.ended = true;
    return { recorded: true };
  }

  /** Keeps a failed machine's name (its latest outcome), forgets it once it succeeds. */
  private name(machine: FailedMachine, counted: boolean): void {
    const at = this.failed.findIndex((f) => f.name === machine.name && f.region === machine.region);
    if (at >= 0) {
      if (machine.outcome === OUTCOME.Succeeded) this.failed.splice(at, 1);
      else this.failed[at].outcome = machine.outcome;
    } else if (counted && this.failedIn(machine.phase).length < MACHINES_NAMED) this.failed.push(machine);
  }

  failedIn(phase: number): FailedMachine[] {
    return this.failed.filter((f) => f.phase === phase);
  }

  /**
   * The replies owed: each running region's answer to its last report, and the hold now. Taken once. A
   * region in `waiting` (its step waits for the health signals) gets the hold, its report not yet acknowledged.
   */
  takeReplies(
    hold: string | null,
    stop: boolean,
    waiting: readonly string[] = [],
  ): Array<{ region: string; reply: StepReply }> {
    const out: Array<{ region: string; reply: StepReply }> = [];
    for (const c of this.channels.values()) {
      // An ended region is answered once more: its last report is acknowledged, so it knows it arrived.
      if ((c.ended && c.sent.ack >= c.seq) || c.started === false) continue;
      const reply = { ack: waiting.includes(c.region) ? c.seq - 1 : c.seq, hold, stop };
      if (sameReply(reply, c.sent)) continue;
      c.sent = reply;
      out.push({ region: c.region, reply });
    }
    return out;
  }

  /** Every region of the running phase has ended (its last report said so). */
  allEnded(): boolean {
    return [...this.channels.values()].every((c) => c.ended);
  }

  /** Machines that counted as an error, all regions. */
  errors(): number {
    return this.sum((t) => t.errors);
  }

  sum(of: (t: RegionTally) => number): number {
    return this.tallies.reduce((n, t) => n + of(t), 0);
  }

  /** The error budget over every region: errors counted, beyond those an override forgave. */
  budget(planned: number, forgiven: number, budget: CountOrPercent): BudgetCheck {
    const count = this.errors();
    return { count, ...errorBudgetExceeded({ planned, errors: count - forgiven }, budget) };
  }

  /** A phase's own budget (`phaseErrorAllowance` of its machines): its errors, beyond those forgiven. */
  phaseBudget(phase: number, forgiven: number, budget: CountOrPercent): BudgetCheck {
    const ofPhase = this.tallies.filter((t) => t.phase === phase);
    const size = ofPhase.reduce((n, t) => n + t.total, 0);
    return phaseBudget(
      budget,
      size,
      ofPhase.reduce((n, t) => n + t.errors, 0),
      forgiven,
    );
  }

  /** A phase's verdict from its own machines: succeeded, failing (errors not since patched), unresolved. */
  verdict(phase: number, budgets: { phase: BudgetCheck; rollout: BudgetCheck }): GateVerdict {
    const counts = { total: 0, succeeded: 0, errors: 0 };
    for (const t of this.tallies)
      if (t.phase === phase) {
        counts.total += t.total;
        counts.succeeded += t.succeeded;
        counts.errors += t.failing;
      }
    const unresolved = counts.total - counts.succeeded - counts.errors;
    return evaluatePhaseGate({ ...counts, unresolved, index: phase, failed: this.failedIn(phase) }, budgets);
  }

  reports(): RegionReport[] {
    return this.tallies.map((t) => ({
      region: t.region,
      phase: t.phase,
      total: t.total,
      done: t.done,
      succeeded: t.succeeded,
      notSucceeded: t.done - t.succeeded,
      errors: t.errors,
    }));
  }

  carry(): Carried {
    return { tallies: this.tallies, channels: [...this.channels.values()], failed: this.failed };
  }
}
