import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { signDecision } from '../../client/sign';
import { approveUpdate, cancelUpdate } from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import {
  driversOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  withWorker,
} from '../support/workflow-harness';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
timeSkippingServer('test', (e) => (env = e));

/** Real keys: ssh-keygen makes them, the CLI's signer signs with them, the rollout's activity verifies. */
const keys = tempDir('keys');
function keygen(name: string): { path: string; pub: string } {
  const path = join(keys, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}
const alice = keygen('alice');
const carol = keygen('carol');
const mallory = keygen('mallory');

const fleet = { machines: [vm('a1', { zone: '1' }), vm('w1', { region: 'westus' })] };
const policy = {
  windows: 'always',
  approvals: {
    beforePhases: [0],
    approvers: [
      { name: 'alice', key: alice.pub },
      { name: 'carol', key: carol.pub },
    ],
    fourEyes: true,
  },
};

test('with keyed approvers, unsigned, wrong-key, replayed and self-approvals are refused and recorded; a signed approval runs', async () => {
  const rolloutId = 'signed-gate';
  const input = rolloutInputOf({ rolloutId, startedBy: 'carol', fleet, policy, now: new Date() });
  const gate = { gate: 'phase-0', by: 'alice', identity: 'test@runner' };
  const report = await withWorker(env, driversOf({ stateDir: tempDir('signed') }), async () => {
    const handle = await startRollout(env, input);
    await waitForStatus(handle, (r) => r.openGate === 'phase-0', 'gate phase-0 open');
    const refused = async (req: object) => {
      const d = await steer(handle, approveUpdate, { ...gate, ...req });
      expect(d.accepted).toBe(false);
      return d.reason;
    };
    expect(await refused({})).toContain("approve needs a signature by an approver's key");
    const impostor = await signDecision(
      { rollout: rolloutId, action: 'approve', gate: 'phase-0', by: 'alice' },
      mallory.path,
    );
    expect(await refused({ signed: impostor })).toContain("which is not an approver's");
    const self = await signDecision(
      { rollout: rolloutId, action: 'approve', gate: 'phase-0', by: 'carol' },
      carol.path,
    );
    expect(await refused({ by: 'carol', signed: self })).toContain('four eyes');
    const otherGate = await signDecision(
      { rollout: rolloutId, action: 'approve', gate: 'phase-1', by: 'alice' },
      alice.path,
    );
    expect(await refused({ signed: otherGate })).toContain('does not match this decision');
    // An unsigned cancel by a stranger does not stop the rollout.
    expect((await steer(handle, cancelUpdate, { by: 'mallory' })).accepted).toBe(false);

    const good = await signDecision(
      { rollout: rolloutId, action: 'approve', gate: 'phase-0', by: 'alice' },
      alice.path,
    );
    expect(await steer(handle, approveUpdate, { ...gate, signed: good })).toEqual({ accepted: true });
    expect(await refused({ signed: good })).toContain('was used before (a replay)');
    return rolloutResult(env, handle);
  });
  expect(report.status).toBe('Completed');
  expect(report.gates.map((g) => [g.decision, g.by, g.key !== undefined, g.identity])).toEqual([
    ['refused', 'alice', false, 'test@runner'],
    ['refused', 'alice', false, 'test@runner'],
    ['refused', 'carol', true, 'test@runner'],
    ['refused', 'alice', false, 'test@runner'],
    ['refused', 'mallory', false, undefined],
    ['approved', 'alice', true, 'test@runner'],
    ['refused', 'alice', true, 'test@runner'],
  ]);
});
