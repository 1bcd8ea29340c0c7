import type { CountOrPercent } from '../domain/budget';
import { errorBudgetExceeded, evaluatePhaseGate, type GateVerdict } from '../domain/gates';
import { countsAsError } from '../domain/outcomes';
import type { RolloutInput } from '../domain/rollout-spec';
import type { RegionReport, RegionTally, RolloutCarry, StepReply, StepReport } from './messages';
import { emptyTally, foldResult } from './rollout-tally';

type Channel = RolloutCarry['channels'][number];
const NO_REPLY: StepReply = { ack: 0, hold: null, stop: false };
const sameReply = (a: StepReply, b: StepReply) => a.ack === b.ack && a.hold === b.hold && a.stop === b.stop;

/**
 * What the rollout keeps of its regions: counts per region (never a record per machine) and, for the
 * regions of the running phase, the channel of the one request/reply: the last report judged and the last
 * reply sent. Pure: no Temporal imports.
 */
export class RegionBook {
  readonly tallies: RegionTally[];
  private readonly byRegion: Map<string, RegionTally>;
  private readonly channels = new Map<string, Channel>();

  constructor(input: RolloutInput, carry?: Pick<RolloutCarry, 'tallies' | 'channels'>) {
    this.tallies = carry?.tallies ?? input.regions.map((r) => emptyTally(r.region, r.phase, r.machineCount));
    this.byRegion = new Map(this.tallies.map((t) => [t.region, t]));
    for (const c of carry?.channels ?? []) this.channels.set(c.region, c);
  }

  /** A phase starts: its regions will report through fresh channels. */
  open(regions: readonly string[]): void {
    this.channels.clear();
    for (const region of regions) this.channels.set(region, { region, seq: 0, sent: NO_REPLY, ended: false });
  }

  /**
   * Folds a report once (a report delivered twice, or from a region not running, is ignored). Returns the
   * last machine that counted as an error, and whether the report was new.
   */
  record(report: StepReport, maxAttempts: number): { recorded: boolean; lastError?: string } {
    const channel = this.channels.get(report.region);
    const tally = this.byRegion.get(report.region);
    if (!channel || !tally || report.seq <= channel.seq) return { recorded: false };
    channel.seq = report.seq;
    let lastError: string | undefined;
    for (const r of report.results) {
      foldResult(tally, r, maxAttempts);
      if (!r.erredBefore && countsAsError(r.outcome, r.attempt >= maxAttempts))
        lastError = `${r.name} ${r.outcome}`;
    }
    if (report.end) channel.ended = true;
    return { recorded: true, lastError };
  }

  /** The replies owed: each running region's answer to its last report, and the hold now. Taken once. */
  takeReplies(hold: string | null, stop: boolean): Array<{ region: string; reply: StepReply }> {
    const out: Array<{ region: string; reply: StepReply }> = [];
    for (const c of this.channels.values()) {
      if (c.ended) continue;
      const reply = { ack: c.seq, hold, stop };
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
  budget(planned: number, forgiven: number, budget: CountOrPercent) {
    const count = this.errors();
    return { count, ...errorBudgetExceeded({ planned, errors: count - forgiven }, budget) };
  }

  /** A phase's verdict from its own machines: succeeded, failing (errors not since patched), unresolved. */
  verdict(regions: readonly string[], budget: { exceeded: boolean; allowed: number }): GateVerdict {
    const counts = { total: 0, succeeded: 0, errors: 0 };
    for (const t of this.tallies)
      if (regions.includes(t.region)) {
        counts.total += t.total;
        counts.succeeded += t.succeeded;
        counts.errors += t.failing;
      }
    return evaluatePhaseGate(
      { ...counts, unresolved: counts.total - counts.succeeded - counts.errors },
      budget,
    );
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

  carry(): Pick<RolloutCarry, 'tallies' | 'channels'> {
    return { tallies: this.tallies, channels: [...this.channels.values()] };
  }
}
