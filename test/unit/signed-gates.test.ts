import type { Authentication, DecisionVerdict } from '../../domain/signed-decision';
import { RolloutState } from '../../workflows/rollout-state';
import { rolloutInputOf, vm } from '../support/rollouts';

/**
 * The rollout's judgement of authenticated decisions, without a server: the verdicts are what the
 * verifying activity returns (test/unit/signed-decisions.test.ts checks those against real ssh-keygen
 * signatures; test/workflows/signed-approvals.test.ts runs the whole path).
 */
/** Two public keys made by ssh-keygen (their private halves are not needed here). */
const ALICE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4wvCTDUT1yUQFn1jgZ0q0yqHvSBYkPUdKpxtuJ+XZl alice';
const CAROL = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMBha9bKdjKdWYgPZikNWW8hPQbvSic+oyGgEF9SBIAW carol';
function keyedState(fourEyes = true) {
  return new RolloutState(
    rolloutInputOf({
      rolloutId: 'r',
      startedBy: 'carol',
      fleet: { machines: [vm('a1'), vm('w1', { region: 'westus' })] },
      policy: {
        windows: 'always',
        phases: [['eastus'], ['westus']],
        approvals: {
          beforePhases: [0],
          approvers: [
            { name: 'alice', key: ALICE },
            { name: 'carol', key: CAROL },
          ],
          fourEyes,
        },
      },
      now: new Date('2026-11-11T00:00:00Z'),
    }),
  );
}
const at = '2026-11-11T01:00:00.000Z';
const verified = (approver: string, startersKey = false): DecisionVerdict => ({
  verified: true,
  approver,
  fingerprint: `SHA256:${approver}`,
  startersKey,
});
const signed = (nonce: string, verdict: DecisionVerdict): Authentication => ({
  required: true,
  signed: { nonce, at, verdict },
});

describe('signed decisions in the rollout state', () => {
  test('unsigned, wrong-key, replayed and self-approvals are refused and recorded; a signed approval runs', () => {
    const state = keyedState();
    state.openGate(0);
    const gate = { gate: 'phase-0', by: 'alice', identity: '42@ops-laptop' };
    expect(state.decideGate('approve', gate, at, { required: true })).toEqual({
      accepted: false,
      reason: "approve needs a signature by an approver's key (--sign-with KEY): approvers have keys",
    });
    const wrong: DecisionVerdict = {
      verified: false,
      reason: "signed by key SHA256:x, which is not an approver's",
    };
    expect(state.decideGate('approve', gate, at, signed('1'.repeat(32), wrong)).reason).toBe(
      "signature refused: signed by key SHA256:x, which is not an approver's",
    );
    const self = signed('2'.repeat(32), verified('carol', true));
    expect(state.decideGate('approve', { ...gate, by: 'carol' }, at, self).reason).toContain('four eyes');
    const good = signed('3'.repeat(32), verified('alice'));
    expect(state.decideGate('approve', gate, at, good)).toEqual({ accepted: true });
    expect(state.closeGate(at)).toBe('run');
    // The same signature again: a replay, refused even where a gate would be open.
    state.openGate(1);
    expect(state.decideGate('approve', { ...gate, gate: 'phase-1' }, at, good).reason).toBe(
      `signature refused: nonce ${'3'.repeat(32)} was used before (a replay)`,
    );
    expect(state.summary().gates.map((g) => [g.decision, g.by, g.key, g.identity])).toEqual([
      ['refused', 'alice', undefined, '42@ops-laptop'],
      ['refused', 'alice', undefined, '42@ops-laptop'],
      ['refused', 'carol', 'SHA256:carol', '42@ops-laptop'],
      ['approved', 'alice', 'SHA256:alice', '42@ops-laptop'],
      ['refused', 'alice', 'SHA256:alice', '42@ops-laptop'],
    ]);
  });

  test('cancel and override need an approver, signed; the nonces survive continue-as-new', () => {
    const state = keyedState(false);
    state.startPhase(0, at);
    expect(state.cancel({ by: 'mallory' }, at).accepted).toBe(false);
    expect(state.cancel({ by: 'alice' }, at, { required: true }).accepted).toBe(false);
    expect(state.stopped).toBe(false);
    const nonce = '4'.repeat(32);
    const carried = new RolloutState(state.input, state.carry());
    expect(carried.log.seen(nonce)).toBe(false);
    expect(carried.cancel({ by: 'alice' }, at, signed(nonce, verified('alice')))).toEqual({ accepted: true });
    expect(new RolloutState(state.input, carried.carry()).log.seen(nonce)).toBe(true);
  });

  test('without keys, names are taken as given (unauthenticated)', () => {
    const state = new RolloutState(
      rolloutInputOf({
        rolloutId: 'r',
        startedBy: 'carol',
        fleet: { machines: [vm('a1')] },
        policy: { windows: 'always', approvals: { beforePhases: [0], approvers: ['alice'] } },
        now: new Date('2026-11-11T00:00:00Z'),
      }),
    );
    state.openGate(0);
    expect(state.decideGate('approve', { gate: 'phase-0', by: 'alice' }, at)).toEqual({ accepted: true });
  });
});
