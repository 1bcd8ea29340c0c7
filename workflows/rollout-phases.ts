import { condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HealthSignalVerdict } from '../domain/health-signals';
import type { RolloutInput } from '../domain/rollout-spec';
import { startRegion } from './children';
import type { RolloutState } from './rollout-state';

/**
 * The waits of a rollout's phase, beside its wiring (rollout.ts): the approval gate, the regions' run with
 * a health check after each step, and the bake. Every decision is the state's; these only wait and ask.
 */

const { checkHealthSignals } = proxyActivities<Activities>({
  // The source answers its own timeout (at most 120 s) as unreachable; this bounds a worker that hangs.
  startToCloseTimeout: '3 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** What the waits need of the rollout's workflow. */
export interface RolloutRun {
  state: RolloutState;
  /** Makes the state visible (details, memo, gauges) and sends the replies the regions are owed. */
  show(): void;
  /** Sends the replies the regions are owed. */
  reply(): void;
  /** The run's history is full: continue as new. */
  full(): boolean;
  /** A region this run started: its workflow's result, awaited before the run ends (rollout.ts). */
  started(result: Promise<unknown>): void;
  now(): string;
  expireAfterMinutes?: number;
}

/** Waits while the rollout is paused or halted (shown as it stands); false when it was cancelled meanwhile. */
export async function proceed({ state, show }: RolloutRun): Promise<boolean> {
  show();
  if (state.held()) await condition(() => !state.held());
  return !state.stopped;
}

/** The phase's approval gate, if it has one: true when the phase may start (approved, or expired and resumed). */
export async function passGate(run: RolloutRun, index: number): Promise<boolean> {
  const { state, show, expireAfterMinutes } = run;
  if (!state.openGate(index)) return true;
  show();
  if (expireAfterMinutes) await condition(() => state.gateSettled(), expireAfterMinutes * 60_000);
  else await condition(() => state.gateSettled());
  const next = state.closeGate(run.now());
  return next !== 'stop' && (await proceed(run));
}

/**
 * Starts the phase's regions together, each with the hold of the moment in its input: a pause that came
 * first holds its first step, and one that comes while they start is sent to each once it has started.
 */
export async function startRegions(run: RolloutRun, plan: RolloutInput, index: number): Promise<void> {
  await Promise.all(
    plan.regions
      .filter((r) => r.phase === index)
      .map(async (region) => {
        const first = run.state.firstReply();
        const handle = await startRegion(plan, region, first);
        run.started(handle.result());
        run.state.regionStarted(region.region, first);
        run.reply();
      }),
  );
}

/**
 * Asks the health signals for `regions`; an activity that fails is an unreachable Prometheus, never a pass.
 * Shown (and answered) when the steps of `regions` wait for it or the verdict changed something.
 */
async function askSignals({ state, show }: RolloutRun, regions: string[], stepsWait: boolean): Promise<void> {
  const request = state.watch.request(regions);
  let verdict: HealthSignalVerdict = { status: 'ok' };
  if (request && !state.stopped)
    verdict = await checkHealthSignals(request).catch((err: unknown) => ({
      status: 'unreachable' as const,
      reason: `the check failed: ${rootCause(err)}`,
    }));
  state.recordSignals(regions, verdict);
  if (stepsWait || verdict.status !== 'ok') show();
}

/**
 * Waits for the running phase's regions to end (or the run's history to fill), answering the health check
 * each step is owed before its region is acknowledged.
 */
export async function runPhase(run: RolloutRun): Promise<void> {
  const { state } = run;
  for (;;) {
    await condition(() => state.phaseEnded() || run.full() || state.watch.due.length > 0);
    if (state.watch.due.length === 0) return;
    await askSignals(run, [...state.watch.due], true);
  }
}

/**
 * A promoted phase's bake: its time, with the health signals asked every interval for the phase's regions
 * (and once more at its end); a halt or cancel ends it early. False when the history filled first.
 */
export async function bake(run: RolloutRun, regions: string[]): Promise<boolean> {
  const { state } = run;
  while (state.baking()) {
    const wait = state.watch.nextWait(Date.now());
    if (wait <= 0) break;
    if (await condition(() => !state.baking(), wait)) break;
    await askSignals(run, regions, false);
    if (run.full()) return false;
  }
  return true;
}

/** The innermost cause (the source's own message), not "Activity task failed". */
function rootCause(err: unknown): string {
  let cause = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}
