import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE } from '../../domain/failures';
import {
  chatMessage,
  DELIVERY_HEADER,
  deliveryId,
  SIGNATURE_HEADER,
  type Hook,
  type HookPayload,
  type HookResult,
  type Notice,
  type Notifications,
} from '../../domain/webhooks';

/**
 * The rollout's outgoing webhooks, one POST each. URLs given as `urlEnv` and every secret are read here,
 * from the worker's environment, at the moment of the call: they never enter a workflow's history, and a
 * reason never quotes them. Redirects are not followed (a 3xx is an answer, not a success).
 */
export function createWebhookActivities(env: NodeJS.ProcessEnv = process.env) {
  return {
    /**
     * Calls an off-machine hook: its JSON body signed with the hook's secret (`X-Offpeak-Signature:
     * sha256=<hex HMAC-SHA256 of the body>`). A 2xx answer passes; anything else is a failure the rollout
     * judges by the hook's `onFailure`. One try per call: the result, not a thrown error, says how it went.
     */
    async callHook(hook: Hook, payload: HookPayload): Promise<HookResult> {
      const url = hook.url ?? env[hook.urlEnv!];
      if (!url) return { ok: false, reason: `environment variable ${hook.urlEnv} is not set on the worker` };
      if (!/^https?:\/\//i.test(url))
        return {
          ok: false,
          reason: `environment variable ${hook.urlEnv} does not hold an http or https URL`,
        };
      const secret = env[hook.secretEnv];
      if (!secret)
        return { ok: false, reason: `environment variable ${hook.secretEnv} is not set on the worker` };
      const body = JSON.stringify(payload);
      const answer = await post(url, body, hook.timeoutSeconds, {
        [SIGNATURE_HEADER]: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        [DELIVERY_HEADER]: deliveryId(payload),
        'X-Offpeak-Event': payload.event,
      });
      if ('unreachable' in answer) return { ok: false, reason: `unreachable: ${answer.unreachable}` };
      if (answer.status >= 200 && answer.status < 300) return { ok: true, status: answer.status };
      return { ok: false, reason: `answered ${answer.status}${answer.text ? `: ${answer.text}` : ''}` };
    },

    /**
     * Tells the chat channel (Slack-compatible JSON: `text` and `blocks`). A failure throws, so the
     * activity's retry policy retries it; an answer that a retry cannot change (a missing variable, a 4xx
     * other than 408 and 429) is not retried.
     */
    async notify(notifications: Notifications, notice: Notice): Promise<void> {
      const name = notifications.webhook.urlEnv;
      const url = env[name];
      if (!url || !/^https?:\/\//i.test(url))
        throw ApplicationFailure.create({
          type: FAILURE.NotificationFailed,
          message: `environment variable ${name} ${url ? 'does not hold an http or https URL' : 'is not set on the worker'}`,
          nonRetryable: true,
        });
      const answer = await post(url, JSON.stringify(chatMessage(notice)), 10, {});
      if ('status' in answer && answer.status >= 200 && answer.status < 300) return;
      const lasting =
        'status' in answer &&
        answer.status >= 400 &&
        answer.status < 500 &&
        ![408, 429].includes(answer.status);
      throw ApplicationFailure.create({
        type: FAILURE.NotificationFailed,
        message:
          'unreachable' in answer
            ? `the notification webhook is unreachable: ${answer.unreachable}`
            : `the notification webhook answered ${answer.status}${answer.text ? `: ${answer.text}` : ''}`,
        nonRetryable: lasting,
      });
    },
  };
}

async function post(
  url: string,
  body: string,
  timeoutSeconds: number,
  headers: Record<string, string>,
): Promise<{ status: number; text: string } | { unreachable: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
      headers: { 'content-type': 'application/json', 'user-agent': 'offpeak', ...headers },
    });
    const text = (await response.text()).trim().slice(0, 200);
    return { status: response.status, text };
  } catch (err) {
    // Duck-typed: fetch's errors may come from another realm (a test runner's sandbox).
    const e = (err ?? {}) as { name?: string; message?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return { unreachable: `no answer within ${timeoutSeconds} s` };
    return { unreachable: e.cause?.code ?? e.message ?? String(err) };
  }
}
