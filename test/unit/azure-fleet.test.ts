import { inlineSpecOf } from '../../domain/spec-slices';
import { parseFleet } from '../../domain/fleet';
import { formatProblem } from '../../domain/problems';
import { isSimulated, simulatedMarkerOf, simulatedNotice } from '../../domain/simulated';
import { fleetOf } from '../support/rollouts';
import { rolloutInputOf, vm } from '../support/rollouts';

const VM =
  '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web-1';
const ARC =
  '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-dc/providers/Microsoft.HybridCompute/machines/dc-1';

const problemsOf = (machine: Record<string, unknown>) => {
  const parsed = parseFleet({ machines: [machine] });
  return parsed.ok ? [] : parsed.problems.map(formatProblem);
};

test('driver azure takes a VM or an Arc machine resource ID', () => {
  expect(problemsOf(vm('web-1', { driver: 'azure', azure: { resourceId: VM } }))).toEqual([]);
  expect(problemsOf(vm('dc-1', { driver: 'azure', azure: { resourceId: ARC } }))).toEqual([]);
});

test.each([
  [
    'no azure settings',
    { driver: 'azure' },
    'machines[0].azure: is required with driver "azure" (azure.resourceId)',
  ],
  [
    'azure settings on another driver',
    { azure: { resourceId: VM } },
    'machines[0].azure: is only valid with driver "azure"',
  ],
  [
    'a malformed resource ID',
    { driver: 'azure', azure: { resourceId: 'web-1' } },
    'machines[0].azure.resourceId: must be an Azure resource ID: /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name> (or .../Microsoft.HybridCompute/machines/<name>)',
  ],
  [
    'a resource that is not a machine',
    {
      driver: 'azure',
      azure: { resourceId: VM.replace('Microsoft.Compute/virtualMachines', 'Microsoft.Web/sites') },
    },
    'machines[0].azure.resourceId: "Microsoft.Web/sites" is not a machine the azure driver patches: use Microsoft.Compute/virtualMachines or Microsoft.HybridCompute/machines',
  ],
  [
    'a secret next to the ID',
    { driver: 'azure', azure: { resourceId: VM, clientSecret: 'x' } },
    'machines[0].azure: Unrecognized key: "clientSecret"',
  ],
])('%s is refused, naming the field', (_what, extra, problem) => {
  expect(problemsOf(vm('web-1', extra))).toEqual([problem]);
});

test('a rollout hands Azure the reboot setting Offpeak would apply: Always becomes IfRequired in a hotpatch month on a hotpatch image', () => {
  const hotpatchImage = {
    publisher: 'MicrosoftWindowsServer',
    offer: 'WindowsServer',
    sku: '2022-datacenter-azure-edition-hotpatch',
  };
  const fleet = {
    machines: [
      vm('hp-1', { os: 'Windows', image: hotpatchImage, driver: 'azure', azure: { resourceId: VM } }),
      vm('std-1', { os: 'Windows', driver: 'azure', azure: { resourceId: ARC } }),
    ],
  };
  const specs = (month: string) =>
    rolloutInputOf({
      rolloutId: 'r',
      fleet,
      policy: { rebootSetting: 'Always', month },
      now: new Date('2026-11-01T00:00:00Z'),
    })
      .regions.flatMap((r) => inlineSpecOf(r).machines)
      .map((m) => [m.name, m.azure?.rebootSetting]);
  // November is a hotpatch month, January a baseline.
  expect(specs('2026-11')).toEqual(
    expect.arrayContaining([
      ['hp-1', 'IfRequired'],
      ['std-1', 'Always'],
    ]),
  );
  expect(specs('2027-01')).toEqual(
    expect.arrayContaining([
      ['hp-1', 'Always'],
      ['std-1', 'Always'],
    ]),
  );
});

test('a rollout records its simulated machines (for its memo, never its input), and the notice names them', () => {
  const doc = { machines: [vm('sim-1'), vm('az-1', { driver: 'azure', azure: { resourceId: VM } })] };
  const input = rolloutInputOf({ rolloutId: 'r', fleet: doc, now: new Date('2026-11-01T00:00:00Z') });
  expect(JSON.stringify(input)).not.toContain('"simulated"');
  const marker = simulatedMarkerOf(fleetOf(doc), input);
  expect(marker).toEqual({ count: 1, all: false, names: ['sim-1'] });
  expect(isSimulated(marker, 'sim-1')).toBe(true);
  expect(isSimulated(marker, 'az-1')).toBe(false);
  expect(simulatedNotice(marker, 2)).toBe(
    'SIMULATED: 1 of 2 machine(s) (sim-1) use driver "simulated": the simulator patches nothing on them, and their results are not real (set driver: ssh or azure)',
  );
  const real = { machines: [vm('az-1', { driver: 'azure', azure: { resourceId: VM } })] };
  const realInput = rolloutInputOf({ rolloutId: 'r', fleet: real, now: new Date('2026-11-01T00:00:00Z') });
  expect(simulatedMarkerOf(fleetOf(real), realInput)).toBeUndefined();
});

describe('a machine carries its subscription', () => {
  const subscriptionOf = (machine: Record<string, unknown>) => {
    const parsed = parseFleet({ machines: [machine] });
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    return parsed.value.machines[0].subscription;
  };

  test("an azure machine's is its resource ID's unless written", () => {
    expect(subscriptionOf(vm('web-1', { driver: 'azure', azure: { resourceId: VM } }))).toBe(
      '00000000-0000-4000-8000-000000000001',
    );
    expect(subscriptionOf(vm('web-1', { subscription: 'ABCDEF00-0000-4000-8000-000000000002' }))).toBe(
      'abcdef00-0000-4000-8000-000000000002',
    );
    expect(subscriptionOf(vm('web-1'))).toBeUndefined();
  });

  test.each([
    [
      'not a GUID',
      { subscription: 'prod' },
      'machines[0].subscription: must be an Azure subscription ID (a GUID)',
    ],
    [
      "another than the resource ID's",
      {
        driver: 'azure',
        azure: { resourceId: VM },
        subscription: '00000000-0000-4000-8000-000000000009',
      },
      'machines[0].subscription: "00000000-0000-4000-8000-000000000009" is not the subscription of azure.resourceId (00000000-0000-4000-8000-000000000001)',
    ],
  ])('%s is a problem', (_, extra, problem) => {
    expect(problemsOf(vm('web-1', extra))).toEqual([problem]);
  });
});
