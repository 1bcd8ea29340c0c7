/**
 * Lower-bound arithmetic. A "chain" is a set of machines that a valid schedule must patch with at
 * most `cap` of them down at any instant (a zone under its disruption budget, an update domain under
 * its set's 20% rule, a service under its allowance). Whatever the schedule, such a chain lasts at least
 * - its slowest machine;
 * - its total machine-minutes divided by `cap` (at most `cap` machines progress at once);
 * - ceil(count / cap) times its fastest machine: lay a grid of instants one fastest-duration apart over
 *   the schedule; every machine's run covers at least one of them and each instant is covered by at
 *   most `cap` runs, so a schedule of length T, with floor(T / fastest) instants, patches at most
 *   cap * floor(T / fastest) machines;
 * - when every duration is a multiple of some g (in hundredths of a minute), ceil(sum / (cap * g)) * g:
 *   runs with at most `cap` of them overlapping can be laid on `cap` slots (interval graphs need no
 *   more colours than their largest overlap), a slot lasts at least the sum of its runs, which is a
 *   multiple of g, and the slots' sums add up to `sum`, so one of them reaches that figure.
 */
export class ChainStats {
  count = 0;
  sum = 0;
  max = 0;
  min = Infinity;
  /** Durations in hundredths of a minute: their sum and greatest common divisor (0: not all whole hundredths). */
  hundredths = 0;
  gcd = 0;
  private exact = true;

  add(minutes: number): void {
    this.count++;
    this.sum += minutes;
    if (minutes > this.max) this.max = minutes;
    if (minutes < this.min) this.min = minutes;
    if (!this.exact) return;
    const units = Math.round(minutes * 100);
    if (Math.abs(minutes * 100 - units) > 1e-6 || units <= 0) {
      this.exact = false;
      this.gcd = 0;
      return;
    }
    this.hundredths += units;
    this.gcd = gcd(this.gcd, units);
  }
}

export function chainBound(stats: ChainStats, cap: number): number {
  if (stats.count === 0) return 0;
  let slots = 0;
  if (stats.gcd > 0 && Number.isFinite(cap)) {
    const step = cap * stats.gcd;
    slots = (Math.floor((stats.hundredths + step - 1) / step) * stats.gcd) / 100;
  }
  return Math.max(stats.max, stats.sum / cap, Math.ceil(stats.count / cap) * stats.min, slots);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Rounds a lower bound down to hundredths (a bound stays a bound), tolerating float noise such as 39.99999999. */
export function floorHundredths(minutes: number): number {
  return Math.floor(minutes * 100 + 1e-6) / 100;
}

/**
 * The least measure of the instants at which some of `durations` runs, when each runs in ONE piece and at
 * most `cap` run at once (docs/planner.md, section 7). Such runs split into `cap` classes of disjoint runs
 * (an interval graph needs no more colours than its largest overlap), and the instants measure at least
 * any one class's sum. So at least the longest run, the sum over `cap`, and, for every k >= 1 with
 * k·cap + 1 runs: one class holds k + 1 of the k·cap + 1 longest, so at least the k + 1 shortest of those.
 * Equal durations d: ceil(n / cap)·d. Sorts `durations` (ascending) in place.
 */
export function unsplitMeasure(durations: Float64Array, cap: number): number {
  const n = durations.length;
  if (n === 0) return 0;
  durations.sort();
  let sum = 0;
  for (let j = 0; j < n; j++) sum += durations[j];
  let best = Math.max(durations[n - 1], sum / cap);
  if (!Number.isFinite(cap) || n <= cap) return best;
  // Ascending order: the m longest are durations[n - m .. n - 1]; the k + 1 shortest of them start at n - m.
  const prefix = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j] + durations[j];
  for (let k = 1; k * cap + 1 <= n; k++) {
    const from = n - (k * cap + 1);
    const part = prefix[from + k + 1] - prefix[from];
    if (part > best) best = part;
  }
  return best;
}
