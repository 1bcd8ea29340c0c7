import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { GATE_DECISION, PHASE_STATUS, ROLLOUT_STATUS } from '../domain/outcomes';
import {
  hookHaltReason,
  NOTICE_MACHINES,
  type HookEvent,
  type HookPayload,
  type HookResult,
  type NoticeEvent,
} from '../domain/webhooks';
import type { RolloutState } from './rollout-state';

/**
 * What the rollout tells the world outside its machines (issue 11): the policy's `hooks` before and after
 * each phase, and notices to the `notifications` webhook when it halts, a gate opens or expires, and when
 * it ends. The rollout's wiring calls it at those points; every decision stays the state's.
 *
 * Notices never block the rollout: each is an activity started and not awaited for the rollout's progress
 * (its retries are the activity's; a failure is logged and stays in the history). A run ends, or continues
 * as new, only once its notices are settled (`idle`). Hooks are awaited: a failed one under
 * `onFailure: halt` halts the rollout before the phase's first machine (beforePhase) or before the next
 * phase (afterPhase), and an operator's override goes on without calling it again.
 */

const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 6,
  },
});

export class RolloutNotices {
  private inFlight = 0;
  /** What was told already: a run that continued as new starts from what its state shows. */
  private told: { halt?: string; gate?: string; expired: number; ended: boolean };
  private publish = () => this.observe();

  constructor(private readonly state: RolloutState) {
    this.told = {
      halt: state.status === ROLLOUT_STATUS.Halted ? state.reason : undefined,
      gate: state.log.openGate,
      expired: this.expired(),
      ended: state.ended(),
    };
  }

  /** `show`, then a notice for what changed since the last one. */
  telling(show: () => void): () => void {
    this.publish = () => {
      show();
      this.observe();
    };
    return this.publish;
  }

  /** No notice in flight: the run may end or continue as new. */
  idle(): boolean {
    return this.inFlight === 0;
  }

  /** The phase's beforePhase hook, then the rollout's hold; true when the phase may start. */
  async beforePhase(index: number, proceed: () => Promise<boolean>): Promise<boolean> {
    await this.hook('beforePhase', index);
    return proceed();
  }

  /** The phase's afterPhase hook, then the rollout's hold; true when the next phase may come. */
  async afterPhase(index: number, proceed: () => Promise<boolean>): Promise<boolean> {
    await this.hook('afterPhase', index);
    return !this.state.stopped && proceed();
  }

  private async hook(event: HookEvent, index: number): Promise<void> {
    const { state } = this;
    const hook = state.input.settings.hooks?.[event];
    if (!hook || state.stopped) return;
    const phase = state.phases[index];
    const payload: HookPayload = {
      rollout: state.input.rolloutId,
      phase: index,
      regions: phase.regions,
      event,
      ...(event === 'afterPhase' ? { status: phase.status } : {}),
    };
    const { callHook } = proxyActivities<Activities>({
      startToCloseTimeout: (hook.timeoutSeconds + 30) * 1000,
      retry: { maximumAttempts: 3 },
    });
    const result: HookResult = await callHook(hook, payload).catch((err: unknown) => ({
      ok: false as const,
      reason: err instanceof Error ? err.message : String(err),
    }));
    if (result.ok) return;
    if (hook.onFailure === 'continue')
      log.warn('hook failed; the policy says continue', { event, phase: index, reason: result.reason });
    else if (!state.stopped && state.status !== ROLLOUT_STATUS.Halted)
      state.halt(hookHaltReason(payload, result.reason));
    this.publish();
  }

  private expired(): number {
    return this.state.log.records.filter((g) => g.decision === GATE_DECISION.expired).length;
  }

  private observe(): void {
    const { state, told } = this;
    if (!state.input.settings.notifications) return;
    const expired = this.expired();
    const halt = state.status === ROLLOUT_STATUS.Halted ? state.reason : undefined;
    if (expired > told.expired) this.tell('gateExpired', halt ?? 'a gate expired without a decision');
    // A cancel shows in a halt's reason: the end tells it.
    else if (halt !== undefined && halt !== told.halt && !state.stopped) this.tell('halted', halt);
    told.expired = expired;
    if (!state.stopped) told.halt = halt;
    const gate = state.log.openGate;
    if (gate !== undefined && gate !== told.gate) {
      const regions = state.phases.find((p) => p.status === PHASE_STATUS.WaitingForApproval)?.regions ?? [];
      this.tell('gateOpened', `gate "${gate}" (${regions.join(', ')})`);
    }
    told.gate = gate;
    if (state.ended() && !told.ended) {
      told.ended = true;
      const planned = state.regions.sum((t) => t.total);
      const succeeded = state.regions.sum((t) => t.succeeded);
      this.tell('ended', `${succeeded} of ${planned} machine(s) succeeded`);
    }
  }

  private tell(event: NoticeEvent, detail: string): void {
    const { state } = this;
    const count = state.regions.sum((t) => t.failing);
    const notice = {
      rollout: state.input.rolloutId,
      event,
      status: state.status,
      detail,
      // The state's failed machines (the first of each phase, carried across continue-as-new).
      failed: {
        machines: count
          ? state.regions.failed.slice(0, NOTICE_MACHINES).map(({ name, outcome }) => ({ name, outcome }))
          : [],
        count,
      },
    };
    this.inFlight++;
    void notify(state.input.settings.notifications!, notice)
      .catch((err: unknown) =>
        log.warn('notification failed', { event, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => this.inFlight--);
  }
}
