import fc from 'fast-check';
import type { AttemptOutcome } from '../../domain/outcomes';
import type { StepReply, StepReport } from '../../workflows/messages';
import { REFUSALS_KEPT, RolloutState } from '../../workflows/rollout-state';
import { rolloutInputOf, vm } from '../support/rollouts';

/** Two phases: eastus (three machines, a zone each), then westus (one). */
function newState(policy: Record<string, unknown> = {}) {
  return new RolloutState(inputOf(policy));
}

function inputOf(policy: Record<string, unknown> = {}) {
  return rolloutInputOf({
    rolloutId: 'r',
    startedBy: 'carol',
    fleet: {
      machines: [
        vm('a1', { zone: '1' }),
        vm('a2', { zone: '2' }),
        vm('a3', { zone: '3' }),
        vm('w1', { region: 'westus' }),
      ],
    },
    policy: {
      windows: 'always',
      phases: [['eastus'], ['westus']],
      approvals: { approvers: ['alice', 'bob'], fourEyes: true },
      ...policy,
    },
    now: new Date('2026-11-11T00:00:00Z'),
  });
}

const at = '2026-11-11T01:00:00.000Z';
const report = (
  seq: number,
  results: Array<[string, AttemptOutcome]>,
  end?: StepReport['end'],
): StepReport => ({
  region: 'eastus',
  seq,
  step: `step ${seq}`,
  results: results.map(([name, outcome]) => ({ name, attempt: 1, outcome })),
  ...(end ? { end } : {}),
});

describe('the rollout state', () => {
  test('answers each report to its region, and every running region when the hold changes', () => {
    const state = newState();
    state.startPhase(0, at);
    expect(state.takeReplies()).toEqual([]); // regions start with "go on"
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
    state.recordStep(report(1, [['a1', 'Succeeded']])); // delivered twice: folded once, answered once
    expect(state.takeReplies()).toEqual([]);
    expect(state.summary().regions[0]).toMatchObject({ done: 1, succeeded: 1 });

    expect(state.pause({ by: 'alice', reason: 'freeze' })).toEqual({ accepted: true });
    expect(state.summary()).toMatchObject({ status: 'Paused' });
    expect(state.takeReplies()).toEqual([
      { region: 'eastus', reply: { ack: 1, hold: 'paused: alice: freeze', stop: false } },
    ]);
    expect(state.resume({ by: 'alice' }, at)).toEqual({ accepted: true });
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
    expect(state.resume({ by: 'alice' }, at)).toEqual({
      accepted: false,
      reason: 'the rollout is not paused (Running)',
    });
  });

  test('halts when the budget is exceeded, naming the machine; an override by an approver forgives', () => {
    const state = newState({ errorBudget: 0 });
    state.startPhase(0, at);
    state.recordStep(report(1, [['a1', 'Unhealthy']]));
    expect(state.summary()).toMatchObject({
      status: 'Halted',
      reason: 'error budget exceeded: 1 error(s), at most 0 allowed (latest: a1 Unhealthy)',
      errors: { count: 1, allowed: 0 },
    });
    expect(state.takeReplies()[0].reply.hold).toMatch(/^halted: error budget exceeded/);
    expect(state.held()).toBe(true);
    expect(state.resume({ by: 'alice' }, at)).toEqual({
      accepted: false,
      reason: 'resuming a halted rollout needs --override',
    });
    expect(state.resume({ by: 'mallory', override: true }, at)).toEqual({
      accepted: false,
      reason: '"mallory" is not in the policy\'s approvers (alice, bob)',
    });
    // The starter may override (four eyes binds gates, not resumes).
    expect(state.resume({ by: 'carol', override: true }, at).accepted).toBe(false);
    expect(state.resume({ by: 'bob', override: true, comment: 'known host' }, at)).toEqual({
      accepted: true,
    });
    expect(state.held()).toBe(false);
    expect(state.summary().gates.map((g) => [g.decision, g.by])).toEqual([
      ['refused', 'alice'],
      ['refused', 'mallory'],
      ['refused', 'carol'],
      ['overridden', 'bob'],
    ]);
  });

  test('a phase is promoted only when its machines all succeeded; an unresolved one is inconclusive', () => {
    const state = newState({ errorBudget: 1 });
    state.startPhase(0, at);
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    state.recordStep(report(2, [['a2', 'Succeeded']]));
    state.recordStep(report(3, [['a3', 'Skipped']], {}));
    expect(state.phaseEnded()).toBe(true);
    state.finishPhase(at);
    expect(state.summary()).toMatchObject({ status: 'Halted' });
    expect(state.summary().reason).toBe(
      '1 of 3 machine(s) neither patched nor failed (pending or unreachable)',
    );
    expect(state.phases[0].status).toBe('Halted');
  });

  test('gates: four eyes refuses the starter, a stranger and unknown gates, all recorded; approval runs', () => {
    const state = newState({ approvals: { beforePhases: [0], approvers: ['alice', 'bob'], fourEyes: true } });
    expect(state.openGate(0)).toBe(true);
    expect(state.summary()).toMatchObject({ status: 'WaitingForApproval', openGate: 'phase-0' });
    expect(state.decideGate('approve', { gate: 'phase-0', by: 'carol' }, at).accepted).toBe(false);
    expect(state.decideGate('approve', { gate: 'phase-9', by: 'bob' }, at)).toEqual({
      accepted: false,
      reason: 'no open gate named "phase-9"',
    });
    expect(state.gateSettled()).toBe(false);
    expect(state.decideGate('approve', { gate: 'phase-0', by: 'bob' }, at)).toEqual({ accepted: true });
    expect(state.gateSettled()).toBe(true);
    expect(state.closeGate(at)).toBe('run');
    expect(state.decideGate('approve', { gate: 'phase-0', by: 'bob' }, at).accepted).toBe(false);
  });

  test.each([
    ['rejected', 'stop', 'Rejected'],
    ['expired', 'run', 'Halted'],
  ] as const)('a gate %s closes with %s and the rollout is %s', (how, next, status) => {
    const state = newState({ approvals: { beforePhases: [0], approvers: ['bob'] } });
    state.openGate(0);
    if (how === 'rejected') state.decideGate('reject', { gate: 'phase-0', by: 'bob' }, at);
    expect(state.closeGate(at)).toBe(next);
    expect(state.summary().status).toBe(status);
  });

  test('cancel stops the regions and ends the rollout Canceled; an ended rollout refuses commands', () => {
    const state = newState();
    state.startPhase(0, at);
    expect(state.cancel({ by: 'bob', reason: 'bad patch' }, at)).toEqual({ accepted: true });
    expect(state.takeReplies()).toEqual([
      { region: 'eastus', reply: { ack: 0, hold: 'cancelled', stop: true } },
    ]);
    state.recordStep(report(1, [['a2', 'Skipped']], {}));
    state.finishPhase(at);
    state.finish();
    expect(state.summary()).toMatchObject({ status: 'Canceled', reason: 'cancelled by bob: bad patch' });
    expect(state.phases.map((p) => p.status)).toEqual(['Halted', 'Skipped']);
    expect(state.pause({ by: 'alice' })).toEqual({
      accepted: false,
      reason: 'the rollout has ended (Canceled)',
    });
  });

  test(`keeps the last ${REFUSALS_KEPT} refusals and counts the rest`, () => {
    const state = newState();
    for (let i = 0; i < REFUSALS_KEPT + 25; i++) state.decideGate('approve', { gate: 'nope', by: 'x' }, at);
    const summary = state.summary();
    expect(summary.gates).toHaveLength(REFUSALS_KEPT);
    expect(summary.refusalsDropped).toBe(25);
  });

  test('carries itself across continue-as-new: the next run is the same state', () => {
    const state = newState({ errorBudget: 0 });
    state.startPhase(0, at);
    state.recordStep(report(1, [['a1', 'InstallFailed']]));
    state.takeReplies();
    const input = inputOf({ errorBudget: 0 });
    const next = new RolloutState(input, JSON.parse(JSON.stringify(state.carry())));
    expect(next.summary()).toEqual(state.summary());
    expect(next.takeReplies()).toEqual([]); // the reply was sent by the run before
    next.recordStep(report(1, [['a1', 'InstallFailed']])); // a report the earlier run judged: ignored
    expect(next.summary()).toEqual(state.summary());
  });
});

type Event =
  | { kind: 'report'; results: Array<[string, AttemptOutcome]> }
  | { kind: 'pause' }
  | { kind: 'resume'; override: boolean; by: string }
  | { kind: 'cancel' };

const outcome = fc.constantFrom<AttemptOutcome>(
  'Succeeded',
  'InstallFailed',
  'Pending',
  'Unhealthy',
  'Skipped',
);
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({
    kind: fc.constant('report' as const),
    results: fc.array(fc.tuple(fc.constantFrom('a1', 'a2', 'a3'), outcome), { maxLength: 2 }),
  }),
  fc.constant({ kind: 'pause' as const }),
  fc.record({
    kind: fc.constant('resume' as const),
    override: fc.boolean(),
    by: fc.constantFrom('bob', 'mallory'),
  }),
  fc.constant({ kind: 'cancel' as const }),
);

test('no sequence of events lets a region start a step while the rollout is held (property)', () => {
  fc.assert(
    fc.property(fc.array(event, { maxLength: 30 }), fc.constantFrom(0, 1, 2), (events, budget) => {
      const state = newState({ errorBudget: budget });
      state.startPhase(0, at);
      // The region's view: the last reply it was sent. It may start a step only when its last report is
      // acknowledged and the reply holds nothing.
      let seen: StepReply = { ack: 0, hold: null, stop: false };
      let seq = 0;
      const deliver = () => {
        for (const r of state.takeReplies()) seen = { ...r.reply, ack: Math.max(seen.ack, r.reply.ack) };
      };
      for (const e of events) {
        if (e.kind === 'report') {
          // A region reports only after it was allowed to run a step.
          if (seen.hold !== null || seen.ack < seq || seen.stop) continue;
          state.recordStep(report(++seq, e.results));
        } else if (e.kind === 'pause') state.pause({ by: 'alice' });
        else if (e.kind === 'resume') state.resume({ by: e.by, override: e.override }, at);
        else state.cancel({ by: 'bob' }, at);
        deliver();
        const mayStart = seen.hold === null && !seen.stop && seen.ack >= seq;
        if (mayStart) expect(state.hold()).toBeNull();
        if (state.hold() !== null) expect(mayStart).toBe(false);
      }
    }),
    { seed: 16, numRuns: 500 },
  );
});
