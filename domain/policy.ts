import { z } from 'zod';
import { prometheusSignalSchema } from './health-signals';
import { approverNameProblems } from './operator-messages';
import { type Parsed, problemsFromZod } from './problems';
import { parsePublicKey } from './sshsig';
import { hooksSchema, notificationsSchema } from './webhook-policy';

export const CLASSIFICATIONS = ['Critical', 'Security', 'Other'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];
export const REBOOT_SETTINGS = ['IfRequired', 'Never', 'Always'] as const;
export type RebootSetting = (typeof REBOOT_SETTINGS)[number];

/**
 * Bounds on the policy's numbers, so every timer the workflows derive stays finite and every list
 * small: a gate expires within the longest deadline (60 days), counts stay below a million machines.
 */
export const POLICY_BOUNDS = {
  count: 1_000_000,
  deadlineDays: 60,
  expireAfterMinutes: 60 * 24 * 60,
  /** A phase bakes at most as long as the longest deadline. */
  bakeMinutes: 60 * 24 * 60,
  /** `simulationSpeed` between 1/10,000 and 1,000 times the configured durations. */
  simulationSpeed: { min: 0.0001, max: 1000 },
  listItems: 1000,
  textLength: 256,
} as const;

const text = z.string().min(1).max(POLICY_BOUNDS.textLength);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(POLICY_BOUNDS.listItems);
const bakeMinutes = z.number().int().nonnegative().max(POLICY_BOUNDS.bakeMinutes);

/** A count (3) or a share ("20%"). */
export const countOrPercentSchema = z.union([
  z.number().int().nonnegative().max(POLICY_BOUNDS.count),
  z
    .string()
    .regex(/^\d+(\.\d+)?%$/, 'must be a count such as 3 or a percentage such as "20%"')
    .refine((s) => parseFloat(s) <= 100, 'a percentage cannot exceed 100%')
    .transform((s) => s as `${number}%`),
]);

const approverName = z.string().superRefine((name, ctx) => {
  for (const p of approverNameProblems(name, '')) ctx.addIssue({ code: 'custom', message: p.message });
});
const sshPublicKey = z.string().superRefine((key, ctx) => {
  const parsed = parsePublicKey(key);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day as HH:mm');
/** `YYYY-MM` from 1970 (where epoch instants start) to 2999 (so deadlines stay four-digit dates). */
const yearMonth = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM')
  .refine((m) => m >= '1970-01' && m <= '2999-12', 'must be a month from 1970-01 to 2999-12');

export const policySchema = z
  .object({
    /** Explicit region phases, canary first. Without them the planner builds phases itself. */
    phases: list(list(text).min(1)).min(1).optional(),
    /** Patch selection, as Azure's installPatches takes it. Platform patching defaults to Critical + Security. */
    classifications: list(z.enum(CLASSIFICATIONS)).min(1).default(['Critical', 'Security']),
    kbNumbersToInclude: list(text).default([]),
    kbNumbersToExclude: list(text).default([]),
    packageNameMasksToInclude: list(text).default([]),
    packageNameMasksToExclude: list(text).default([]),
    excludeKbsRequiringReboot: z.boolean().default(false),
    rebootSetting: z.enum(REBOOT_SETTINGS).default('IfRequired'),
    /**
     * Scripts as a saga: when a machine's pre-script succeeded and a later step fails (install, reboot, lost
     * host), its post-script still runs (an undrain after a drain), and the attempt records both outcomes.
     */
    postScriptAfterFailure: z.boolean().default(true),
    /** A site's machine says `no worker on task queue …` after this many seconds without its site's worker (it keeps waiting). */
    siteWorkerNoticeSeconds: z.number().int().min(1).max(3600).default(60),
    /** Off-peak hours in each machine's own time zone, for machines without a maintenance configuration. */
    offPeak: z
      .object({ start: hhmm, end: hhmm })
      .strict()
      .refine((h) => h.start !== h.end, {
        path: ['end'],
        message: 'must differ from offPeak.start (an empty window never opens)',
      })
      .default({ start: '22:00', end: '06:00' }),
    /** `always`: every window is open now (the demo); `offPeak`: real windows. */
    windows: z.enum(['offPeak', 'always']).default('offPeak'),
    /** Standalone machines of one region patched at once. */
    disruptionBudget: countOrPercentSchema.default('20%'),
    /** Service capacity: never take more of one service down than `minAvailable` allows (`tag`: a tag name, up to Azure's 512 characters). */
    serviceCapacity: z
      .object({ tag: z.string().min(1).max(512), minAvailable: countOrPercentSchema })
      .strict()
      .optional(),
    /** Health gate: failures that halt the rollout when EXCEEDED (AWS MaxErrors semantics). */
    errorBudget: countOrPercentSchema.default(0),
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /**
     * Minutes a promoted phase bakes (its health signals watched) before the next phase starts: one number
     * for every phase, or one per phase when `phases` are explicit. 0: the next phase starts at once.
     */
    bakeMinutes: z.union([bakeMinutes, z.array(bakeMinutes).min(1).max(POLICY_BOUNDS.listItems)]).default(0),
    /** Fleet-level health signals from the operator's monitoring, asked after each step and during a bake. */
    health: z.object({ prometheus: prometheusSignalSchema }).strict().optional(),
    /** Days from the monthly release until the rollout's deadline. */
    deadlineDays: z.number().int().min(1).max(POLICY_BOUNDS.deadlineDays).default(30),
    /** The release month, `YYYY-MM`; defaults to the latest release (Patch Tuesday) on or before the start. */
    month: yearMonth.optional(),
    unplannedBaselineMonths: list(yearMonth).default([]),
    approvals: z
      .object({
        /** Phases (by index) that wait for an approval before they start; `all` for every phase. */
        /** Indexes beyond the plan's last phase are rejected when the plan is built (domain/pre-start.ts). */
        beforePhases: z
          .union([z.literal('all'), list(z.number().int().nonnegative().max(POLICY_BOUNDS.listItems))])
          .default([]),
        /**
         * Names as operators send them (domain/operator-messages.ts), unauthenticated; or `{name, key}` with
         * an OpenSSH public key, and then approve, reject, override and cancel must be signed by a key
         * (docs/operations.md, "Signed decisions").
         */
        approvers: list(z.union([approverName, z.object({ name: approverName, key: sshPublicKey }).strict()]))
          .default([])
          .refine(
            (list) => !list.some((a) => typeof a === 'string') || list.every((a) => typeof a === 'string'),
            {
              message:
                'give every approver a key, or none: a name without a key could approve unauthenticated',
            },
          ),
        /** The person who started the rollout may not approve its gates. */
        fourEyes: z.boolean().default(false),
        /** A gate nobody decides within this many minutes halts the rollout. */
        expireAfterMinutes: z.number().positive().max(POLICY_BOUNDS.expireAfterMinutes).optional(),
      })
      .strict()
      .default({ beforePhases: [], approvers: [], fourEyes: false }),
    /** Off-machine hooks POSTed before and after each phase, HMAC-signed (docs/operations.md, "Hooks"). */
    hooks: hooksSchema.optional(),
    /** A chat webhook told when the rollout halts, a gate opens or expires, and when it ends. */
    notifications: notificationsSchema.optional(),
    /** Demo only: a simulated-time scale for driver durations (1 = as configured). */
    simulationSpeed: z
      .number()
      .min(POLICY_BOUNDS.simulationSpeed.min)
      .max(POLICY_BOUNDS.simulationSpeed.max)
      .default(1),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (!Array.isArray(policy.bakeMinutes)) return;
    const given = policy.bakeMinutes.length;
    if (!policy.phases)
      ctx.addIssue({
        code: 'custom',
        path: ['bakeMinutes'],
        message: 'a list of bake times needs explicit phases (or give one number for every phase)',
      });
    else if (given !== policy.phases.length)
      ctx.addIssue({
        code: 'custom',
        path: ['bakeMinutes'],
        message: `gives ${given} bake time(s) for ${policy.phases.length} phase(s): give one per phase`,
      });
  });

export type Policy = z.infer<typeof policySchema>;

export function parsePolicy(input: unknown): Parsed<Policy> {
  const result = policySchema.safeParse(input ?? {});
  if (!result.success) return { ok: false, problems: problemsFromZod(result.error) };
  return { ok: true, value: result.data };
}

export const DEFAULT_POLICY: Policy = policySchema.parse({});
