import { resolveBudget, type CountOrPercent } from './budget';

/**
 * Gate decisions: pure functions, table-tested. In the spirit of Argo Rollouts' analysis, a gate can be
 * inconclusive, which pauses the rollout for a person rather than guessing.
 */

export type GateVerdict =
  { verdict: 'promote' } | { verdict: 'halt'; reason: string } | { verdict: 'inconclusive'; reason: string };

export interface HealthTally {
  /** Machines the rollout has planned so far (the budget's population). */
  planned: number;
  errors: number;
}

/** AWS MaxErrors semantics: the budget halts when EXCEEDED, so an error budget of 3 stops at the 4th error. */
export function errorBudgetExceeded(
  tally: HealthTally,
  budget: CountOrPercent,
): { exceeded: boolean; allowed: number } {
  const allowed = resolveBudget(budget, tally.planned, false);
  return { exceeded: tally.errors > allowed, allowed };
}

export interface PhaseTally {
  total: number;
  succeeded: number;
  errors: number;
  /** Neither succeeded nor an error: still pending or unreachable when the phase's attempts ran out. */
  unresolved: number;
}

/**
 * A phase is promoted when its errors are within the budget and no machine is unresolved. Errors over
 * the budget halt. Unresolved machines with the budget still holding are inconclusive: a person decides.
 */
export function evaluatePhaseGate(
  phase: PhaseTally,
  budgetErrors: { exceeded: boolean; allowed: number },
): GateVerdict {
  if (budgetErrors.exceeded)
    return {
      verdict: 'halt',
      reason: `error budget exceeded: ${phase.errors} error(s) in this phase, at most ${budgetErrors.allowed} allowed`,
    };
  if (phase.unresolved > 0)
    return {
      verdict: 'inconclusive',
      reason: `${phase.unresolved} of ${phase.total} machine(s) neither patched nor failed (pending or unreachable)`,
    };
  return { verdict: 'promote' };
}

/** An approver: a name (unauthenticated), or a name with an OpenSSH public key. */
export type Approver = string | { name: string; key: string };

export interface ApprovalPolicy {
  approvers: readonly Approver[];
  fourEyes: boolean;
}

export const approverName = (a: Approver): string => (typeof a === 'string' ? a : a.name);

/** Approvers with keys: when there are any, every decision must be signed by one of their keys. */
export const keyedApprovers = (policy: ApprovalPolicy): Array<{ name: string; key: string }> =>
  policy.approvers.flatMap((a) => (typeof a === 'string' ? [] : [a]));

/** Returns why an approver may not decide a gate, or undefined when they may. */
export function approverRefusal(by: string, startedBy: string, policy: ApprovalPolicy): string | undefined {
  if (!by.trim()) return 'an approval must name who decides';
  const names = policy.approvers.map(approverName);
  if (names.length > 0 && !names.includes(by))
    return `"${by}" is not in the policy's approvers (${names.join(', ')})`;
  if (policy.fourEyes && by === startedBy)
    return `"${by}" started this rollout and the policy asks for four eyes`;
  return undefined;
}
