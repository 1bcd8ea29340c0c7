import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { regionWorkflowId } from './ids';
import { handleOperatorCommands } from './rollout-commands';
import { RolloutNotices } from './rollout-notices';
import {
  EVENTS_PER_RUN,
  SA,
  statusQuery,
  stepReplySignal,
  stepReportSignal,
  type RolloutSummary,
  type RolloutWorkflowInput,
} from './messages';
import { bake, passGate, proceed, runPhase, startRegions, type RolloutRun } from './rollout-phases';
import { publisher } from './rollout-visibility';
import { RolloutState } from './rollout-state';

/**
 * The monthly rollout: phases of regions one after another, each behind an optional approval gate and
 * promoted only when its own machines' health holds, then baked while its health signals are watched.
 * Regions run as children and talk to it in one request/reply (a step's report, the rollout's answer). The
 * state and every rule live in `RolloutState`, the waits in rollout-phases.ts; this function wires handlers
 * and waits. It continues as new while its regions run or its phase bakes, carrying counts only,
 * so a rollout of any size stays under Temporal's history limits (docs/scale.md).
 */
export async function rolloutWorkflow(input: RolloutWorkflowInput): Promise<RolloutSummary> {
  const { continued, ...plan } = input;
  const state = new RolloutState(plan, continued);
  const now = () => new Date(Date.now()).toISOString();
  const notices = new RolloutNotices(state); // hooks and notifications
  const publish = notices.telling(publisher(state));
  /**
   * Sends the replies the state owes its regions. The signals are issued now, in this workflow task, and
   * not awaited: a handler answers its caller at once, and a region that has ended needs no reply.
   */
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
  /**
   * Regions this run started whose workflows have not closed. A region closes just after its last report is
   * answered, and its closing is an event of this run: a run that completed as it arrived would have its
   * last workflow task failed (UnhandledCommand) and replayed, so the run ends after them.
   */
  let open = 0;
  /** Every operator command and report: decided by the state, made visible, answered to the regions. */
  const handle = <T>(decide: () => T): T => {
    const decision = decide();
    publish();
    reply();
    return decision;
  };
  setHandler(statusQuery, () => state.summary());
  setHandler(stepReportSignal, (report) => handle(() => state.recordStep(report)));
  handleOperatorCommands(state, handle);

  const historyFull = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= (plan.eventsPerRun ?? EVENTS_PER_RUN);

  if (!continued)
    upsertSearchAttributes([
      { key: SA.kind, value: 'rollout' },
      { key: SA.rollout, value: plan.rolloutId },
    ]);
  publish();

  const run: RolloutRun = {
    state,
    show: () => handle(() => undefined),
    reply,
    full: historyFull,
    started(result) {
      open++;
      void result.catch(() => undefined).finally(() => open--);
    },
    now,
    expireAfterMinutes: plan.settings.approvals.expireAfterMinutes,
  };
  /** Every reply delivered, the next run starts from the state alone. */
  const carryOn = async () => {
    await condition(quiet);
    await continueAsNew<typeof rolloutWorkflow>({ ...plan, continued: state.carry() });
  };

  for (const phase of state.phases) {
    const i = phase.index;
    // A continued run resumes inside the phase it left: earlier phases are settled, its regions started.
    if (continued && i < continued.phase) continue;
    const resumed = continued && i === continued.phase;
    if (!resumed) {
      if (!(await proceed(run)) || !(await passGate(run, i))) break;
      if (!(await notices.beforePhase(i, () => proceed(run)))) break;
      state.startPhase(i, now());
      publish();
      await startRegions(run, plan, i);
    }
    if (!(resumed && state.watch.bake)) {
      await runPhase(run);
      if (!state.phaseEnded()) await carryOn();
      state.finishPhase(now());
      publish();
    }
    if (!(await bake(run, phase.regions))) await carryOn();
    state.endBake();
    if (!(await notices.afterPhase(i, () => proceed(run)))) break;
    state.promoteAfterOverride();
  }

  state.finish();
  publish();
  await condition(() => quiet() && open === 0);
  return state.summary();
}
