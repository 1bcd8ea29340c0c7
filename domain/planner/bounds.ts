/**
 * Lower-bound arithmetic. A "chain" is a set of machines that a valid schedule must patch with at
 * most `cap` of them down at any instant (a zone under its disruption budget, an update domain under
 * its set's 20% rule, a service under its allowance). Whatever the schedule, such a chain lasts at least
 * - its slowest machine;
 * - its total machine-minutes divided by `cap` (at most `cap` machines progress at once);
 * - ceil(count / cap) times its fastest machine: lay a grid of instants one fastest-duration apart over
 *   the schedule; every machine's run covers at least one of them and each instant is covered by at
 *   most `cap` runs, so a schedule of length T, with floor(T / fastest) instants, patches at most
 *   cap * floor(T / fastest) machines.
 */
export class ChainStats {
  count = 0;
  sum = 0;
  max = 0;
  min = Infinity;

  add(minutes: number): void {
    this.count++;
    this.sum += minutes;
    if (minutes > this.max) this.max = minutes;
    if (minutes < this.min) this.min = minutes;
  }
}

export function chainBound(stats: ChainStats, cap: number): number {
  if (stats.count === 0) return 0;
  return Math.max(stats.max, stats.sum / cap, Math.ceil(stats.count / cap) * stats.min);
}

/** Rounds a lower bound down to hundredths (a bound stays a bound), tolerating float noise such as 39.99999999. */
export function floorHundredths(minutes: number): number {
  return Math.floor(minutes * 100 + 1e-6) / 100;
}
