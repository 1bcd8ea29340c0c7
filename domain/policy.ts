import { z } from 'zod';
import { type Parsed, problemsFromZod } from './problems';

export const CLASSIFICATIONS = ['Critical', 'Security', 'Other'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];
export const REBOOT_SETTINGS = ['IfRequired', 'Never', 'Always'] as const;
export type RebootSetting = (typeof REBOOT_SETTINGS)[number];

/** A count (3) or a share ("20%"). */
export const countOrPercentSchema = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+(\.\d+)?%$/, 'must be a count such as 3 or a percentage such as "20%"')
    .refine((s) => parseFloat(s) <= 100, 'a percentage cannot exceed 100%')
    .transform((s) => s as `${number}%`),
]);

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day as HH:mm');

export const policySchema = z
  .object({
    /** Explicit region phases, canary first. Without them the planner builds phases itself. */
    phases: z
      .array(z.array(z.string().min(1)).min(1))
      .min(1)
      .optional(),
    /** Patch selection, as Azure's installPatches takes it. Platform patching defaults to Critical + Security. */
    classifications: z.array(z.enum(CLASSIFICATIONS)).min(1).default(['Critical', 'Security']),
    kbNumbersToInclude: z.array(z.string()).default([]),
    kbNumbersToExclude: z.array(z.string()).default([]),
    packageNameMasksToInclude: z.array(z.string()).default([]),
    packageNameMasksToExclude: z.array(z.string()).default([]),
    excludeKbsRequiringReboot: z.boolean().default(false),
    rebootSetting: z.enum(REBOOT_SETTINGS).default('IfRequired'),
    /** Off-peak hours in each machine's own time zone, for machines without a maintenance configuration. */
    offPeak: z.object({ start: hhmm, end: hhmm }).strict().default({ start: '22:00', end: '06:00' }),
    /** `always`: every window is open now (the demo); `offPeak`: real windows. */
    windows: z.enum(['offPeak', 'always']).default('offPeak'),
    /** Standalone machines of one region patched at once. */
    disruptionBudget: countOrPercentSchema.default('20%'),
    /** Service capacity: never take more of one service down than `minAvailable` allows. */
    serviceCapacity: z
      .object({ tag: z.string().min(1), minAvailable: countOrPercentSchema })
      .strict()
      .optional(),
    /** Health gate: failures that halt the rollout when EXCEEDED (AWS MaxErrors semantics). */
    errorBudget: countOrPercentSchema.default(0),
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Days from the monthly release until the rollout's deadline. */
    deadlineDays: z.number().int().min(1).max(60).default(30),
    /** The release month, `YYYY-MM`; defaults to the month the rollout starts in. */
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM')
      .optional(),
    unplannedBaselineMonths: z
      .array(z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'))
      .default([]),
    approvals: z
      .object({
        /** Phases (by index) that wait for an approval before they start; `all` for every phase. */
        beforePhases: z.union([z.literal('all'), z.array(z.number().int().nonnegative())]).default([]),
        approvers: z.array(z.string().min(1)).default([]),
        /** The person who started the rollout may not approve its gates. */
        fourEyes: z.boolean().default(false),
        /** A gate nobody decides within this many minutes halts the rollout. */
        expireAfterMinutes: z.number().positive().optional(),
      })
      .strict()
      .default({ beforePhases: [], approvers: [], fourEyes: false }),
    /** Simulated machines only: their durations are scaled by this, in place of the worker's --time-scale (1: the worker's). */
    simulationSpeed: z.number().positive().default(1),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;

export function parsePolicy(input: unknown): Parsed<Policy> {
  const result = policySchema.safeParse(input ?? {});
  if (!result.success) return { ok: false, problems: problemsFromZod(result.error) };
  return { ok: true, value: result.data };
}

export const DEFAULT_POLICY: Policy = policySchema.parse({});
