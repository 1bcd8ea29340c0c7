import type { CountOrPercent } from '../../domain/budget';
import type { Fleet, Machine } from '../../domain/fleet';
import { policySchema } from '../../domain/policy';
import { planRollout } from '../../domain/planner';

/** n standalone machines of one service in one region, so the service's allowance alone shapes the steps. */
function serviceFleet(n: number): Fleet {
  const machines: Machine[] = Array.from({ length: n }, (_, i) => ({
    name: `db-${i}`,
    region: 'eastus',
    os: 'Linux',
    patchMode: 'AutomaticByPlatform',
    timeZone: 'UTC',
    driver: 'simulated',
    tags: { service: 'db' },
  }));
  return { machines, regionPairs: {}, maintenanceConfigurations: {} };
}

/** maxDown = n - minAvailable, a percentage of n rounded UP (Kubernetes PDB), computed in integers. */
function expectedMaxDown(minAvailable: CountOrPercent, n: number): number {
  if (typeof minAvailable === 'number') return n - Math.min(minAvailable, n);
  const p = Number(minAvailable.slice(0, -1));
  return n - Math.floor((p * n + 99) / 100);
}

const cases: [number, CountOrPercent][] = [];
for (let n = 1; n <= 20; n++) {
  for (let c = 0; c <= n; c++) cases.push([n, c]);
  for (let p = 0; p <= 100; p += 5) cases.push([n, `${p}%`]);
}

describe('service capacity rounding', () => {
  it('covers n = 1..20 with every count and every 5% step', () => {
    expect(cases).toHaveLength(20 * 21 + (20 * 21) / 2 + 20);
  });

  it.each(cases)(
    'n = %i, minAvailable %s: steps never exceed n - minAvailable, or the plan is rejected',
    (n, minAvailable) => {
      const policy = policySchema.parse({
        disruptionBudget: '100%',
        serviceCapacity: { tag: 'service', minAvailable },
      });
      const result = planRollout(serviceFleet(n), policy);
      const maxDown = expectedMaxDown(minAvailable, n);
      if (maxDown === 0) {
        expect(result).toEqual({
          ok: false,
          problems: [
            {
              path: 'serviceCapacity',
              message: `service "db" has ${n} machine${n === 1 ? '' : 's'} and minAvailable ${minAvailable} leaves none to patch`,
            },
          ],
        });
        return;
      }
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      const sizes = result.value.regions[0].steps.map((s) => s.machines.length);
      expect(Math.max(...sizes)).toBe(maxDown);
      expect(sizes).toHaveLength(Math.ceil(n / maxDown));
    },
  );

  it.each([
    [3, '50%', 1],
    [10, '25%', 7],
    [10, '91%', 0],
    [4, '75%', 1],
    [7, 3, 4],
  ] as [number, CountOrPercent, number][])(
    'n = %i, minAvailable %s leaves %i to patch at once',
    (n, minAvailable, maxDown) => {
      expect(expectedMaxDown(minAvailable, n)).toBe(maxDown);
    },
  );
});
