import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readLedger } from '../../activities/drivers/simulated';
import { approveUpdate, cancelUpdate, resumeUpdate, statusQuery } from '../../workflows/messages';
import { bodyOf, startHttp } from '../support/http';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import {
  driversOf,
  rolloutResult,
  startRollout,
  steer,
  waitForStatus,
  waitUntil,
  withWorker,
} from '../support/workflow-harness';

/**
 * The rollout's outgoing webhooks on the time-skipping server, received by local HTTP servers: notices
 * to the chat webhook, and the beforePhase / afterPhase hooks with their failure policy. The activities
 * read the URLs and the secret from this process's environment, as a worker reads its own.
 */

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;

timeSkippingServer('test', (e) => (env = e));

const SECRET = 'hook-secret-for-tests';
process.env.OFFPEAK_TEST_HOOK_SECRET = SECRET;

interface Delivery {
  body: Record<string, unknown>;
  signed: boolean;
}

/** A receiver that records what it is sent (and whether the HMAC holds) and answers `status(body)`. */
async function receiver(status: (body: Record<string, unknown>) => number = () => 200) {
  const received: Delivery[] = [];
  const server = await startHttp((req, res) => {
    void bodyOf(req).then((raw) => {
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      const body = JSON.parse(raw) as Record<string, unknown>;
      received.push({ body, signed: req.headers['x-offpeak-signature'] === expected });
      res.writeHead(status(body)).end(status(body) >= 300 ? 'change freeze in effect' : 'ok');
    });
  });
  return { ...server, received };
}

/** Machines the simulated hosts saw an install on. */
async function installed(stateDir: string): Promise<Set<string>> {
  return new Set((await readLedger(stateDir)).filter((e) => e.kind === 'install').map((e) => e.machine));
}

const fleet = {
  machines: [vm('a1', { zone: '1' }), vm('a2', { zone: '2' }), vm('w1', { region: 'westus' })],
};

test('a halt is told to the chat webhook, naming the failed machine; so is the end', async () => {
  const chat = await receiver();
  process.env.OFFPEAK_TEST_CHAT_URL = chat.url;
  try {
    const input = rolloutInputOf({
      rolloutId: 'notice-halt',
      fleet: { machines: [vm('a1', { simulation: { failInstall: true } }), vm('w1', { region: 'westus' })] },
      policy: {
        windows: 'always',
        errorBudget: 0,
        phases: [['eastus'], ['westus']],
        notifications: { webhook: { urlEnv: 'OFFPEAK_TEST_CHAT_URL' } },
      },
      now: new Date(await env.currentTimeMs()),
    });
    // The URL is read by the activity: the rollout's input (its history) holds only the variable's name.
    expect(JSON.stringify(input)).not.toContain(chat.url);
    const report = await withWorker(env, driversOf({ stateDir: tempDir('notice-halt') }), async () => {
      const handle = await startRollout(env, input);
      await waitForStatus(handle, (r) => r.status === 'Halted', 'the rollout to halt');
      await waitUntil(
        async () => chat.received.length,
        (n) => n >= 1,
        'the halt notice',
      );
      expect(await steer(handle, cancelUpdate, { by: 'bob', reason: 'bad patch' })).toEqual({
        accepted: true,
      });
      return rolloutResult(env, handle);
    });
    expect(report.status).toBe('Canceled');
    // The workflow ended only once its notices were delivered.
    const [halt, end] = chat.received.map((d) => String(d.body.text).split('\n'));
    expect(chat.received).toHaveLength(2);
    expect(halt[0]).toMatch(/^Rollout notice-halt halted: error budget exceeded.*a1 InstallFailed/);
    expect(halt[1]).toBe('Failed machines (1): a1 InstallFailed');
    expect(end).toEqual([
      'Rollout notice-halt ended Canceled: 0 of 2 machine(s) succeeded',
      'Failed machines (1): a1 InstallFailed',
    ]);
    expect(chat.received[0].body.blocks).toHaveLength(2);
  } finally {
    await chat.close();
  }
});

test('a gate that opens and one that expires are told; a failing chat webhook never blocks the rollout', async () => {
  // Every notice's first try fails: the activity's retry policy delivers it on the next.
  const tried = new Set<unknown>();
  const chat = await receiver((body) => (tried.has(body.text) ? 200 : (tried.add(body.text), 503)));
  process.env.OFFPEAK_TEST_CHAT_URL = chat.url;
  try {
    const input = rolloutInputOf({
      rolloutId: 'notice-gate',
      fleet,
      policy: {
        windows: 'always',
        phases: [['eastus'], ['westus']],
        approvals: { beforePhases: [1], approvers: ['alice'], expireAfterMinutes: 60 },
        notifications: { webhook: { urlEnv: 'OFFPEAK_TEST_CHAT_URL' } },
      },
      now: new Date(await env.currentTimeMs()),
    });
    const stateDir = tempDir('notice-gate');
    const report = await withWorker(env, driversOf({ stateDir }), async () => {
      const handle = await startRollout(env, input);
      await waitForStatus(handle, (r) => r.openGate === 'phase-1', 'gate phase-1 open');
      await env.sleep('2 hours'); // time skipping: the gate expires
      await waitForStatus(handle, (r) => r.status === 'Halted', 'the expired gate to halt');
      expect(await steer(handle, resumeUpdate, { by: 'alice', override: true })).toEqual({ accepted: true });
      return rolloutResult(env, handle);
    });
    expect(report.status).toBe('Completed');
    expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2', 'w1']));
    const texts = chat.received.map((d) => d.body.text);
    // Each notice twice (refused, then delivered), in the order they were told.
    expect(texts).toHaveLength(6);
    expect([...new Set(texts)]).toEqual([
      'Rollout notice-gate waits for approval of gate "phase-1" (westus)',
      'Rollout notice-gate halted: gate "phase-1" expired without a decision',
      'Rollout notice-gate ended Completed: 3 of 3 machine(s) succeeded',
    ]);
  } finally {
    await chat.close();
  }
});

const hooked = (onFailure: 'halt' | 'continue', url: string) => ({
  windows: 'always',
  phases: [['eastus'], ['westus']],
  approvals: { approvers: ['alice'] },
  hooks: {
    beforePhase: { url, secretEnv: 'OFFPEAK_TEST_HOOK_SECRET', onFailure, timeoutSeconds: 5 },
    afterPhase: { url, secretEnv: 'OFFPEAK_TEST_HOOK_SECRET', onFailure, timeoutSeconds: 5 },
  },
});

test('a beforePhase hook that fails under onFailure halt halts the rollout before any machine of its phase starts', async () => {
  // The change calendar refuses westus's phase.
  const hook = await receiver((body) => (body.event === 'beforePhase' && body.phase === 1 ? 409 : 200));
  try {
    const input = rolloutInputOf({
      rolloutId: 'hook-halt',
      fleet,
      policy: hooked('halt', hook.url),
      now: new Date(await env.currentTimeMs()),
    });
    const stateDir = tempDir('hook-halt');
    const report = await withWorker(env, driversOf({ stateDir }), async () => {
      const handle = await startRollout(env, input);
      const halted = await waitForStatus(
        handle,
        (r) => r.status === 'Halted',
        'the hook to halt the rollout',
      );
      expect(halted.reason).toBe('hook beforePhase of phase 1 failed: answered 409: change freeze in effect');
      expect(halted.phases.map((p) => p.status)).toEqual(['Succeeded', 'Pending']);
      expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2']));
      expect((await handle.query(statusQuery)).regions.find((r) => r.region === 'westus')?.done).toBe(0);
      expect(await steer(handle, cancelUpdate, { by: 'alice', reason: 'after the freeze' })).toEqual({
        accepted: true,
      });
      return rolloutResult(env, handle);
    });
    expect(report.status).toBe('Canceled');
    expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2']));
    expect(report.machines.find((m) => m.name === 'w1')?.outcome).toBe('NotStarted');
    expect(hook.received.map((d) => [d.body.event, d.body.phase, d.body.status, d.signed])).toEqual([
      ['beforePhase', 0, undefined, true],
      ['afterPhase', 0, 'Succeeded', true],
      ['beforePhase', 1, undefined, true],
    ]);
    expect(hook.received[2].body).toEqual({
      rollout: 'hook-halt',
      phase: 1,
      regions: ['westus'],
      event: 'beforePhase',
    });
  } finally {
    await hook.close();
  }
});

test('a hook that fails under onFailure continue lets the rollout go on', async () => {
  const hook = await receiver(() => 500);
  try {
    const input = rolloutInputOf({
      rolloutId: 'hook-continue',
      fleet,
      policy: hooked('continue', hook.url),
      now: new Date(await env.currentTimeMs()),
    });
    const stateDir = tempDir('hook-continue');
    const report = await withWorker(env, driversOf({ stateDir }), async () =>
      rolloutResult(env, await startRollout(env, input)),
    );
    expect(report.status).toBe('Completed');
    expect(report.phases.map((p) => p.status)).toEqual(['Succeeded', 'Succeeded']);
    expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2', 'w1']));
    expect(hook.received.map((d) => [d.body.event, d.body.phase, d.signed])).toEqual([
      ['beforePhase', 0, true],
      ['afterPhase', 0, true],
      ['beforePhase', 1, true],
      ['afterPhase', 1, true],
    ]);
  } finally {
    await hook.close();
  }
});

test('resume --override after a beforePhase halt starts the phase without calling the hook again', async () => {
  const hook = await receiver((body) => (body.event === 'beforePhase' && body.phase === 1 ? 503 : 200));
  try {
    const input = rolloutInputOf({
      rolloutId: 'hook-override',
      startedBy: 'carol',
      fleet,
      policy: hooked('halt', hook.url),
      now: new Date(await env.currentTimeMs()),
    });
    const stateDir = tempDir('hook-override');
    const report = await withWorker(env, driversOf({ stateDir }), async () => {
      const handle = await startRollout(env, input);
      await waitForStatus(handle, (r) => r.status === 'Halted', 'the hook to halt the rollout');
      expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2']));
      expect(await steer(handle, resumeUpdate, { by: 'alice', override: true })).toEqual({ accepted: true });
      return rolloutResult(env, handle);
    });
    expect(report.status).toBe('Completed');
    expect(await installed(stateDir)).toEqual(new Set(['a1', 'a2', 'w1']));
    expect(hook.received.map((d) => [d.body.event, d.body.phase, d.body.status])).toEqual([
      ['beforePhase', 0, undefined],
      ['afterPhase', 0, 'Succeeded'],
      ['beforePhase', 1, undefined],
      ['afterPhase', 1, 'Succeeded'],
    ]);
  } finally {
    await hook.close();
  }
});

test('a rollout that continues as new tells each notice once, and ends once they are delivered', async () => {
  const chat = await receiver();
  process.env.OFFPEAK_TEST_CHAT_URL = chat.url;
  try {
    const machines = Array.from({ length: 6 }, (_, i) =>
      vm(`e${i + 1}`, {
        zone: String((i % 3) + 1),
        ...(i === 0 ? { simulation: { failInstall: true } } : {}),
      }),
    );
    const input = {
      ...rolloutInputOf({
        rolloutId: 'notice-continued',
        fleet: { machines: [...machines, vm('w1', { region: 'westus' })] },
        policy: {
          windows: 'always',
          errorBudget: '50%',
          maxAttempts: 1,
          phases: [['eastus'], ['westus']],
          approvals: { beforePhases: [1], approvers: ['alice'] },
          notifications: { webhook: { urlEnv: 'OFFPEAK_TEST_CHAT_URL' } },
        },
        now: new Date(await env.currentTimeMs()),
      }),
      eventsPerRun: 40,
    };
    const { report, continued } = await withWorker(
      env,
      driversOf({ stateDir: tempDir('notice-continued') }),
      async () => {
        const handle = await startRollout(env, input);
        await waitForStatus(handle, (r) => r.openGate === 'phase-1', 'gate phase-1 open');
        expect(await steer(handle, approveUpdate, { gate: 'phase-1', by: 'alice' })).toEqual({
          accepted: true,
        });
        const report = await rolloutResult(env, handle);
        // The last run's start names the run it continued from.
        const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
        return { report, continued: Boolean(started?.continuedExecutionRunId) };
      },
    );
    expect(report.status).toBe('Completed');
    expect(continued).toBe(true);
    expect(chat.received.map((d) => d.body.text)).toEqual([
      // e1's failure counts in every run; its name is known to the run that saw it (docs/operations.md).
      expect.stringMatching(
        /^Rollout notice-continued waits for approval of gate "phase-1" \(westus\)\nFailed machines/,
      ),
      expect.stringMatching(
        /^Rollout notice-continued ended Completed: 6 of 7 machine\(s\) succeeded\nFailed machines/,
      ),
    ]);
  } finally {
    await chat.close();
  }
});
