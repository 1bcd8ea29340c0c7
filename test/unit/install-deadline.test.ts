import { installInput } from '../../client/commands/install';
import { UsageError } from '../../client/errors';
import { buildRolloutInput } from '../../domain/rollout-spec';
import { MAX_BATCH_MACHINES, planRollout } from '../../domain/planner';
import { inlineSpecOf } from '../../domain/spec-slices';
import { fleetOf, policyOf } from '../support/rollouts';

const DAY = 86_400_000;
const fleet = fleetOf({
  machines: [{ name: 'a', region: 'eastus', os: 'Linux', patchMode: 'AutomaticByPlatform' }],
});

describe('deadlines of rollouts and on-demand installs', () => {
  // 2026-12-14: November's release (2026-11-10) has its deadline on 2026-12-10, already passed.
  const now = new Date('2026-12-07T12:00:00Z');
  const late = new Date('2026-12-14T12:00:00Z');

  it("a rollout keeps its release's deadline, however late it starts", () => {
    const policy = policyOf({ month: '2026-11' });
    const plan = planRollout(fleet, policy);
    if (!plan.ok) throw new Error('unexpected');
    for (const at of [now, late]) {
      const input = buildRolloutInput({
        rolloutId: 'r',
        startedBy: 't',
        fleet,
        policy,
        plan: plan.value,
        now: at,
      });
      expect(new Date(input.settings.deadline).toISOString()).toBe('2026-12-10T23:59:59.000Z');
    }
  });

  it('by default a rollout belongs to the latest release on or before its start', () => {
    const policy = policyOf({});
    const plan = planRollout(fleet, policy);
    if (!plan.ok) throw new Error('unexpected');
    const input = buildRolloutInput({ rolloutId: 'r', startedBy: 't', fleet, policy, plan: plan.value, now });
    expect(input.settings).toMatchObject({ month: '2026-11', releaseDate: '2026-11-10' });
  });

  it('an on-demand install is not late for a release: it gets deadlineDays from now', () => {
    const request = { rolloutId: 'i', by: 't', machines: ['a'], unsafe: false };
    const input = installInput(fleet, policyOf({ month: '2026-11' }), request, late);
    expect(input.settings.deadline).toBe(late.getTime() + 30 * DAY);
    // Within the release's deadline it keeps that one (the later of the two).
    const early = installInput(
      fleet,
      policyOf({ month: '2026-11' }),
      request,
      new Date('2026-11-10T12:00:00Z'),
    );
    expect(new Date(early.settings.deadline).toISOString()).toBe('2026-12-10T23:59:59.000Z');
  });
});

describe('an unsafe install of more machines than a step holds', () => {
  it('runs them in steps of at most MAX_BATCH_MACHINES, each region at once as far as a step can hold', () => {
    const machines = Array.from({ length: 1100 }, (_, i) => ({
      name: `m${i}`,
      region: 'eastus',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      zone: String((i % 3) + 1),
    }));
    const big = fleetOf({ machines });
    const request = { rolloutId: 'u', by: 't', machines: machines.map((m) => m.name), unsafe: true };
    const input = installInput(big, policyOf({}), request, new Date('2026-11-12T00:00:00Z'));
    const steps = input.regions.flatMap((r) => inlineSpecOf(r).steps);
    expect(steps.map((s) => [s.label, s.machines.length])).toEqual([
      ['UNSAFE: 1100 machine(s), batch 1/3 of at most 500', MAX_BATCH_MACHINES],
      ['UNSAFE: 1100 machine(s), batch 2/3 of at most 500', MAX_BATCH_MACHINES],
      ['UNSAFE: 1100 machine(s), batch 3/3 of at most 500', 100],
    ]);
    expect(new Set(steps.flatMap((s) => s.machines)).size).toBe(1100);
  });
});

test("an on-demand install is held to Temporal's size limits as a rollout is", () => {
  const big = fleetOf({
    machines: ['a', 'b'].map((name) => ({
      name,
      region: 'eastus',
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
      driver: 'ssh',
      ssh: {
        host: `${name}.example.com`,
        user: 'patch',
        keyRef: { env: 'OFFPEAK_KEY' },
        hostKeySha256: `SHA256:${'A'.repeat(43)}`,
        health: { command: Array.from({ length: 17 }, () => 'x'.repeat(4000)) },
      },
    })),
  });
  const request = { rolloutId: 'i', by: 't', machines: ['b'], unsafe: false };
  const install = () => installInput(big, policyOf({}), request, new Date('2026-12-07T12:00:00Z'));
  expect(install).toThrow(UsageError);
  expect(install).toThrow(
    /^fleet: machines\[\d\]: its machine attempt's input would take 6\d KB, more than 64 KB/,
  );
});
