import fc from 'fast-check';
import { countsAsError, type AttemptOutcome } from '../../domain/outcomes';
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

/** A canary phase of `size` machines (one region, one step), then westus. */
function canaryInput(policy: Record<string, unknown>, size = 1) {
  const canary = Array.from({ length: size }, (_, i) => vm(`c${i + 1}`, { region: 'centralus' }));
  return rolloutInputOf({
    rolloutId: 'r',
    fleet: { machines: [...canary, ...['w1', 'w2', 'w3'].map((n) => vm(n, { region: 'westus' }))] },
    policy: { windows: 'always', phases: [['centralus'], ['westus']], disruptionBudget: '100%', ...policy },
    now: new Date('2026-11-11T00:00:00Z'),
  });
}

const result = (name: string, outcome: AttemptOutcome) => ({ name, attempt: 1, outcome });

/** Starts a phase as the workflow does: each region started with the hold of the moment. */
function start(state: RolloutState, index = 0): void {
  state.startPhase(index, at);
  for (const region of state.phases[index].regions) state.regionStarted(region, state.firstReply());
}
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
    start(state);
    expect(state.takeReplies()).toEqual([]); // regions start with "go on"
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
    // Sent again (the region had no answer): folded once, answered again.
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
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
    start(state);
    state.recordStep(report(1, [['a1', 'Unhealthy']]));
    expect(state.summary()).toMatchObject({
      status: 'Halted',
      reason: 'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: a1 Unhealthy',
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
    start(state);
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

  test('reports are folded in order: one that overtook a report lost on its way waits for it', () => {
    const state = newState();
    start(state);
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    state.takeReplies();
    // Report 2 was lost; report 3 (the region's end) arrives first: not folded, answered with 1.
    state.recordStep(report(3, [], {}));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
    expect(state.phaseEnded()).toBe(false);
    // The region sends both again, in order.
    state.recordStep(report(2, [['a2', 'Succeeded']]));
    state.recordStep(report(3, [], {}));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 3, hold: null, stop: false } }]);
    expect(state.summary().regions[0]).toMatchObject({ done: 2, succeeded: 2 });
    expect(state.phaseEnded()).toBe(true);
  });

  test("a region's last report is answered once, so the region knows it arrived", () => {
    const state = newState();
    start(state);
    state.recordStep(report(1, [['a1', 'Succeeded']], {}));
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);
    expect(state.takeReplies()).toEqual([]);
    expect(state.phaseEnded()).toBe(true);
  });

  test('cancel stops the regions and ends the rollout Canceled; an ended rollout refuses commands', () => {
    const state = newState();
    start(state);
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

  test('a failed canary never promotes: its own budget halts although the rollout would allow the error', () => {
    // Phase 0 is one canary machine; a count of 1 (or any percentage) would allow its error rollout-wide.
    for (const errorBudget of [1, '50%']) {
      const state = new RolloutState(canaryInput({ errorBudget }));
      start(state);
      state.recordStep({ region: 'centralus', seq: 1, step: 's', results: [result('c1', 'InstallFailed')] });
      expect(state.errorTally()).toMatchObject({ count: 1, exceeded: false });
      expect(state.summary()).toMatchObject({
        status: 'Halted',
        reason: 'error budget exceeded in phase 0: 1 error(s), at most 0 allowed: c1 InstallFailed',
        phaseErrors: { phase: 0, count: 1, allowed: 0 },
        failed: [{ name: 'c1', region: 'centralus', phase: 0, outcome: 'InstallFailed' }],
      });
      state.recordStep({ region: 'centralus', seq: 2, step: 'done', results: [], end: {} });
      state.finishPhase(at);
      expect(state.phases[0].status).toBe('Halted');
    }
  });

  test('a halt names the first ten failed machines and counts the rest; one that succeeds since is no longer named', () => {
    const state = new RolloutState(canaryInput({ errorBudget: '100%' }, 14));
    start(state);
    const results = Array.from({ length: 14 }, (_, i) => result(`c${i + 1}`, 'Unhealthy'));
    state.recordStep({ region: 'centralus', seq: 1, step: 's', results });
    expect(state.summary().reason).toBe(
      'error budget exceeded in phase 0: 14 error(s), at most 13 allowed: ' +
        'c1 Unhealthy, c2 Unhealthy, c3 Unhealthy, c4 Unhealthy, c5 Unhealthy, c6 Unhealthy, c7 Unhealthy, ' +
        'c8 Unhealthy, c9 Unhealthy, c10 Unhealthy and 4 more',
    );
    expect(state.summary().failed).toHaveLength(10);
    state.recordStep({
      region: 'centralus',
      seq: 2,
      step: 'retry',
      results: [{ ...result('c1', 'Succeeded'), attempt: 2, erredBefore: true }],
    });
    expect(state.summary().failed!.map((f) => f.name)).not.toContain('c1');
  });

  test('a pause shows Paused in every state: at a gate (an approval is recorded, still paused), between steps, baking', () => {
    const state = newState({ approvals: { beforePhases: [0], approvers: ['bob'] }, bakeMinutes: 30 });
    state.openGate(0);
    state.pause({ by: 'alice', reason: 'freeze' });
    expect(state.summary()).toMatchObject({ status: 'Paused' });
    expect(state.summary().waitingFor).toBe(
      'resume (paused by alice: freeze), then approval of gate "phase-0" (eastus)',
    );
    expect(state.decideGate('approve', { gate: 'phase-0', by: 'bob' }, at)).toEqual({ accepted: true });
    expect(state.closeGate(at)).toBe('run');
    expect(state.held()).toBe(true);
    expect(state.summary()).toMatchObject({ status: 'Paused' });
    expect(state.summary().gates.map((g) => g.decision)).toEqual(['approved']);
    // The phase starts its region with the hold already set: its first step waits.
    state.startPhase(0, at);
    const first = state.firstReply();
    expect(first).toEqual({ ack: 0, hold: 'paused: alice: freeze', stop: false });
    state.regionStarted('eastus', first);
    expect(state.takeReplies()).toEqual([]);
    expect(state.summary()).toMatchObject({ status: 'Paused' });
    state.resume({ by: 'alice' }, at);
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 0, hold: null, stop: false } }]);
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    state.recordStep(report(2, [['a2', 'Succeeded']]));
    state.recordStep(report(3, [['a3', 'Succeeded']], {}));
    state.finishPhase('2026-11-11T03:10:00.000Z');
    expect(state.baking()).toBe(true);
    expect(state.phases[0].status).toBe('Baking');
    expect(state.summary()).toMatchObject({ status: 'Running', baking: 'Baking phase 0 until 03:40Z' });
    state.pause({ by: 'alice' });
    expect(state.summary()).toMatchObject({ status: 'Paused', baking: 'Baking phase 0 until 03:40Z' });
    state.endBake();
    expect(state.phases[0].status).toBe('Succeeded');
    expect(state.summary()).toMatchObject({ status: 'Paused' });
    expect(state.held()).toBe(true);
  });

  test('health signals: a step waits for their answer; firing halts naming the alert, unreachable is inconclusive', () => {
    const prometheus = { url: 'http://prometheus:9090', alerts: ['HighErrorRate'] };
    const state = newState({ health: { prometheus } });
    start(state);
    state.recordStep(report(1, [['a1', 'Succeeded']]));
    expect(state.watch.due).toEqual(['eastus']);
    expect(state.takeReplies()).toEqual([]); // not acknowledged until the signals answer
    expect(state.watch.request(state.watch.due)).toMatchObject({ regions: ['eastus'], services: [] });
    state.recordSignals(['eastus'], { status: 'ok' });
    expect(state.takeReplies()).toEqual([{ region: 'eastus', reply: { ack: 1, hold: null, stop: false } }]);

    state.recordStep(report(2, [['a2', 'Succeeded']]));
    const firing = { name: 'HighErrorRate', labels: { region: 'eastus', service: 'web' } };
    state.recordSignals(['eastus'], { status: 'firing', firing: [firing], reason: '1 alert firing' });
    expect(state.summary()).toMatchObject({
      status: 'Halted',
      reason: 'health signal firing: HighErrorRate{region="eastus", service="web"} (1 alert firing)',
    });
    expect(state.takeReplies()[0].reply).toMatchObject({
      ack: 2,
      hold: expect.stringMatching(/^halted: health/),
    });

    const other = newState({ health: { prometheus } });
    start(other);
    other.recordStep(report(1, [['a1', 'Succeeded']]));
    other.recordSignals(['eastus'], { status: 'unreachable', reason: 'connect ECONNREFUSED' });
    expect(other.summary()).toMatchObject({
      status: 'Halted',
      reason: 'health signals unreachable: connect ECONNREFUSED',
      waitingFor: expect.stringContaining('(inconclusive: health signals unreachable'),
    });
  });

  test('carries itself across continue-as-new: the next run is the same state', () => {
    const state = newState({ errorBudget: 0 });
    start(state);
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
  | { kind: 'approve'; by: string }
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
  fc.record({ kind: fc.constant('approve' as const), by: fc.constantFrom('bob', 'carol') }),
  fc.constant({ kind: 'cancel' as const }),
);

/**
 * The workflow's moves, replayed on the state: the gate before phase 0 (approved by an operator), the phase
 * starting its region with the hold of the moment once the gate passed and nothing holds, the region's
 * reports after each step it was allowed to run, and operator commands at any time.
 */
test('no sequence of events lets a region start a step while the rollout is held, and a pause always shows (property)', () => {
  fc.assert(
    fc.property(
      fc.array(event, { maxLength: 30 }),
      fc.constantFrom(0, 1, 2),
      fc.boolean(),
      (events, budget, gated) => {
        const state = newState({
          errorBudget: budget,
          approvals: { beforePhases: gated ? [0] : [], approvers: ['alice', 'bob'], fourEyes: true },
        });
        type Stage = 'gate' | 'closed' | 'starting' | 'running';
        let stage = (state.openGate(0) ? 'gate' : 'closed') as Stage;
        let first: StepReply | undefined;
        // The region's view: the last reply it was sent (its input's first reply, then the signals). It may
        // start a step only when the reply holds nothing and, after a step that could halt the rollout (an
        // error: workflows/region-lane.ts), once its report is acknowledged; after a clean step the report
        // need only be delivered.
        let seen: StepReply = { ack: 0, hold: null, stop: false };
        let seq = 0;
        let mustAnswer = false;
        const mayStep = () =>
          stage === 'running' && seen.hold === null && !seen.stop && (!mustAnswer || seen.ack >= seq);
        const advance = () => {
          if (stage === 'gate' && state.gateSettled()) {
            stage = state.closeGate(at) === 'run' ? 'closed' : 'running';
            if (state.stopped || state.status === 'Rejected') seen = { ...seen, stop: true };
          }
          if (stage === 'starting' && first) {
            // The region's workflow now exists, started with the reply of the moment its start was issued.
            state.regionStarted('eastus', first);
            seen = first;
            stage = 'running';
          } else if (stage === 'starting') {
            // Its start is issued (events may have come since the phase started, and may come before it
            // exists): it starts holding whatever holds the rollout now.
            first = state.firstReply();
            expect(first.hold).toBe(state.hold());
          } else if (stage === 'closed' && !state.held() && !state.stopped) {
            state.startPhase(0, at);
            stage = 'starting';
          }
          const replies = state.takeReplies();
          // A reply to a region that does not exist yet is lost.
          if (stage === 'running')
            for (const r of replies) seen = { ...r.reply, ack: Math.max(seen.ack, r.reply.ack) };
        };
        advance();
        for (const e of events) {
          if (e.kind === 'report') {
            // A region reports only once started and allowed to run a step.
            if (!mayStep()) continue;
            state.recordStep(report(++seq, e.results));
            mustAnswer = e.results.some(([, o]) => countsAsError(o, false)); // attempt 1 of 3
          } else if (e.kind === 'pause') state.pause({ by: 'alice' });
          else if (e.kind === 'resume') state.resume({ by: e.by, override: e.override }, at);
          else if (e.kind === 'approve') state.decideGate('approve', { gate: 'phase-0', by: e.by }, at);
          else state.cancel({ by: 'bob' }, at);
          advance();
          const mayStart = mayStep();
          if (mayStart) expect(state.hold()).toBeNull();
          if (state.hold() !== null) expect(mayStart).toBe(false);
          // A pause shows wherever the rollout stands, unless a halt or cancel says more.
          if (state.paused && !state.stopped && state.status !== 'Halted' && !state.ended())
            expect(state.summary().status).toBe('Paused');
        }
      },
    ),
    { seed: 16, numRuns: 500 },
  );
});
