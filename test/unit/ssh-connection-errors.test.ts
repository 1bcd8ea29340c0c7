import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { SshSession } from '../../activities/drivers/ssh/connection';

/**
 * A host that takes the TCP connection and never answers the handshake (a machine half-way through its
 * reboot): ssh2 reports the handshake's timeout, and then the connection lost before the handshake. Seen
 * in CI: the second error had no listener and failed the run as an unhandled 'error'.
 */
test('a host silent through the handshake, then gone, fails the open once and leaves no error unhandled', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  try {
    const opened = SshSession.open(
      { host: '127.0.0.1', port, user: 'offpeak', privateKey, hostKeySha256: 'SHA256:none' },
      { readyTimeoutMs: 200 },
    );
    await expect(opened).rejects.toThrow(/Timed out while waiting for handshake/);
    // The host goes away now: its side of the connection closes, and ssh2 notices.
    const closed = sockets.map((s) => new Promise((resolve) => s.once('close', resolve)));
    for (const s of sockets) s.destroy();
    await Promise.all(closed);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
