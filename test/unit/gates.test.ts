import {
  approverRefusal,
  bakeLabel,
  errorBudgetExceeded,
  evaluatePhaseGate,
  MACHINES_NAMED,
  machinesLabel,
  phaseBudget,
  phaseErrorAllowance,
} from '../../domain/gates';
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

describe('per-phase budget', () => {
  test.each([
    // A one-machine canary never keeps an error, whatever the budget.
    [0, 1, 0],
    [1, 1, 0],
    ['5%', 1, 0],
    ['100%', 1, 0],
    // A count holds for each phase, capped so that one machine of the phase must succeed.
    [1, 2, 1],
    [3, 2, 1],
    [3, 10, 3],
    // A percentage is a share of the phase's own machines, rounded up.
    ['5%', 30, 2],
    ['10%', 3, 1],
    ['50%', 2, 1],
    ['0%', 30, 0],
    [0, 0, 0],
  ] as const)('a budget of %p allows %p-machine phase %p error(s)', (budget, size, allowed) => {
    expect(phaseErrorAllowance(budget, size)).toBe(allowed);
  });

  test.each([
    ['5%', 1, 1, 0, true],
    [1, 1, 1, 0, true],
    [1, 1, 1, 1, false], // forgiven by an override
    [2, 5, 2, 0, false],
    [2, 5, 3, 0, true],
  ] as const)(
    'budget %p over %p machines, %p error(s), %p forgiven: exceeded=%p',
    (budget, size, errors, forgiven, exceeded) => {
      expect(phaseBudget(budget, size, errors, forgiven).exceeded).toBe(exceeded);
    },
  );
});

describe('phase gate', () => {
  const within = (allowed: number, count = 0) => ({ count, allowed, exceeded: false });
  const over = (allowed: number, count: number) => ({ count, allowed, exceeded: true });
  const phase = (total: number, succeeded: number, errors: number, unresolved: number) => ({
    index: 0,
    total,
    succeeded,
    errors,
    unresolved,
    failed: [{ name: 'c1', outcome: 'InstallFailed' as const }],
  });
  test.each([
    [phase(10, 10, 0, 0), within(2), within(2), 'promote'],
    [phase(10, 8, 2, 0), within(2, 2), within(2, 2), 'promote'],
    [phase(10, 7, 3, 0), over(2, 3), over(2, 3), 'halt'],
    [phase(10, 9, 0, 1), within(2), within(2), 'inconclusive'],
    [phase(10, 6, 3, 1), over(2, 3), within(5, 3), 'halt'],
    // The rollout's budget allows the canary's failure; the canary's own does not.
    [phase(1, 0, 1, 0), over(0, 1), within(2, 1), 'halt'],
    // The phase holds, the rollout's budget (errors of earlier phases) does not.
    [phase(10, 9, 1, 0), within(2, 1), over(2, 3), 'halt'],
  ])('%j, phase %j, rollout %j → %s', (tally, phaseBudget, rollout, verdict) => {
    expect(evaluatePhaseGate(tally, { phase: phaseBudget, rollout }).verdict).toBe(verdict);
  });

  test('a halt names the budget and its machines', () => {
    expect(evaluatePhaseGate(phase(1, 0, 1, 0), { phase: over(0, 1), rollout: within(1, 1) })).toEqual({
      verdict: 'halt',
      reason: 'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: c1 InstallFailed',
    });
  });

  test.each([
    [[], 0, ''],
    [[['a1', 'Unhealthy']], 1, 'a1 Unhealthy'],
    [
      [
        ['a1', 'Unhealthy'],
        ['a2', 'InstallFailed'],
      ],
      5,
      'a1 Unhealthy, a2 InstallFailed and 3 more',
    ],
  ] as const)('machinesLabel(%j, %p) = %p', (machines, count, label) => {
    const named = machines.map(([name, outcome]) => ({ name, outcome }));
    expect(machinesLabel(named, count)).toBe(label);
  });

  test(`names at most ${MACHINES_NAMED} machines, then a count`, () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ name: `m${i}`, outcome: 'Unhealthy' as const }));
    const label = machinesLabel(many, 40);
    expect(label.split(', ')).toHaveLength(MACHINES_NAMED);
    expect(label.endsWith('m9 Unhealthy and 30 more')).toBe(true);
  });

  test.each([
    [0, '2026-11-11T03:40:00Z', '2026-11-11T01:00:00Z', 'Baking phase 0 until 03:40Z'],
    [1, '2026-11-12T03:40:00Z', '2026-11-11T23:00:00Z', 'Baking phase 1 until 2026-11-12 03:40Z'],
  ])('bakeLabel(%p, %s, since %s) = %p', (index, until, now, label) => {
    expect(bakeLabel(index, Date.parse(until), Date.parse(now))).toBe(label);
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
