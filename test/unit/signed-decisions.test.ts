import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDecision } from '../../client/sign';
import { verifyDecision, fingerprintsOf, type KeyedApprover } from '../../domain/decision-verification';
import { decisionStatement, signedProofProblems } from '../../domain/signed-decision';
import { parsePublicKey, verifySshSignature } from '../../domain/sshsig';
import { parsePolicy } from '../../domain/policy';

/** Real OpenSSH keys and signatures: made by ssh-keygen, checked by our verifier and by ssh-keygen itself. */
const dir = mkdtempSync(join(tmpdir(), 'offpeak-sshsig-'));
function keygen(name: string, type: string, bits?: number): { path: string; pub: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    '',
    '-C',
    name,
    '-f',
    path,
  ]);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}
const alice = keygen('alice', 'ed25519');
const bob = keygen('bob', 'ecdsa', 256);
const carol = keygen('carol', 'rsa', 2048);
const mallory = keygen('mallory', 'ed25519');
const approvers: KeyedApprover[] = [
  { name: 'alice', key: alice.pub },
  { name: 'bob', key: bob.pub },
  { name: 'carol', key: carol.pub },
];
const decision = { rollout: 'offpeak-2026-12', action: 'approve' as const, gate: 'phase-1' };
const now = new Date('2026-12-01T10:00:00Z');

describe('signed decisions', () => {
  it.each([
    ['alice', alice],
    ['bob', bob],
    ['carol', carol],
  ])('a decision signed by %s verifies, in our verifier and in ssh-keygen -Y verify', async (name, key) => {
    const proof = await signDecision({ ...decision, by: name }, key.path, now);
    expect(signedProofProblems(proof, 'signed')).toEqual([]);
    const statement = { ...decision, by: name, at: proof.at, nonce: proof.nonce };
    const verdict = verifyDecision({
      statement,
      signature: proof.signature,
      approvers,
      now: now.getTime(),
      startedBy: 'dave',
    });
    expect(verdict).toEqual({
      verified: true,
      approver: name,
      fingerprint: fingerprintsOf(name, approvers)[0],
      startersKey: false,
    });

    const signers = join(dir, 'allowed_signers');
    writeFileSync(signers, approvers.map((a) => `${a.name} ${a.key}`).join('\n') + '\n');
    const sig = join(dir, `${name}.sig`);
    writeFileSync(sig, proof.signature + '\n');
    const out = execFileSync(
      'ssh-keygen',
      ['-Y', 'verify', '-f', signers, '-I', name, '-n', 'offpeak', '-s', sig],
      { input: decisionStatement(statement) },
    ).toString();
    expect(out).toContain(`Good "offpeak" signature for ${name}`);
  });

  it('refuses a statement changed after signing (another gate, decision or rollout)', async () => {
    const proof = await signDecision({ ...decision, by: 'alice' }, alice.path, now);
    const base = { ...decision, by: 'alice', at: proof.at, nonce: proof.nonce };
    for (const changed of [
      { ...base, gate: 'phase-2' },
      { ...base, action: 'reject' as const },
      { ...base, rollout: 'offpeak-2027-01' },
      { ...base, nonce: 'f'.repeat(32) },
    ]) {
      const verdict = verifyDecision({
        statement: changed,
        signature: proof.signature,
        approvers,
        now: now.getTime(),
        startedBy: 'dave',
      });
      expect(verdict).toEqual({
        verified: false,
        reason: expect.stringContaining('does not match this decision'),
      });
    }
  });

  it("refuses a key that is not an approver's, and a key sent under another name", async () => {
    const impostor = await signDecision({ ...decision, by: 'alice' }, mallory.path, now);
    const asAlice = { ...decision, by: 'alice', at: impostor.at, nonce: impostor.nonce };
    expect(
      verifyDecision({
        statement: asAlice,
        signature: impostor.signature,
        approvers,
        now: now.getTime(),
        startedBy: 'dave',
      }),
    ).toEqual({
      verified: false,
      reason: expect.stringContaining("which is not an approver's"),
    });
    const bobsKey = await signDecision({ ...decision, by: 'alice' }, bob.path, now);
    const claimed = { ...decision, by: 'alice', at: bobsKey.at, nonce: bobsKey.nonce };
    expect(
      verifyDecision({
        statement: claimed,
        signature: bobsKey.signature,
        approvers,
        now: now.getTime(),
        startedBy: 'dave',
      }),
    ).toEqual({
      verified: false,
      reason: expect.stringContaining(`signed with bob's key`),
    });
  });

  it('refuses a signature made too far from the rollout clock, and another namespace', async () => {
    const proof = await signDecision({ ...decision, by: 'alice' }, alice.path, now);
    const statement = { ...decision, by: 'alice', at: proof.at, nonce: proof.nonce };
    const later = now.getTime() + 11 * 60_000;
    expect(
      verifyDecision({ statement, signature: proof.signature, approvers, now: later, startedBy: 'dave' }),
    ).toEqual({
      verified: false,
      reason: expect.stringContaining('more than 10 minutes'),
    });
    const other = execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'git', '-f', alice.path], {
      input: decisionStatement(statement),
    }).toString();
    const key = parsePublicKey(alice.pub);
    if (!key.ok) throw new Error(key.reason);
    expect(verifySshSignature(decisionStatement(statement), other, [key.value])).toEqual({
      ok: false,
      reason: 'signed for namespace "git", not "offpeak"',
    });
  });

  it('never throws on hostile signatures and keys', () => {
    const statement = { ...decision, by: 'alice', at: '2026-12-01T10:00:00Z', nonce: '0'.repeat(32) };
    const hostile = [
      '',
      'garbage',
      '-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----',
      '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----',
      `-----BEGIN SSH SIGNATURE-----\n${Buffer.alloc(300, 0xff).toString('base64')}\n-----END SSH SIGNATURE-----`,
    ];
    for (const signature of hostile)
      expect(
        verifyDecision({ statement, signature, approvers, now: now.getTime(), startedBy: 'dave' }),
      ).toMatchObject({ verified: false });
    for (const key of [
      '',
      'ssh-ed25519',
      'ssh-dss AAAA',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==',
      'ssh-rsa %%%',
    ])
      expect(parsePublicKey(key)).toMatchObject({ ok: false });
    expect(
      signedProofProblems({ at: 'yesterday', nonce: 'x', signature: 'y'.repeat(5000), extra: 1 }, 'signed'),
    ).toEqual([
      { path: 'signed.extra', message: 'is not a field of a signature' },
      { path: 'signed.at', message: 'must be an ISO-8601 UTC time such as 2026-12-01T10:00:00Z' },
      { path: 'signed.nonce', message: 'must be 32 lowercase hex digits' },
      { path: 'signed.signature', message: 'must be at most 4096 bytes' },
    ]);
  });
});

describe('keyed approvers in the policy', () => {
  it('accepts keys, marks the starter’s key, and refuses bad keys and mixed lists by field', async () => {
    const ok = parsePolicy({ approvals: { approvers: [{ name: 'alice', key: alice.pub }] } });
    expect(ok.ok).toBe(true);
    const proof = await signDecision({ ...decision, by: 'alice' }, alice.path, now);
    const statement = { ...decision, by: 'alice', at: proof.at, nonce: proof.nonce };
    const verdict = verifyDecision({
      statement,
      signature: proof.signature,
      approvers,
      now: now.getTime(),
      startedBy: 'alice',
    });
    expect(verdict).toMatchObject({ verified: true, startersKey: true });

    const bad = parsePolicy({ approvals: { approvers: [{ name: 'alice', key: 'ssh-dss AAAAB3' }] } });
    expect(bad).toEqual({
      ok: false,
      problems: [
        {
          path: 'approvals.approvers[0].key',
          message: expect.stringContaining('"ssh-dss" is not supported'),
        },
      ],
    });
    const mixed = parsePolicy({ approvals: { approvers: ['bob', { name: 'alice', key: alice.pub }] } });
    expect(mixed).toEqual({
      ok: false,
      problems: [
        {
          path: 'approvals.approvers',
          message: expect.stringContaining('give every approver a key, or none'),
        },
      ],
    });
  });
});
