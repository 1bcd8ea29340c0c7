import { approverRefusal, errorBudgetExceeded, evaluatePhaseGate } from '../../domain/gates';
import { resolveBudget } from '../../domain/budget';
import { countsAsError } from '../../domain/outcomes';
import { shouldReboot } from '../../domain/reboot';

describe('budgets', () => {
  test.each([
    [3, 10, false, 3],
    ['10%', 3, true, 1],
    ['10%', 3, false, 1],
    ['0%', 50, false, 0],
    ['0%', 50, true, 1],
    ['25%', 10, false, 3],
    ['100%', 7, false, 7],
    [12, 5, false, 5],
  ] as const)(
    'resolveBudget(%p of %p, atLeastOne=%p) = %p (percent rounds up)',
    (budget, total, atLeastOne, expected) => {
      expect(resolveBudget(budget, total, atLeastOne)).toBe(expected);
    },
  );

  test.each([
    [0, 0, 100, false],
    [1, 0, 100, true],
    [3, 3, 100, false],
    [4, 3, 100, true],
    [5, '5%', 100, false],
    [6, '5%', 100, true],
  ] as const)(
    '%p errors against a budget of %p over %p machines: exceeded=%p (AWS MaxErrors: exceed, not equal)',
    (errors, budget, planned, exceeded) => {
      expect(errorBudgetExceeded({ planned, errors }, budget).exceeded).toBe(exceeded);
    },
  );
});

describe('phase gate', () => {
  const ok = { exceeded: false, allowed: 2 };
  test.each([
    [{ total: 10, succeeded: 10, errors: 0, unresolved: 0 }, ok, 'promote'],
    [{ total: 10, succeeded: 8, errors: 2, unresolved: 0 }, ok, 'promote'],
    [{ total: 10, succeeded: 7, errors: 3, unresolved: 0 }, { exceeded: true, allowed: 2 }, 'halt'],
    [{ total: 10, succeeded: 9, errors: 0, unresolved: 1 }, ok, 'inconclusive'],
    [{ total: 10, succeeded: 6, errors: 3, unresolved: 1 }, { exceeded: true, allowed: 2 }, 'halt'],
  ])('%j with %j → %s', (tally, budget, verdict) => {
    expect(evaluatePhaseGate(tally, budget).verdict).toBe(verdict);
  });
});

describe('approvers', () => {
  const policy = { approvers: ['alice', 'bob'], fourEyes: true };
  test.each([
    ['alice', 'carol', undefined],
    ['mallory', 'carol', '"mallory" is not in the policy\'s approvers (alice, bob)'],
    ['alice', 'alice', '"alice" started this rollout and the policy asks for four eyes'],
    ['', 'carol', 'an approval must name who decides'],
  ])('%s approving a rollout started by %s', (by, startedBy, refusal) => {
    expect(approverRefusal(by, startedBy, policy)).toBe(refusal);
  });
  test('an empty allow-list lets anyone but (with four eyes) the starter approve', () => {
    expect(approverRefusal('zed', 'carol', { approvers: [], fourEyes: true })).toBeUndefined();
    expect(approverRefusal('carol', 'carol', { approvers: [], fourEyes: false })).toBeUndefined();
  });
});

describe('error rule and reboot rule', () => {
  test.each([
    ['Succeeded', false, false],
    ['Pending', false, false],
    ['Pending', true, true],
    ['Unreachable', false, false],
    ['InstallFailed', false, true],
    ['Unhealthy', false, true],
    ['DidNotComeBack', false, true],
    ['Skipped', true, false],
  ] as const)('%s (final attempt: %p) counts as an error: %p', (outcome, final, expected) => {
    expect(countsAsError(outcome, final)).toBe(expected);
  });

  test.each([
    ['IfRequired', true, false, true],
    ['IfRequired', false, false, false],
    ['Never', true, false, false],
    ['Always', false, false, true],
    ['Always', false, true, false],
    ['Always', true, true, true],
  ] as const)(
    'reboot setting %s, host requires %p, hotpatch month on a capable image %p → %p',
    (setting, required, hotpatch, expected) => {
      expect(shouldReboot(setting, required, hotpatch)).toBe(expected);
    },
  );
});
