import {
  type ActivityFailure,
  log,
  setCurrentDetails,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { countOutcomes, type InstallResult } from '../domain/patches';
import { FAILURE } from '../domain/failures';
import { OUTCOME, type AttemptOutcome } from '../domain/outcomes';
import { selectPatches } from '../domain/patch-selection';
import { shouldReboot } from '../domain/reboot';
import { canStartInstall, canStartReboot, latestInstallEnd } from '../domain/windows/start-rules';
import { ATTEMPT_MEMO_KEY, SA, type MachineAttemptInput, type MachineAttemptResult } from './messages';
import { countMachineAttempt } from './metrics';
import {
  awaitSiteWorker,
  causeOf,
  failureType,
  isInfrastructure,
  machineSteps,
  memoOf,
  patchesAfterRereading,
  rereadHost,
} from './machine-steps';

type Window = { start: number; end: number };
type Ending = { outcome: AttemptOutcome; detail?: string }; // how a step, or the attempt, ended

const ALWAYS_OPEN = (now: number): Window => ({ start: now, end: Number.MAX_SAFE_INTEGER });
const end = (outcome: AttemptOutcome, detail?: string): Ending => ({ outcome, detail });

/** One attempt on one machine, inside its window: assess, select, pre-script, install, reboot, post-script, health. */
export async function machineAttemptWorkflow(input: MachineAttemptInput): Promise<MachineAttemptResult> {
  const { machine, attempt, settings } = input;
  const op = { id: input.rolloutId, attempt };
  // Every step's retries end with the window it runs in, or the rollout's deadline (workflows/machine-steps.ts).
  let window: Window | undefined;
  const steps = machineSteps(machine, () => Math.min(window?.end ?? settings.deadline, settings.deadline));
  const result: MachineAttemptResult = {
    name: machine.name,
    attempt,
    outcome: OUTCOME.Succeeded,
    counts: countOutcomes([]),
    patches: [],
    rebooted: false,
  };
  const finish = (outcome: AttemptOutcome, detail?: string): MachineAttemptResult => {
    result.outcome = outcome;
    result.detail = detail;
    if (result.startedAt && !result.finishedAt) result.finishedAt = new Date(Date.now()).toISOString();
    upsertSearchAttributes([{ key: SA.outcome, value: outcome }]);
    countMachineAttempt(input.rolloutId, machine.region, outcome);
    setCurrentDetails(`**${outcome}**${detail ? `: ${detail}` : ''}`);
    upsertMemo({ [ATTEMPT_MEMO_KEY]: memoOf(result, machine) });
    return result;
  };

  // 0. A site's machine waits for its site's worker, saying so after a while (workflows/machine-steps.ts).
  if (!(await awaitSiteWorker(machine, settings, () => memoOf(result, machine))))
    return finish(OUTCOME.Interrupted, `no worker on task queue ${machine.taskQueue} before the deadline`);

  // 1. Wait for the machine's window. After every durable wait the window is checked again against the
  // clock: a timer that fires late (workers down for hours) must not patch outside the window.
  if (input.notBefore !== undefined && machine.schedule !== null && input.notBefore > Date.now())
    await sleep(input.notBefore - Date.now());
  for (;;) {
    const now = Date.now();
    if (now > settings.deadline)
      return finish(OUTCOME.WindowMissed, 'the rollout deadline passed before a window opened');
    if (machine.schedule === null) {
      window = ALWAYS_OPEN(now);
      break;
    }
    let next;
    try {
      next = await steps.findWindow()(machine.schedule, now);
    } catch (err) {
      if (!isInfrastructure(err)) throw err;
      return finish(OUTCOME.Interrupted, `no worker computed the window: ${causeOf(err)}`);
    }
    // The answer can arrive late (workers down, retries): judge it by the clock now, not when asked.
    const at = Date.now();
    if (!next || next.start > settings.deadline)
      return finish(OUTCOME.WindowMissed, 'no window opens before the rollout deadline');
    if (next.start > at) {
      setCurrentDetails(`Waiting for the maintenance window opening ${new Date(next.start).toISOString()}`);
      await sleep(next.start - at);
      continue;
    }
    if (canStartInstall(next, at)) {
      window = next;
      break;
    }
    // Too little of this window is left to start (or it passed while we asked): wait for the next one.
    if (next.end - at + 1000 > 0) await sleep(next.end - at + 1000);
  }
  if (window.end !== Number.MAX_SAFE_INTEGER) result.windowEnd = window.end;
  setCurrentDetails(
    `In window until ${window.end === Number.MAX_SAFE_INTEGER ? 'open-ended' : new Date(window.end).toISOString()}`,
  );

  // 2. Assess.
  let assessment;
  try {
    assessment = await steps.quick().assess(machine, op);
  } catch (err) {
    if (failureType(err) === FAILURE.MachineUnreachable)
      return finish(OUTCOME.Unreachable, 'could not be reached to assess');
    if (isInfrastructure(err))
      return finish(OUTCOME.Interrupted, `the assessment did not finish: ${causeOf(err)}`);
    throw err;
  }
  result.assessedAt = assessment.assessedAt;

  // 3. Select (pure): hotpatch months install only hotpatches on hotpatch-capable images.
  const hotpatchOnly = machine.hotpatchCapable && settings.monthType === 'hotpatch';
  const selection = selectPatches(assessment.patches, { ...settings.selection, hotpatchOnly });
  result.patches = selection.outcomes;
  result.counts = countOutcomes(selection.outcomes);
  const needsReboot = (required: boolean) => shouldReboot(settings.rebootSetting, required, hotpatchOnly);
  if (selection.selected.length === 0 && !needsReboot(assessment.rebootPending))
    return finish(OUTCOME.Succeeded, 'nothing to install');
  if (!canStartInstall(window, Date.now()))
    return finish(OUTCOME.WindowMissed, 'the window closed during assessment');

  // 4. Pre-script, install, reboot, post-script, health. Steps retry across worker deaths until the window's
  // end; a step that still fails for infrastructure reasons ends the attempt Interrupted, with the host read
  // again so that the record says what was done. After a successful pre-script, the post-script runs whatever
  // fails later (the saga, `postScriptAfterFailure`), and the attempt records both outcomes.
  result.startedAt = new Date(Date.now()).toISOString();
  try {
    if (machine.preScript) await steps.long().runScript(machine, op, 'pre', machine.preScript);
  } catch (err) {
    if (failureType(err) === FAILURE.ScriptFailed)
      return finish(OUTCOME.PreScriptFailed, (err as ActivityFailure).cause?.message);
    if (isInfrastructure(err))
      return finish(OUTCOME.Interrupted, `the pre-script did not finish: ${causeOf(err)}`);
    throw err;
  }
  const selected = selection.selected;
  let install: InstallResult | undefined;
  let bootBefore: string | undefined;
  let stage = 'the install';

  /** Install and reboot; an ending when the attempt stops there. */
  const disrupt = async (): Promise<Ending | undefined> => {
    const deadline = Math.min(latestInstallEnd(window!, machine.os), settings.deadline);
    try {
      install = await steps.long().install(machine, op, selected, deadline);
    } catch (err) {
      const type = failureType(err);
      if (type === FAILURE.MachineUnreachable)
        return end(OUTCOME.Unreachable, 'lost the machine during install');
      if (type === FAILURE.InstallFailed)
        return end(OUTCOME.InstallFailed, (err as ActivityFailure).cause?.message);
      throw err;
    }
    // Outcomes of the patches not selected, then the install's outcome of every selected one.
    result.patches = [...selection.outcomes, ...install.patches];
    result.counts = countOutcomes(result.patches);
    if (!needsReboot(install.rebootRequired)) return undefined;
    if (!canStartReboot(window!, Date.now(), machine.os))
      return end(OUTCOME.Pending, 'installed, but too little of the window is left to reboot');
    stage = 'the reboot';
    bootBefore = await steps.quick().bootId(machine, op);
    setCurrentDetails('Rebooting');
    await steps.quick().reboot(machine, op, bootBefore);
    try {
      await steps.long().waitForBoot(machine, op, bootBefore);
    } catch (err) {
      if (failureType(err) === FAILURE.DidNotComeBack)
        return end(OUTCOME.DidNotComeBack, 'did not come back from its reboot within 15 minutes');
      throw err;
    }
    result.rebooted = true;
    return undefined;
  };

  /** After an infrastructure failure: the host read again (what is installed, its boot id), and recorded. */
  const interrupted = async (what: string, err: unknown): Promise<Ending> => {
    const host = await rereadHost(steps.quick(), machine, op, bootBefore);
    if (host.assessedAt) result.assessedAt = host.assessedAt;
    const known = install?.patches ?? [];
    result.patches = [...selection.outcomes, ...patchesAfterRereading(selected, known, host.offered)];
    result.counts = countOutcomes(result.patches);
    if (host.bootId !== undefined && bootBefore !== undefined) result.rebooted ||= host.bootId !== bootBefore;
    const found = `${result.counts.installed} patch(es) installed${result.rebooted ? ', rebooted' : ''}`;
    const note = host.unread.length ? `; could not read ${host.unread.join(' or ')}` : '';
    return end(
      OUTCOME.Interrupted,
      `${what} did not finish (${causeOf(err)}); the host shows ${found}${note}`,
    );
  };

  /** The post-script's own ending: Succeeded, PostScriptFailed, Interrupted, or Errored. */
  const postScript = async (): Promise<Ending> => {
    try {
      if (machine.postScript) await steps.long().runScript(machine, op, 'post', machine.postScript);
      return end(OUTCOME.Succeeded);
    } catch (err) {
      if (failureType(err) === FAILURE.ScriptFailed)
        return end(OUTCOME.PostScriptFailed, (err as ActivityFailure).cause?.message);
      return end(isInfrastructure(err) ? OUTCOME.Interrupted : OUTCOME.Errored, causeOf(err));
    }
  };

  let failed: Ending | undefined;
  try {
    failed = await disrupt();
  } catch (err) {
    if (!isInfrastructure(err)) {
      if (machine.preScript && settings.postScriptAfterFailure !== false) await postScript();
      throw err;
    }
    failed = await interrupted(stage, err);
  }
  if (failed) {
    if (machine.preScript && machine.postScript && settings.postScriptAfterFailure !== false) {
      const post = await postScript();
      result.postScriptAfterFailure = post;
      const how = post.outcome === OUTCOME.Succeeded ? 'succeeded' : `${post.outcome}: ${post.detail}`;
      failed = end(failed.outcome, `${failed.detail}; the post-script ran after the failure: ${how}`);
    }
    return finish(failed.outcome, failed.detail);
  }

  const post = await postScript();
  if (post.outcome === OUTCOME.Interrupted)
    return finish(post.outcome, `the post-script did not finish: ${post.detail}`);
  if (post.outcome !== OUTCOME.Succeeded) return finish(post.outcome, post.detail);

  let health;
  try {
    health = await steps.quick().healthCheck(machine, op);
  } catch (err) {
    if (!isInfrastructure(err)) throw err;
    return finish(OUTCOME.Interrupted, `the health check did not finish: ${causeOf(err)}`);
  }
  result.finishedAt = new Date(Date.now()).toISOString();
  if (!health.healthy) return finish(OUTCOME.Unhealthy, health.detail);
  if (result.counts.failed > 0)
    return finish(OUTCOME.InstallFailed, `${result.counts.failed} patch(es) failed`);
  if (result.counts.pending > 0)
    return finish(OUTCOME.Pending, `${result.counts.pending} patch(es) pending: the window ran out`);
  log.info('machine patched', { machine: machine.name, attempt, installed: result.counts.installed });
  return finish(OUTCOME.Succeeded);
}
