import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { decisionStatement, type DecisionStatement, type SignedProof } from '../domain/signed-decision';
import { SSHSIG_NAMESPACE } from '../domain/sshsig';
import { UsageError } from './errors';

/**
 * Signs an operator's decision with OpenSSH's own tool, `ssh-keygen -Y sign -n offpeak`, so the key never
 * passes through Offpeak: `PATH` is a private key file, or a public key whose private half ssh-agent
 * holds (ssh-keygen asks the agent then). Anyone can check the result with `ssh-keygen -Y verify`.
 */
export async function signDecision(
  decision: Omit<DecisionStatement, 'at' | 'nonce'>,
  keyPath: string,
  now = new Date(),
): Promise<SignedProof> {
  if (!existsSync(keyPath)) throw UsageError.of('--sign-with', `no such file: ${keyPath}`);
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const nonce = randomBytes(16).toString('hex');
  const signature = await sshKeygenSign(decisionStatement({ ...decision, at, nonce }), keyPath);
  return { at, nonce, signature };
}

function sshKeygenSign(message: string, keyPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', ['-q', '-Y', 'sign', '-n', SSHSIG_NAMESPACE, '-f', keyPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? UsageError.of('--sign-with', 'signing needs ssh-keygen (OpenSSH 8.1 or later) on the PATH')
          : e,
      ),
    );
    child.on('close', (code) => {
      if (code === 0 && out.includes('BEGIN SSH SIGNATURE')) resolve(out.trim());
      else
        reject(
          UsageError.of(
            '--sign-with',
            `ssh-keygen could not sign with ${keyPath}: ${err.trim().split('\n').pop() || `exit ${code}`}`,
          ),
        );
    });
    child.stdin.end(message);
  });
}
