import { resolveBudget, type CountOrPercent } from './budget';
import type { AttemptOutcome } from './outcomes';

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

/**
 * The errors a phase of `size` machines may have: the budget resolved against the phase's own machines
 * (a percentage of them, rounded up; a count as it is), capped at `size - 1` so that at least one of its
 * machines must succeed. Without the cap a one-machine canary under a budget of 1, or of any percentage,
 * would promote with its only machine failed (docs/operations.md, "Gates").
 */
export function phaseErrorAllowance(budget: CountOrPercent, size: number): number {
  return Math.max(0, Math.min(resolveBudget(budget, size, false), size - 1));
}

/** A budget judged: errors counted (beyond those an override forgave) against those allowed. */
export interface BudgetCheck {
  count: number;
  allowed: number;
  exceeded: boolean;
}

/** A phase's own budget: its errors beyond those forgiven, against `phaseErrorAllowance`. */
export function phaseBudget(
  budget: CountOrPercent,
  size: number,
  errors: number,
  forgiven: number,
): BudgetCheck {
  const allowed = phaseErrorAllowance(budget, size);
  return { count: errors, allowed, exceeded: errors - forgiven > allowed };
}

export interface PhaseTally {
  total: number;
  succeeded: number;
  errors: number;
  /** Neither succeeded nor an error: still pending or unreachable when the phase's attempts ran out. */
  unresolved: number;
}

/** A machine behind a halt: its name and latest outcome. */
export interface NamedMachine {
  name: string;
  outcome: AttemptOutcome;
}

/** How many failed machines a halt reason and a status name: the first ten, then a count. */
export const MACHINES_NAMED = 10;

/** `a1 InstallFailed, a2 Unhealthy and 3 more`: the machines behind a halt, at most `MACHINES_NAMED`. */
export function machinesLabel(machines: readonly NamedMachine[], count: number): string {
  const named = machines.slice(0, MACHINES_NAMED);
  const more = Math.max(0, count - named.length);
  return named.map((m) => `${m.name} ${m.outcome}`).join(', ') + (more ? ` and ${more} more` : '');
}

/** Why a budget halts: which budget, how many errors against how many allowed, and the machines. */
export function budgetReason(scope: string, check: BudgetCheck, machines: readonly NamedMachine[]): string {
  const named = machines.length ? `: ${machinesLabel(machines, check.count)}` : '';
  return `error budget exceeded ${scope}: ${check.count} error(s), at most ${check.allowed} allowed${named}`;
}

/**
 * A phase is promoted when its own errors are within the phase's budget, the rollout's errors within the
 * rollout's, and no machine of the phase is unresolved. An exceeded budget halts. Unresolved machines with
 * both budgets holding are inconclusive: a person decides.
 */
export function evaluatePhaseGate(
  phase: PhaseTally & { index: number; failed: readonly NamedMachine[] },
  budgets: { phase: BudgetCheck; rollout: BudgetCheck },
): GateVerdict {
  if (budgets.phase.exceeded)
    return { verdict: 'halt', reason: budgetReason(`in phase ${phase.index}`, budgets.phase, phase.failed) };
  if (budgets.rollout.exceeded)
    return { verdict: 'halt', reason: budgetReason('in the rollout', budgets.rollout, phase.failed) };
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

/**
 * `Baking phase 1 until 03:40Z`: what status, `watch` and the UI say while a promoted phase bakes. The
 * date is added when the bake ends on another UTC day than it began (`since`).
 */
export function bakeLabel(phase: number, until: number, since: number): string {
  const end = new Date(until).toISOString();
  const sameDay = end.slice(0, 10) === new Date(since).toISOString().slice(0, 10);
  return `Baking phase ${phase} until ${sameDay ? '' : `${end.slice(0, 10)} `}${end.slice(11, 16)}Z`;
}
