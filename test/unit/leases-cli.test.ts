import { leaseRows } from '../../client/commands/leases';
import type { LeaseView } from '../../workflows/messages';

const lease = (over: Partial<LeaseView>): LeaseView => ({
  machineCount: (over.machines ?? 'abcdef').length,
  leaseId: 'offpeak/nov-2026/eastus/round-1/slice-0/step-2',
  rolloutId: 'nov-2026',
  region: 'eastus',
  step: 'zone 2 batch 1/3',
  holder: 'offpeak/nov-2026/eastus',
  unsafe: false,
  machines: ['a', 'b', 'c', 'd', 'e', 'f'],
  askedAt: '2026-11-12T01:00:00.000Z',
  ...over,
});

test('offpeak leases lists held, then waiting with what each waits for, then freed leases', () => {
  const rows = leaseRows({
    held: [lease({ grantedAt: '2026-11-12T01:00:01.000Z' })],
    waiting: [
      lease({
        rolloutId: 'install-1',
        unsafe: true,
        machines: ['g'],
        waitingFor: 'eastus zone 2 is held by rollout nov-2026 (zone 2 batch 1/3)',
      }),
    ],
    expired: [lease({ rolloutId: 'gone' })],
  });
  expect(rows.map((r) => [r[0], r[1], r[4], r[5], r[6], r[7], r[8]])).toEqual([
    ['held', 'nov-2026', 'no', 6, 'a b c d e ...', '2026-11-12T01:00:01.000Z', ''],
    [
      'waiting',
      'install-1',
      'yes',
      1,
      'g',
      '2026-11-12T01:00:00.000Z',
      'eastus zone 2 is held by rollout nov-2026 (zone 2 batch 1/3)',
    ],
    ['freed (holder gone)', 'gone', 'no', 6, 'a b c d e ...', '2026-11-12T01:00:00.000Z', ''],
  ]);
});

test("a lease held beside its lane's running step says it is the next one, not a second step down", () => {
  const running = lease({ grantedAt: '2026-11-12T01:00:01.000Z' });
  const next = lease({
    leaseId: `${running.leaseId}/ahead`,
    step: 'zone 3 batch 1/3',
    grantedAt: '2026-11-12T01:00:02.000Z',
    follows: running.leaseId,
  });
  // Once the step it follows is released, it is the lane's running step: an ordinary held lease.
  const alone = lease({ ...next, leaseId: 'other', follows: 'a step released since' });
  const rows = leaseRows({ held: [running, next, alone], waiting: [], expired: [] });
  expect(rows.map((r) => [r[0], r[3], r[8]])).toEqual([
    ['held', 'zone 2 batch 1/3', ''],
    ['held (next)', 'zone 3 batch 1/3', 'follows "zone 2 batch 1/3"'],
    ['held', 'zone 3 batch 1/3', ''],
  ]);
});
