import { type CountOrPercent, resolveBudget } from '../budget';

/**
 * The most machines one batch holds, whatever the budget allows: a step's machines are started in one
 * workflow task, asked for in one lease request and read in one slice of specs, each bounded by Temporal
 * (2 MB a payload, a few MB a request, a history's events). 500 machine specs are about 200 KB of JSON
 * (spec-slices.ts); a step laid into one lane holds one batch per track, so at most three times this.
 */
export const MAX_BATCH_MACHINES = 500;

/**
 * The most machine attempts a region runs at once: its lanes' widest steps together. Temporal lets a
 * workflow have at most 2,000 children running (a region's next start fails its workflow task until
 * some end), and a region's run holds every lane's first step (workflows/region.ts), about 5 events an
 * attempt, under the 10,240 at which Temporal warns. A step laid into one lane is never wider.
 */
export const MAX_REGION_ATTEMPTS = 3 * MAX_BATCH_MACHINES;

/** A budget (`disruptionBudget`) resolved against `total` machines, at least 1, at most a batch's limit. */
export function budgetCap(budget: CountOrPercent, total: number): number {
  return Math.min(resolveBudget(budget, total, true), MAX_BATCH_MACHINES);
}

/**
 * Azure: within one update domain at most 20% of the set at once, one at a time below 10 machines (and
 * never more than a batch holds).
 */
export function availabilitySetCap(size: number): number {
  return size < 10 ? 1 : Math.min(Math.floor(size / 5), MAX_BATCH_MACHINES);
}
