import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * OpenSSH public keys and signatures in the `sshsig` format (`ssh-keygen -Y sign -n NAMESPACE`), checked
 * with Node's crypto: the format is OpenSSH's PROTOCOL.sshsig. Pure and deterministic; used by the
 * activity that verifies operators' decisions and by the CLI. Not for workflow code (node:crypto).
 */

export const SSHSIG_NAMESPACE = 'offpeak';
/** Key types this module verifies; others are refused by name. */
export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;

export interface SshPublicKey {
  type: string;
  /** The key's wire blob, as in `authorized_keys` (base64-decoded). */
  blob: Buffer;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Reads SSH wire-format strings (uint32 length, then bytes) from a buffer. */
class WireReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const length = this.buf.readUInt32BE(this.at);
    this.at += 4;
    if (this.at + length > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  uint32(): number {
    if (this.at + 4 > this.buf.length) throw new Error('truncated');
    const n = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }

  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  get done(): boolean {
    return this.at === this.buf.length;
  }
}

const wireString = (data: Buffer | string): Buffer => {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

export const fingerprintOf = (blob: Buffer): string =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

/** Parses one `authorized_keys`-style line: `TYPE BASE64 [comment]`. */
export function parsePublicKey(line: string): Checked<SshPublicKey> {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64)
    return { ok: false, reason: 'must be an OpenSSH public key such as "ssh-ed25519 AAAA…"' };
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type))
    return {
      ok: false,
      reason: `key type "${type.slice(0, 40)}" is not supported (use ${SSH_KEY_TYPES.join(', ')})`,
    };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return { ok: false, reason: 'the key is not valid base64' };
  const blob = Buffer.from(base64, 'base64');
  try {
    const inner = new WireReader(blob).string().toString('utf8');
    if (inner !== type)
      return { ok: false, reason: `the key says "${type}" but holds a "${inner.slice(0, 40)}" key` };
    keyObjectOf(blob);
  } catch {
    return { ok: false, reason: 'the key is truncated or malformed' };
  }
  return { ok: true, value: { type, blob, fingerprint: fingerprintOf(blob) } };
}

const base64url = (b: Buffer): string => b.toString('base64url');
/** An SSH mpint without its sign byte. */
const unsigned = (b: Buffer): Buffer => (b.length > 1 && b[0] === 0 ? b.subarray(1) : b);

const CURVES: Record<string, { jwk: string; size: number; hash: string }> = {
  nistp256: { jwk: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { jwk: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { jwk: 'P-521', size: 66, hash: 'sha512' },
};

/** The Node key for an SSH public key blob. */
function keyObjectOf(blob: Buffer): KeyObject {
  const r = new WireReader(blob);
  const type = r.string().toString('utf8');
  if (type === 'ssh-ed25519') {
    const x = r.string();
    if (x.length !== 32) throw new Error('bad ed25519 key');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(x) }, format: 'jwk' });
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = CURVES[r.string().toString('utf8')];
    const point = r.string();
    if (!curve || point[0] !== 4 || point.length !== 1 + 2 * curve.size) throw new Error('bad ecdsa key');
    const x = point.subarray(1, 1 + curve.size);
    const y = point.subarray(1 + curve.size);
    return createPublicKey({
      key: { kty: 'EC', crv: curve.jwk, x: base64url(x), y: base64url(y) },
      format: 'jwk',
    });
  }
  if (type === 'ssh-rsa') {
    const e = unsigned(r.string());
    const n = unsigned(r.string());
    return createPublicKey({ key: { kty: 'RSA', n: base64url(n), e: base64url(e) }, format: 'jwk' });
  }
  throw new Error(`unsupported key type ${type}`);
}

export interface SshSignature {
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: string;
  signatureType: string;
  signature: Buffer;
}

/** Parses an armored `-----BEGIN SSH SIGNATURE-----` block. */
export function parseSignature(armored: string): Checked<SshSignature> {
  const match = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!match) return { ok: false, reason: 'not an SSH signature (no BEGIN/END SSH SIGNATURE armor)' };
  const body = match[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return { ok: false, reason: 'the signature is not valid base64' };
  try {
    const r = new WireReader(Buffer.from(body, 'base64'));
    if (r.bytes(6).toString('latin1') !== 'SSHSIG') return { ok: false, reason: 'not an sshsig signature' };
    const version = r.uint32();
    if (version !== 1) return { ok: false, reason: `sshsig version ${version} is not supported` };
    const publicKey = Buffer.from(r.string());
    const namespace = r.string().toString('utf8');
    r.string(); // reserved
    const hashAlgorithm = r.string().toString('utf8');
    const inner = new WireReader(r.string());
    const signatureType = inner.string().toString('utf8');
    const signature = Buffer.from(inner.string());
    if (!r.done) return { ok: false, reason: 'the signature has trailing data' };
    return { ok: true, value: { publicKey, namespace, hashAlgorithm, signatureType, signature } };
  } catch {
    return { ok: false, reason: 'the signature is truncated or malformed' };
  }
}

/** The blob sshsig signs: the namespace, the hash algorithm and the message's hash. */
function signedData(message: string, namespace: string, hashAlgorithm: string): Buffer {
  const digest = createHash(hashAlgorithm).update(message, 'utf8').digest();
  return Buffer.concat([
    Buffer.from('SSHSIG', 'latin1'),
    wireString(namespace),
    wireString(''),
    wireString(hashAlgorithm),
    wireString(digest),
  ]);
}

/** Checks the raw signature over `data` with the key, as OpenSSH does for each key type. */
function signatureHolds(sig: SshSignature, data: Buffer): boolean {
  const key = keyObjectOf(sig.publicKey);
  const keyType = new WireReader(sig.publicKey).string().toString('utf8');
  if (keyType === 'ssh-ed25519')
    return sig.signatureType === 'ssh-ed25519' && verify(null, data, key, sig.signature);
  if (keyType === 'ssh-rsa') {
    const hash = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' }[sig.signatureType];
    return hash !== undefined && verify(hash, data, key, sig.signature);
  }
  if (sig.signatureType !== keyType) return false;
  // ECDSA: the signature is two mpints (r, s); Node takes them as fixed-size r || s.
  const curve = CURVES[keyType.slice('ecdsa-sha2-'.length)];
  const r = new WireReader(sig.signature);
  const pad = (b: Buffer) => {
    const v = unsigned(b);
    if (v.length > curve.size) throw new Error('bad ecdsa signature');
    return Buffer.concat([Buffer.alloc(curve.size - v.length), v]);
  };
  const rs = Buffer.concat([pad(r.string()), pad(r.string())]);
  return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, rs);
}

/**
 * Verifies an armored sshsig over `message` in `namespace`, made by one of `keys`. Returns the key that
 * signed, or why the signature does not hold. Never throws on hostile input.
 */
export function verifySshSignature(
  message: string,
  armored: string,
  keys: readonly SshPublicKey[],
  namespace = SSHSIG_NAMESPACE,
): Checked<SshPublicKey> {
  const parsed = parseSignature(armored);
  if (!parsed.ok) return parsed;
  const sig = parsed.value;
  if (sig.namespace !== namespace)
    return { ok: false, reason: `signed for namespace "${sig.namespace.slice(0, 40)}", not "${namespace}"` };
  if (sig.hashAlgorithm !== 'sha512' && sig.hashAlgorithm !== 'sha256')
    return { ok: false, reason: `hash algorithm "${sig.hashAlgorithm.slice(0, 40)}" is not allowed` };
  const key = keys.find((k) => k.blob.equals(sig.publicKey));
  if (!key)
    return { ok: false, reason: `signed by key ${fingerprintOf(sig.publicKey)}, which is not an approver's` };
  try {
    if (signatureHolds(sig, signedData(message, namespace, sig.hashAlgorithm)))
      return { ok: true, value: key };
  } catch {
    // A malformed signature blob is a signature that does not hold.
  }
  return { ok: false, reason: `the signature by ${key.fingerprint} does not match this decision` };
}
