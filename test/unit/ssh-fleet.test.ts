import { readSlice } from '../../store/spec-store';
import { parseFleet } from '../../domain/fleet';
import { SshDriver } from '../../activities/drivers/ssh';
import { SimulatedDriver } from '../../activities/drivers/simulated';
import { fleetDrivers, simulatedDrivers } from '../../worker/worker';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

const pin = 'SHA256:+exO+IUtWDojpVKCdRLxCWnKo5Mnnwk0hFlQrG4UkUw';
const ssh = {
  host: 'web-1.dc1.example',
  user: 'offpeak',
  keyRef: { path: '/etc/offpeak/id_ed25519' },
  hostKeySha256: pin,
};

test('an ssh machine: driver ssh with its settings; the port defaults to 22', () => {
  const parsed = parseFleet({ machines: [vm('web-1', { driver: 'ssh', ssh }), vm('sim-1')] });
  expect(parsed.ok && parsed.value.machines.map((m) => [m.driver, m.ssh])).toEqual([
    ['ssh', { ...ssh, port: 22 }],
    ['simulated', undefined],
  ]);
});

test('ssh settings are present exactly with driver ssh, Linux only, strict, and never hold key material', () => {
  const parsed = parseFleet({
    machines: [
      vm('a', { driver: 'ssh' }),
      vm('b', { ssh }),
      vm('c', { driver: 'ssh', os: 'Windows', ssh }),
      vm('d', {
        driver: 'ssh',
        ssh: { ...ssh, keyRef: { path: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n' } },
      }),
      vm('e', { driver: 'ssh', ssh: { ...ssh, hostKeySha256: 'aa:bb:cc' } }),
      vm('f', { driver: 'ssh', ssh: { ...ssh, password: 'hunter2' } }),
      vm('g', { driver: 'ssh', ssh: { ...ssh, keyRef: { env: 'OFFPEAK KEY' } } }),
      vm('h', { driver: 'ssh', ssh: { ...ssh, user: 'root; id', port: 70000 } }),
      vm('i', { driver: 'ssh', ssh: { ...ssh, host: '-oProxyCommand=sh' } }),
      vm('j', { driver: 'telnet' }),
    ],
  });
  expect(parsed.ok).toBe(false);
  const problems = parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
  const at = (path: string) => problems.filter((p) => p.startsWith(`${path}:`));
  expect(at('machines[0].ssh')).toEqual(['machines[0].ssh: is required with driver "ssh"']);
  expect(at('machines[1].ssh')).toEqual(['machines[1].ssh: is only valid with driver "ssh"']);
  expect(at('machines[2].os')).toEqual(['machines[2].os: the ssh driver patches Linux machines only']);
  expect(problems.some((p) => p.startsWith('machines[3].ssh.keyRef'))).toBe(true);
  expect(at('machines[4].ssh.hostKeySha256')).toHaveLength(1);
  expect(problems.some((p) => p.startsWith('machines[5].ssh') && /password/.test(p))).toBe(true);
  expect(problems.some((p) => p.startsWith('machines[6].ssh.keyRef'))).toBe(true);
  expect(at('machines[7].ssh.user')).toHaveLength(1);
  expect(at('machines[7].ssh.port')).toHaveLength(1);
  expect(at('machines[8].ssh.host')).toHaveLength(1);
  expect(at('machines[9].driver')).toHaveLength(1);
});

test('the rollout input carries the key reference and pin, never key material; the worker picks the ssh driver', () => {
  const input = rolloutInputOf({
    rolloutId: 'r',
    fleet: {
      machines: [
        vm('web-1', { driver: 'ssh', ssh: { ...ssh, keyRef: { env: 'OFFPEAK_SSH_KEY' } }, site: 'dc1' }),
        vm('sim-1'),
      ],
    },
    policy: { windows: 'always' },
    now: new Date('2025-06-10T12:00:00Z'),
  });
  const machines = input.regions.flatMap((r) => r.slices.flatMap((ref) => readSlice('', ref).machines));
  const web = machines.find((m) => m.name === 'web-1')!;
  expect(web.ssh).toEqual({ ...ssh, port: 22, keyRef: { env: 'OFFPEAK_SSH_KEY' } });
  expect(web.taskQueue).toBe('offpeak-site-dc1');
  expect(machines.find((m) => m.name === 'sim-1')!.ssh).toBeUndefined();

  const drivers = fleetDrivers(simulatedDrivers(tempDir('ssh-fleet'), 0));
  const webDriver = drivers.forMachine(web);
  expect(webDriver).toBeInstanceOf(SshDriver);
  expect(drivers.forMachine(web)).toBe(webDriver);
  expect(drivers.forMachine({ ...web, ssh: { ...web.ssh!, port: 2222 } })).not.toBe(webDriver);
  expect(drivers.forMachine(machines.find((m) => m.name === 'sim-1')!)).toBeInstanceOf(SimulatedDriver);
});

test('a key reference that cannot be resolved is reported without connecting anywhere', async () => {
  const target = { name: 'web-1', os: 'Linux' as const, operation: { id: 'op', attempt: 1 } };
  const fromEnv = new SshDriver({ ...ssh, port: 22, keyRef: { env: 'OFFPEAK_TEST_UNSET_KEY' } }, { env: {} });
  await expect(fromEnv.bootId(target)).rejects.toMatchObject({
    kind: 'Unreachable',
    message: expect.stringContaining('OFFPEAK_TEST_UNSET_KEY'),
  });
  const fromPath = new SshDriver({ ...ssh, port: 22, keyRef: { path: '/nonexistent/offpeak-key' } });
  await expect(fromPath.bootId(target)).rejects.toMatchObject({
    kind: 'Unreachable',
    message: expect.stringContaining('/nonexistent/offpeak-key'),
  });
});
