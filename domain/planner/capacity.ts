import { type CountOrPercent, resolveBudget } from '../budget';

/** Machines of a service that must stay up. A percentage rounds UP, as a Kubernetes PodDisruptionBudget does. */
export function resolveMinAvailable(minAvailable: CountOrPercent, total: number): number {
  return resolveBudget(minAvailable, total, false);
}

/** How many of a service's `total` machines may be down at once: `total - minAvailable`, never below 0. */
export function serviceAllowance(minAvailable: CountOrPercent, total: number): number {
  return total - resolveMinAvailable(minAvailable, total);
}

export function formatCountOrPercent(value: CountOrPercent): string {
  return typeof value === 'number' ? String(value) : value;
}

/**
 * Splits one service's allowance among the regions of a phase that hold the service (`counts[i]`
 * machines in the i-th of them): every region first gets 1, then the rest goes in proportion to the
 * machines each region holds (floor, then largest remainder, ties to the earlier region); a share never
 * exceeds the machines the region holds. The shares add up to at most `allowance`, so the regions of a
 * phase, which run concurrently, can never together exceed it. Needs `allowance >= counts.length`
 * (the phase builder and the explicit-phase check guarantee it).
 */
export function splitAllowance(allowance: number, counts: readonly number[]): number[] {
  const k = counts.length;
  if (k === 1) return [Math.min(allowance, counts[0])];
  const rest = allowance - k;
  let total = 0;
  for (const c of counts) total += c;
  const shares = counts.map((c) => 1 + Math.floor((rest * c) / total));
  let left = rest - shares.reduce((sum, s) => sum + s - 1, 0);
  if (left > 0) {
    const order = counts
      .map((_, i) => i)
      .sort((a, b) => ((rest * counts[b]) % total) - ((rest * counts[a]) % total) || a - b);
    for (let j = 0; left > 0 && j < order.length; j++, left--) shares[order[j]]++;
  }
  return shares.map((s, i) => Math.min(s, counts[i]));
}
