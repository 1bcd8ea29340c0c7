import type { RebootSetting } from './policy';

/**
 * Whether to reboot after an install, as Azure's rebootSetting says, with one Offpeak rule on top:
 * in a hotpatch month a hotpatch-capable machine is never rebooted by `Always` (that would waste the
 * point of hotpatching); it still reboots under IfRequired/Always when the host says it must.
 */
export function shouldReboot(
  setting: RebootSetting,
  hostRequiresReboot: boolean,
  hotpatchMonthOnCapableImage: boolean,
): boolean {
  if (setting === 'Never') return false;
  if (setting === 'Always' && !hotpatchMonthOnCapableImage) return true;
  return hostRequiresReboot;
}

/**
 * The `rebootSetting` Offpeak hands to Azure's installPatches, which reboots inside the operation: the
 * same decision as `shouldReboot`, so Azure never reboots a machine Offpeak would not have rebooted.
 */
export function azureRebootSetting(
  setting: RebootSetting,
  hotpatchMonthOnCapableImage: boolean,
): RebootSetting {
  return setting === 'Always' && hotpatchMonthOnCapableImage ? 'IfRequired' : setting;
}
