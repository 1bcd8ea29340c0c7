import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { InstallResult } from '../../domain/patches';
import { AzureDriver } from '../../activities/drivers/azure';
import type { MachineSpec } from '../../domain/rollout-spec';
import { AzureEmulator } from '../support/azure-emulator/server';
import { vmId, windowsVm } from '../fixtures/azure/emulated-machines';

/**
 * The activity seam around the azure driver: the install activity hands the driver the heartbeat
 * details of its previous try and heartbeats what the driver saves; Azure's refusals become the
 * failure catalogue's types.
 */

let emu: AzureEmulator;
beforeAll(async () => {
  emu = await AzureEmulator.start();
});
afterAll(async () => {
  await emu.close();
});

const activitiesOf = () =>
  createActivities({
    forMachine: () =>
      new AzureDriver({ credential: emu.credential(), endpoint: emu.url, ca: emu.ca, pollIntervalMs: 10 }),
  });

function spec(name: string): MachineSpec {
  return {
    name,
    region: 'eastus',
    os: 'Windows',
    hotpatchCapable: false,
    schedule: null,
    taskQueue: 'offpeak',
    azure: { resourceId: vmId(name), rebootSetting: 'IfRequired' },
  };
}

test('a retried install activity resumes from its heartbeat details: one installPatches across both tries', async () => {
  emu.add(windowsVm('act-resume'));
  emu.hold();
  const first = new MockActivityEnvironment();
  const saved = new Promise<unknown>((resolve) =>
    first.on('heartbeat', (d: unknown) => {
      if ((d as { azureOperation?: unknown } | undefined)?.azureOperation) resolve(d);
    }),
  );
  const op = { id: 'r1', attempt: 1 };
  const firstTry = first.run(
    activitiesOf().install,
    spec('act-resume'),
    op,
    ['KB890830'],
    Date.now() + 3_600_000,
  );
  const details = await saved;

  // The next try (another worker) starts with the last heartbeat's details.
  const second = new MockActivityEnvironment({ heartbeatDetails: details });
  const retry = second.run(
    activitiesOf().install,
    spec('act-resume'),
    op,
    ['KB890830'],
    Date.now() + 3_600_000,
  );
  emu.release();
  expect(((await retry) as InstallResult).patches).toEqual([{ patchId: 'KB890830', state: 'Installed' }]);
  await firstTry;
  expect(emu.requestsTo('installPatches').filter((r) => r.path.includes('act-resume'))).toHaveLength(1);
});

test('403 reaches the workflow as a non-retryable NotAuthorized failure naming the action', async () => {
  emu.add(windowsVm('act-403'));
  emu.inject({
    method: 'POST',
    path: 'act-403/assessPatches',
    status: 403,
    code: 'AuthorizationFailed',
    message: 'no',
  });
  const err = await new MockActivityEnvironment()
    .run(activitiesOf().assess, spec('act-403'), { id: 'r2', attempt: 1 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({
    type: 'NotAuthorized',
    nonRetryable: true,
    message: expect.stringContaining('Microsoft.Compute/virtualMachines/assessPatches/action'),
  });
});
