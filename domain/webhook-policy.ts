import { z } from 'zod';

/**
 * The policy of the rollout's outgoing webhooks (issue 11): `hooks` before and after each phase, and
 * `notifications`. Their messages and the pure parts are in domain/webhooks.ts (no zod: workflows use them).
 * URLs given as `urlEnv` and every secret are names of environment variables, read by the activities
 * (activities/signals/webhooks.ts) on the worker: a secret never enters a workflow's history.
 */

const envName = z
  .string()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable, such as OFFPEAK_HOOK_URL');
const httpUrl = z
  .string()
  .max(2048)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL');

export const hookSchema = z
  .object({
    /** Where the hook is POSTed; or `urlEnv`, the environment variable that holds it on the worker. */
    url: httpUrl.optional(),
    urlEnv: envName.optional(),
    /** The hook's answer must come within this many seconds, or it failed. */
    timeoutSeconds: z.number().int().min(1).max(300).default(30),
    /** A failed hook (no 2xx answer) halts the rollout, or is recorded and the rollout goes on. */
    onFailure: z.enum(['halt', 'continue']).default('halt'),
    /** The environment variable that holds the HMAC secret the body is signed with (`X-Offpeak-Signature`). */
    secretEnv: envName,
  })
  .strict()
  .refine((h) => (h.url === undefined) !== (h.urlEnv === undefined), {
    message: 'give exactly one of url or urlEnv',
  });

export const hooksSchema = z
  .object({ beforePhase: hookSchema.optional(), afterPhase: hookSchema.optional() })
  .strict();

export const notificationsSchema = z
  .object({
    /** A Slack-compatible incoming webhook; `urlEnv` names the environment variable holding its URL. */
    webhook: z.object({ urlEnv: envName }).strict(),
  })
  .strict();

export type Hook = z.infer<typeof hookSchema>;
export type Hooks = z.infer<typeof hooksSchema>;
export type Notifications = z.infer<typeof notificationsSchema>;
