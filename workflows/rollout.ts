import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { startRegion } from './children';
import { handleOperatorCommands } from './rollout-commands';
import { regionWorkflowId } from './ids';
import {
  EVENTS_PER_RUN,
  SA,
  statusQuery,
  stepReplySignal,
  stepReportSignal,
  type RolloutSummary,
  type RolloutWorkflowInput,
} from './messages';
import { RolloutNotices } from './rollout-notices';
import { publisher } from './rollout-visibility';
import { RolloutState } from './rollout-state';

/**
 * The monthly rollout: phases of regions one after another, each behind an optional approval gate and
 * promoted only when its own machines' health holds. Regions run as children and talk to it in one
 * request/reply (a step's report, the rollout's answer). The state and every rule live in `RolloutState`;
 * this function wires handlers and waits. It continues as new while its regions run, carrying counts only,
 * so a rollout of any size stays under Temporal's history limits (docs/scale.md).
 */
export async function rolloutWorkflow(input: RolloutWorkflowInput): Promise<RolloutSummary> {
  const { continued, ...plan } = input;
  const state = new RolloutState(plan, continued);
  const now = () => new Date(Date.now()).toISOString();
  const notices = new RolloutNotices(state); // hooks and notifications
  const publish = notices.telling(publisher(state));
  /** Sends the replies the state owes its regions, now and not awaited: a handler answers at once. */
  let replying = 0;
  const reply = () => {
    for (const { region, reply } of state.takeReplies()) {
      replying++;
      void getExternalWorkflowHandle(regionWorkflowId(plan.rolloutId, region))
        .signal(stepReplySignal, reply)
        .catch(() => undefined)
        .finally(() => replying--);
    }
  };
  /** The server drops a signal still in flight when its sender's run closes: a run ends only once all are delivered. */
  const quiet = () => allHandlersFinished() && replying === 0 && notices.idle();
  /** Every operator command and report: decided by the state, made visible, answered to the regions. */
  const handle = <T>(decide: () => T): T => {
    const decision = decide();
    publish();
    reply();
    return decision;
  };
  setHandler(statusQuery, () => state.summary());
  setHandler(stepReportSignal, (report) => handle(() => state.recordStep(notices.seen(report))));
  handleOperatorCommands(state, handle);

  /** Waits while the rollout is paused or halted; false when it was cancelled meanwhile. */
  const proceed = async (): Promise<boolean> => {
    if (state.held()) {
      state.showPaused();
      publish();
      await condition(() => !state.held());
    }
    return !state.stopped;
  };
  const historyFull = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= (plan.eventsPerRun ?? EVENTS_PER_RUN);

  if (!continued)
    upsertSearchAttributes([
      { key: SA.kind, value: 'rollout' },
      { key: SA.rollout, value: plan.rolloutId },
    ]);
  publish();

  for (const phase of state.phases) {
    const i = phase.index;
    // A continued run resumes inside the phase it left: earlier phases are settled, its regions started.
    if (continued && i < continued.phase) continue;
    if (!(continued && i === continued.phase)) {
      if (!(await proceed())) break;
      if (state.openGate(i)) {
        publish();
        const { expireAfterMinutes } = plan.settings.approvals;
        if (expireAfterMinutes) await condition(() => state.gateSettled(), expireAfterMinutes * 60_000);
        else await condition(() => state.gateSettled());
        const next = state.closeGate(now());
        publish();
        if (next === 'stop' || !(await proceed())) break;
      }
      if (!(await notices.beforePhase(i, proceed))) break;
      state.startPhase(i, now());
      publish();
      for (const region of plan.regions.filter((r) => r.phase === i)) await startRegion(plan, region);
      reply(); // a hold that arrived while the regions started
    }

    await condition(() => state.phaseEnded() || historyFull());
    if (!state.phaseEnded()) {
      // Every reply has been delivered: the next run starts from the state alone.
      await condition(quiet);
      await continueAsNew<typeof rolloutWorkflow>({ ...plan, continued: state.carry() });
    }
    state.finishPhase(now());
    publish();
    if (!(await notices.afterPhase(i, proceed))) break;
    state.promoteAfterOverride();
  }

  state.finish();
  publish();
  await condition(quiet);
  return state.summary();
}
