import type { Problem } from './problems';
import { ATTEMPT_INPUT_BYTES, jsonBytes, SETTINGS_BYTES, SLICE_BYTES } from './payload-limits';
import { machineSettingsOf } from './machine-settings';
import { machineSpecBuilder, rolloutSettingsOf, stepMachineIndices } from './rollout-spec';
import { stepSliceBytes } from './spec-slices';

/** Problems of one kind listed one by one up to this many; the rest are counted. */
const LISTED = 20;
/** A machine attempt's input beyond its spec and settings: the rollout's ID, the attempt, `notBefore`. */
const ATTEMPT_ENVELOPE_BYTES = 256;

/** Sizes as Temporal's limits are written: 2 MB is 2 × 1024 × 1024 bytes. */
const size = (bytes: number) =>
  bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;

/**
 * What Temporal's size limits (domain/payload-limits.ts) would refuse once the rollout runs, found before
 * it starts, on the specs the rollout would carry: the settings, each machine attempt's input, and each
 * step's slice of specs (a step travels in one slice). `plan` and `rollout start` both run it
 * (domain/pre-start.ts), so a rollout `plan` accepts never stops on a payload it cannot send.
 */
export function payloadProblems(args: Parameters<typeof machineSpecBuilder>[0]): Problem[] {
  const problems: Problem[] = [];
  const settings = rolloutSettingsOf(args);
  const settingsBytes = jsonBytes(settings);
  if (settingsBytes > SETTINGS_BYTES)
    problems.push({
      path: 'policy',
      message: `the rollout's settings would take ${size(settingsBytes)}, more than ${size(SETTINGS_BYTES)} (every region's input carries them): the largest part is ${largestPart(settings)}`,
    });
  const machineSettings = machineSettingsOf(settings);
  const perAttempt = jsonBytes(machineSettings) + ATTEMPT_ENVELOPE_BYTES;
  const specOf = machineSpecBuilder(args);
  const at = stepMachineIndices(args.fleet, args.plan);
  const large: Problem[] = [];
  args.plan.regions.forEach((region, r) =>
    region.steps.forEach((step, s) => {
      // Each spec is built and measured once, and dropped: a million of them are never held at once.
      const sizes = at[r][s].map((i) => {
        const spec = specOf(i);
        const specBytes = jsonBytes(spec);
        if (specBytes + perAttempt > ATTEMPT_INPUT_BYTES)
          large.push({
            path: `fleet: machines[${i}]`,
            message: `its machine attempt's input would take ${size(specBytes + perAttempt)}, more than ${size(ATTEMPT_INPUT_BYTES)} (its region's history holds one per attempt): the largest part is ${largestPart({ ...spec, selection: machineSettings.selection })}`,
          });
        return specBytes;
      });
      const bytes = stepSliceBytes(step, sizes);
      if (bytes > SLICE_BYTES)
        problems.push({
          path: 'policy: disruptionBudget',
          message: `${region.region}'s step "${step.label}" (${step.machines.length} machines) would carry ${size(bytes)} of machine specs, more than one slice holds (${size(SLICE_BYTES)}: Temporal refuses payloads over 2 MB): lower the budget so that its steps are smaller, or make the machines' specs smaller`,
        });
    }),
  );
  problems.push(...large.slice(0, LISTED));
  if (large.length > LISTED)
    problems.push({
      path: 'fleet: machines',
      message: `${large.length - LISTED} more machine(s) whose attempt's input would be over ${size(ATTEMPT_INPUT_BYTES)}`,
    });
  return problems;
}

/** The field of `value` that takes the most bytes, with its size: what to shorten first. */
function largestPart(value: object): string {
  let best = { key: '', bytes: -1 };
  for (const [key, field] of Object.entries(value)) {
    const bytes = jsonBytes(field);
    if (bytes > best.bytes) best = { key, bytes };
  }
  return `${best.key} (${size(best.bytes)})`;
}
