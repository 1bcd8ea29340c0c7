/**
 * Runs the azure driver against ONE real machine of a real subscription: what the emulator cannot
 * prove (docs/azure-driver.md). Not part of `npm test`. Credentials: DefaultAzureCredential (`az login`,
 * managed identity, AZURE_* variables).
 *
 *   OFFPEAK_AZURE_LIVE_RESOURCE_ID=/subscriptions/.../virtualMachines/NAME  the machine (VM or Arc)
 *   OFFPEAK_AZURE_LIVE_OS=Linux|Windows                                      its OS (default Linux)
 *   OFFPEAK_AZURE_LIVE_INSTALL=1       also install the Critical and Security patches the assessment finds,
 *                                      with rebootSetting OFFPEAK_AZURE_LIVE_REBOOT (default Never), PT1H
 *
 *   npm run build && node dist/scripts/azure-live-check.js
 */
import { DefaultAzureCredential } from '@azure/identity';
import { AzureDriver } from '../activities/drivers/azure';
import type { MachineTarget } from '../activities/drivers/driver';
import { parseAzureResourceId } from '../domain/azure-resource';
import { selectPatches } from '../domain/patch-selection';
import { parsePolicy, type RebootSetting } from '../domain/policy';
import { selectionOf } from '../domain/rollout-spec';

async function main(): Promise<void> {
  const resourceId = process.env.OFFPEAK_AZURE_LIVE_RESOURCE_ID ?? '';
  const parsed = parseAzureResourceId(resourceId);
  if (!parsed.ok) {
    process.stderr.write(`OFFPEAK_AZURE_LIVE_RESOURCE_ID: ${parsed.message}\n`);
    process.exitCode = 2;
    return;
  }
  const os = process.env.OFFPEAK_AZURE_LIVE_OS === 'Windows' ? 'Windows' : 'Linux';
  const rebootSetting = (process.env.OFFPEAK_AZURE_LIVE_REBOOT ?? 'Never') as RebootSetting;
  const driver = new AzureDriver({ credential: new DefaultAzureCredential() });
  const target: MachineTarget = {
    name: parsed.value.name,
    os,
    operation: { id: `live-check-${Date.now()}`, attempt: 1 },
    azure: { resourceId, rebootSetting },
  };
  const say = (what: string, value: unknown) =>
    process.stdout.write(`${what}: ${JSON.stringify(value, null, 2)}\n`);
  say('health', await driver.health(target));
  const assessment = await driver.assess(target);
  say('assessment', assessment);
  if (process.env.OFFPEAK_AZURE_LIVE_INSTALL !== '1') return;
  const policy = parsePolicy({}); // the default policy: Critical and Security
  if (!policy.ok) throw new Error('the default policy is invalid');
  const { selected } = selectPatches(assessment.patches, {
    ...selectionOf(policy.value),
    hotpatchOnly: false,
  });
  say('selected', selected);
  const result = await driver.install(target, {
    patchIds: selected,
    deadline: Date.now() + 60 * 60_000,
    checkpoint: { saved: undefined, save: (state) => say('checkpoint (heartbeat details)', state) },
  });
  say('install', result);
  say('health after', await driver.health(target));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
