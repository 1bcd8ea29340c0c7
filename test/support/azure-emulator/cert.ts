import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway self-signed certificate for 127.0.0.1, made with openssl for each emulator: the SDK
 * sends bearer tokens only over TLS, so the emulator speaks HTTPS like ARM does.
 */
export function selfSignedCert(): { key: string; cert: string; certPath: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'offpeak-azure-emulator-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const config = join(dir, 'openssl.cnf');
  writeFileSync(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ext',
      'prompt = no',
      '[dn]',
      'CN = 127.0.0.1',
      '[ext]',
      'subjectAltName = IP:127.0.0.1',
      'basicConstraints = critical,CA:TRUE',
      '',
    ].join('\n'),
  );
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-config',
      config,
    ],
    { stdio: 'ignore' },
  );
  const out = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath, dir };
  rmSync(keyPath);
  return out;
}
