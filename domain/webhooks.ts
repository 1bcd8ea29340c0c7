import type { AttemptOutcome, PhaseStatus, RolloutStatus } from './outcomes';
import type { Hooks } from './webhook-policy';

export type { Hook, Hooks, Notifications } from './webhook-policy';

/**
 * The rollout's outgoing webhooks (issue 11): off-machine hooks before and after each phase (like Update
 * Manager's pre and post events, with an explicit failure policy), and notices to a chat channel. The
 * messages the workflows hand to the activities, and the pure message building. Pure and free of zod, so
 * workflow code may use it (the policy's schemas are in domain/webhook-policy.ts).
 */

// ---- Hooks -------------------------------------------------------------------------------------------

export type HookEvent = keyof Hooks;

/** The hook's JSON body. `status` is the phase's after it ran (afterPhase only). */
export interface HookPayload {
  rollout: string;
  phase: number;
  regions: string[];
  event: HookEvent;
  status?: PhaseStatus;
}

export type HookResult = { ok: true; status: number } | { ok: false; reason: string };

/** The header that carries the body's HMAC-SHA256 with the hook's secret: `sha256=<hex>`, as GitHub's. */
export const SIGNATURE_HEADER = 'X-Offpeak-Signature';
/** One delivery's ID, the same on every retry: receivers may deduplicate on it. */
export const DELIVERY_HEADER = 'X-Offpeak-Delivery';

export function deliveryId(payload: HookPayload): string {
  return `${payload.rollout}/${payload.event}/phase-${payload.phase}`;
}

/** Why a failed hook halts the rollout: the hook, the phase and what went wrong. */
export function hookHaltReason(payload: HookPayload, reason: string): string {
  return `hook ${payload.event} of phase ${payload.phase} failed: ${reason}`;
}

// ---- Notifications -----------------------------------------------------------------------------------

export type NoticeEvent = 'halted' | 'gateOpened' | 'gateExpired' | 'ended';

/** A machine whose error counts, by name. */
export interface NoticeMachine {
  name: string;
  outcome: AttemptOutcome;
}

/** What the rollout tells the channel: structured here, written as chat text by `chatMessage`. */
export interface Notice {
  rollout: string;
  event: NoticeEvent;
  status: RolloutStatus;
  /** The halt's reason, the gate's name and regions, the end's counts. */
  detail: string;
  /** Failed machines: the first ones by name, and how many there are in all. */
  failed: { machines: NoticeMachine[]; count: number };
}

/** Failed machines a notice names; the rest are counted. */
export const NOTICE_MACHINES = 10;

/** Slack's `mrkdwn` treats `&`, `<` and `>` as markup: names and reasons are escaped. */
const escapeChat = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Slack cuts a section's text at 3,000 characters. */
const cut = (text: string, max = 2900) => (text.length > max ? `${text.slice(0, max)}… (cut)` : text);

const HEADLINES: Record<NoticeEvent, (n: Notice) => string> = {
  halted: (n) => `Rollout ${n.rollout} halted: ${n.detail}`,
  gateOpened: (n) => `Rollout ${n.rollout} waits for approval of ${n.detail}`,
  gateExpired: (n) => `Rollout ${n.rollout} halted: ${n.detail}`,
  ended: (n) => `Rollout ${n.rollout} ended ${n.status}: ${n.detail}`,
};

/**
 * `Failed machines (12): a1 InstallFailed, a2 Unhealthy, … and 2 more`; only the count when no name is known;
 * nothing when none failed.
 */
export function failedLine(failed: Notice['failed']): string | undefined {
  if (failed.count === 0) return undefined;
  const named = failed.machines.slice(0, NOTICE_MACHINES);
  if (!named.length) return `Failed machines: ${failed.count}`;
  const more = failed.count - named.length;
  const names = named.map((m) => `${m.name} ${m.outcome}`).join(', ');
  return `Failed machines (${failed.count}): ${names}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The notice as Slack-compatible JSON: `text` (the fallback every client shows) and the same in blocks. */
export function chatMessage(notice: Notice): { text: string; blocks: object[] } {
  const lines = [HEADLINES[notice.event](notice), failedLine(notice.failed)].filter(
    (l): l is string => l !== undefined,
  );
  const escaped = lines.map((l) => cut(escapeChat(l)));
  return {
    text: escaped.join('\n'),
    blocks: escaped.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
  };
}
