import type { RolloutSettings } from './rollout-spec';

/*
 * Imported by the workflows (workflows/children.ts): types only from the rest of domain/, so that the
 * workflow bundle stays free of zod (test/unit/architecture.test.ts).
 */

/** The settings a machine attempt needs: its input carries these, not the rollout's whole settings. */
export const MACHINE_SETTINGS = [
  'deadline',
  'rebootSetting',
  'selection',
  'monthType',
  'postScriptAfterFailure',
  'siteWorkerNoticeSeconds',
] as const satisfies ReadonlyArray<keyof RolloutSettings>;
export type MachineSettings = Pick<RolloutSettings, (typeof MACHINE_SETTINGS)[number]>;

export function machineSettingsOf(settings: RolloutSettings): MachineSettings {
  const out: Partial<Record<keyof RolloutSettings, unknown>> = {};
  for (const key of MACHINE_SETTINGS) if (settings[key] !== undefined) out[key] = settings[key];
  return out as MachineSettings;
}
