import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import { createWebhookActivities } from '../../activities/signals/webhooks';
import { FAILURE } from '../../domain/failures';
import { parsePolicy } from '../../domain/policy';
import { formatProblem } from '../../domain/problems';
import { hookSchema } from '../../domain/webhook-policy';
import {
  chatMessage,
  deliveryId,
  failedLine,
  hookHaltReason,
  NOTICE_MACHINES,
  type HookPayload,
  type Notice,
} from '../../domain/webhooks';
import { bodyOf, startHttp } from '../support/http';

describe('policy', () => {
  test('hooks and notifications parse with their defaults', () => {
    const parsed = parsePolicy({
      hooks: { beforePhase: { url: 'https://ops.example/hook', secretEnv: 'HOOK_SECRET' } },
      notifications: { webhook: { urlEnv: 'SLACK_URL' } },
    });
    expect(parsed.ok && parsed.value.hooks).toEqual({
      beforePhase: {
        url: 'https://ops.example/hook',
        secretEnv: 'HOOK_SECRET',
        timeoutSeconds: 30,
        onFailure: 'halt',
      },
    });
    expect(parsed.ok && parsed.value.notifications).toEqual({ webhook: { urlEnv: 'SLACK_URL' } });
  });

  test.each([
    [{ hooks: { beforePhase: { secretEnv: 'S' } } }, 'hooks.beforePhase: give exactly one of url or urlEnv'],
    [
      { hooks: { afterPhase: { url: 'https://a.example', urlEnv: 'U', secretEnv: 'S' } } },
      'hooks.afterPhase: give exactly one of url or urlEnv',
    ],
    [
      { hooks: { beforePhase: { url: 'https://a.example' } } },
      'hooks.beforePhase.secretEnv: Invalid input: expected string, received undefined',
    ],
    [
      { hooks: { beforePhase: { urlEnv: 'HOOK URL', secretEnv: 'S' } } },
      'hooks.beforePhase.urlEnv: must be the name of an environment variable, such as OFFPEAK_HOOK_URL',
    ],
    [
      { hooks: { beforePhase: { url: 'file:///etc/passwd', secretEnv: 'S' } } },
      'hooks.beforePhase.url: must be an http or https URL',
    ],
    [
      { hooks: { beforePhase: { url: 'https://a.example', secretEnv: 'S', onFailure: 'ignore' } } },
      'hooks.beforePhase.onFailure: Invalid option: expected one of "halt"|"continue"',
    ],
    [{ hooks: { duringPhase: {} } }, 'hooks: Unrecognized key: "duringPhase"'],
    [
      { notifications: { webhook: { url: 'https://hooks.slack.com/x' } } },
      'notifications.webhook.urlEnv: Invalid input: expected string, received undefined',
    ],
  ])('%j is refused: %s', (policy, problem) => {
    const parsed = parsePolicy(policy);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.map(formatProblem)).toContain(problem);
  });
});

describe('messages', () => {
  const notice = (extra: Partial<Notice> = {}): Notice => ({
    rollout: 'r-2026-12',
    event: 'halted',
    status: 'Halted',
    detail: 'error budget exceeded: 1 error(s), at most 0 allowed',
    failed: { machines: [{ name: 'a1', outcome: 'InstallFailed' }], count: 1 },
    ...extra,
  });

  test.each([
    [
      notice(),
      'Rollout r-2026-12 halted: error budget exceeded: 1 error(s), at most 0 allowed\nFailed machines (1): a1 InstallFailed',
    ],
    [
      notice({
        event: 'gateOpened',
        status: 'WaitingForApproval',
        detail: 'gate "phase-1" (westus)',
        failed: { machines: [], count: 0 },
      }),
      'Rollout r-2026-12 waits for approval of gate "phase-1" (westus)',
    ],
    [
      notice({
        event: 'gateExpired',
        detail: 'gate "phase-1" expired without a decision',
        failed: { machines: [], count: 0 },
      }),
      'Rollout r-2026-12 halted: gate "phase-1" expired without a decision',
    ],
    [
      notice({ event: 'ended', status: 'Completed', detail: '30 of 31 machine(s) succeeded' }),
      'Rollout r-2026-12 ended Completed: 30 of 31 machine(s) succeeded\nFailed machines (1): a1 InstallFailed',
    ],
    [
      notice({ detail: 'hook <b> & co' }),
      'Rollout r-2026-12 halted: hook &lt;b&gt; &amp; co\nFailed machines (1): a1 InstallFailed',
    ],
  ])('chatMessage(%j).text', (n, text) => {
    const message = chatMessage(n);
    expect(message.text).toBe(text);
    expect(message.blocks).toEqual(
      text.split('\n').map((t) => ({ type: 'section', text: { type: 'mrkdwn', text: t } })),
    );
  });

  test(`names the first ${NOTICE_MACHINES} failed machines, then a count; only the count when none is known`, () => {
    const machines = Array.from({ length: 14 }, (_, i) => ({ name: `m${i}`, outcome: 'Unhealthy' as const }));
    const line = failedLine({ machines, count: 40 })!;
    expect(line.startsWith('Failed machines (40): m0 Unhealthy, m1 Unhealthy')).toBe(true);
    expect(line.endsWith('m9 Unhealthy and 30 more')).toBe(true);
    expect(failedLine({ machines: [], count: 3 })).toBe('Failed machines: 3');
    expect(failedLine({ machines: [], count: 0 })).toBeUndefined();
  });

  test('a halt names the hook, its phase and what went wrong; a delivery has a stable ID', () => {
    const payload: HookPayload = { rollout: 'r1', phase: 1, regions: ['westus'], event: 'beforePhase' };
    expect(hookHaltReason(payload, 'answered 503')).toBe('hook beforePhase of phase 1 failed: answered 503');
    expect(deliveryId(payload)).toBe('r1/beforePhase/phase-1');
  });
});

describe('activities', () => {
  const SECRET = 'correct horse battery staple';
  const env = { HOOK_SECRET: SECRET, HOOK_URL: '', CHAT_URL: '' };
  const activities = createWebhookActivities(env);
  const payload: HookPayload = { rollout: 'r1', phase: 0, regions: ['eastus'], event: 'beforePhase' };
  const hook = (url: string, extra: Record<string, unknown> = {}) =>
    hookSchema.parse({ url, secretEnv: 'HOOK_SECRET', ...extra });

  type Received = { headers: IncomingMessage['headers']; body: string; method?: string };
  async function receiver(status: number | ((r: Received) => number)) {
    const received: Received[] = [];
    const server = await startHttp((req, res) => {
      void bodyOf(req).then((body) => {
        const r = { headers: req.headers, body, method: req.method };
        received.push(r);
        res
          .writeHead(typeof status === 'number' ? status : status(r), { location: '/elsewhere' })
          .end('answer');
      });
    });
    return { ...server, received };
  }

  test('a hook is POSTed with its JSON body signed by an HMAC-SHA256 of the secret; 2xx passes', async () => {
    // The receiver checks the signature the way a user's endpoint would, with the shared secret.
    const server = await receiver((r) => {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      return r.headers['x-offpeak-signature'] === expected ? 204 : 401;
    });
    try {
      expect(await activities.callHook(hook(server.url), payload)).toEqual({ ok: true, status: 204 });
      const [r] = server.received;
      expect(r.method).toBe('POST');
      expect(JSON.parse(r.body)).toEqual(payload);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-offpeak-delivery']).toBe('r1/beforePhase/phase-0');
      expect(r.headers['x-offpeak-event']).toBe('beforePhase');
      // Signed with another secret, the same receiver refuses it.
      const forged = createWebhookActivities({ HOOK_SECRET: 'guess' });
      expect(await forged.callHook(hook(server.url), payload)).toEqual({
        ok: false,
        reason: 'answered 401: answer',
      });
    } finally {
      await server.close();
    }
  });

  test.each([
    [500, 'answered 500: answer'],
    [302, 'answered 302: answer'],
    [404, 'answered 404: answer'],
  ])('a hook answered %p failed: %s (redirects are not followed)', async (status, reason) => {
    const server = await receiver(status);
    try {
      expect(await activities.callHook(hook(server.url), payload)).toEqual({ ok: false, reason });
      expect(server.received).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  test('a hook that does not answer within timeoutSeconds failed', async () => {
    const silent = await startHttp(() => undefined);
    try {
      expect(await activities.callHook(hook(silent.url, { timeoutSeconds: 1 }), payload)).toEqual({
        ok: false,
        reason: 'unreachable: no answer within 1 s',
      });
    } finally {
      await silent.close();
    }
  });

  test('a hook whose variables are missing failed, naming the variable and never its value', async () => {
    const byEnv = hookSchema.parse({ urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' });
    expect(await activities.callHook(byEnv, payload)).toEqual({
      ok: false,
      reason: 'environment variable HOOK_URL is not set on the worker',
    });
    const server = await receiver(200);
    try {
      const unsigned = createWebhookActivities({ HOOK_URL: server.url });
      expect(await unsigned.callHook(byEnv, payload)).toEqual({
        ok: false,
        reason: 'environment variable HOOK_SECRET is not set on the worker',
      });
      expect(server.received).toHaveLength(0);
      // Read from the environment at the call: the URL is in no input.
      const signed = createWebhookActivities({ HOOK_URL: server.url, HOOK_SECRET: SECRET });
      expect(await signed.callHook(byEnv, payload)).toEqual({ ok: true, status: 200 });
    } finally {
      await server.close();
    }
  });

  const notice: Notice = {
    rollout: 'r1',
    event: 'halted',
    status: 'Halted',
    detail: 'hook beforePhase of phase 1 failed: answered 503',
    failed: { machines: [], count: 0 },
  };
  const chat = { webhook: { urlEnv: 'CHAT_URL' } };

  test('a notice is POSTed as Slack-compatible JSON to the URL in the named variable', async () => {
    const server = await receiver(200);
    try {
      await createWebhookActivities({ CHAT_URL: server.url }).notify(chat, notice);
      expect(JSON.parse(server.received[0].body)).toEqual(chatMessage(notice));
      expect(JSON.parse(server.received[0].body).text).toBe(
        'Rollout r1 halted: hook beforePhase of phase 1 failed: answered 503',
      );
    } finally {
      await server.close();
    }
  });

  test.each([
    [500, false],
    [429, false],
    [408, false],
    [404, true],
    [403, true],
  ])('a notice answered %p throws for the retry policy (non-retryable: %p)', async (status, nonRetryable) => {
    const server = await receiver(status);
    try {
      const failure = await createWebhookActivities({ CHAT_URL: server.url })
        .notify(chat, notice)
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({
        type: FAILURE.NotificationFailed,
        nonRetryable,
        message: `the notification webhook answered ${status}: answer`,
      });
    } finally {
      await server.close();
    }
  });

  test('a notice without its variable is not retried', async () => {
    await expect(activities.notify(chat, notice)).rejects.toMatchObject({
      type: FAILURE.NotificationFailed,
      nonRetryable: true,
      message: 'environment variable CHAT_URL is not set on the worker',
    });
  });
});
