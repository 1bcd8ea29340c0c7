/** A count (`3`) or a share (`"20%"`), as AWS MaxConcurrency/MaxErrors and GCP's disruption budget take it. */
export type CountOrPercent = number | `${number}%`;

/**
 * Resolves a budget against a population of `total`. Percentages round UP, as GCP's disruption budget
 * and Kubernetes' PodDisruptionBudget do, so "10%" of 3 machines is 1, never 0.
 * `atLeastOne` keeps a concurrency budget from stalling a rollout; error budgets may be 0.
 */
export function resolveBudget(budget: CountOrPercent, total: number, atLeastOne: boolean): number {
  const raw = typeof budget === 'number' ? budget : Math.ceil((parseFloat(budget) / 100) * total - 1e-9);
  const bounded = Math.min(raw, total);
  return atLeastOne ? Math.max(1, bounded) : Math.max(0, bounded);
}
