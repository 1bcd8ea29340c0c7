import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  setCurrentDetails,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { countOutcomes } from '../domain/patches';
import { FAILURE, NON_RETRYABLE_FAILURES } from '../domain/failures';
import { OUTCOME, type AttemptOutcome } from '../domain/outcomes';
import { selectPatches } from '../domain/patch-selection';
import { shouldReboot } from '../domain/reboot';
import type { MachineSpec } from '../domain/rollout-spec';
import { canStartInstall, canStartReboot, latestInstallEnd } from '../domain/windows/start-rules';
import {
  ATTEMPT_MEMO_KEY,
  SA,
  type MachineAttemptInput,
  type MachineAttemptMemo,
  type MachineAttemptResult,
} from './messages';
import { countMachineAttempt } from './metrics';

type Window = { start: number; end: number };

const ALWAYS_OPEN = (now: number): Window => ({ start: now, end: Number.MAX_SAFE_INTEGER });

function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
    return err.cause.type ?? undefined;
  return undefined;
}

function memoOf(r: MachineAttemptResult, m: MachineSpec): MachineAttemptMemo {
  const { attempt, outcome, startedAt, finishedAt, detail, counts, rebooted, assessedAt } = r;
  const { region, zone, availabilitySet, updateDomain } = m;
  return {
    attempt,
    outcome,
    startedAt,
    finishedAt,
    detail,
    counts,
    rebooted,
    assessedAt,
    region,
    zone,
    availabilitySet,
    updateDomain,
  };
}

/** One attempt on one machine, inside its window: assess, select, pre-script, install, reboot, post-script, health. */
export async function machineAttemptWorkflow(input: MachineAttemptInput): Promise<MachineAttemptResult> {
  const { machine, attempt, settings } = input;
  const op = { id: input.rolloutId, attempt };
  const quick = proxyActivities<Activities>({
    taskQueue: machine.taskQueue,
    startToCloseTimeout: '1 minute',
    retry: {
      maximumAttempts: 3,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
    },
  });
  const long = proxyActivities<Activities>({
    taskQueue: machine.taskQueue,
    startToCloseTimeout: '4 hours',
    // Long steps heartbeat every second: a worker that dies is noticed within 10 s and the step
    // resumes elsewhere (the driver checks the host first, so nothing is done twice).
    heartbeatTimeout: '10 seconds',
    retry: {
      maximumAttempts: 3,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
    },
  });
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

  // 1. Wait for the machine's window. After every durable wait the window is checked again against the
  // clock: a timer that fires late (workers down for hours) must not patch outside the window.
  let window: Window | undefined;
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
    const next = await quick.findWindow(machine.schedule, now);
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
    assessment = await quick.assess(machine, op);
  } catch (err) {
    if (failureType(err) === FAILURE.MachineUnreachable)
      return finish(OUTCOME.Unreachable, 'could not be reached to assess');
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

  // 4. Pre-script, install, reboot, post-script, health.
  result.startedAt = new Date(Date.now()).toISOString();
  try {
    if (machine.preScript) await long.runScript(machine, op, 'pre', machine.preScript);
  } catch (err) {
    if (failureType(err) === FAILURE.ScriptFailed)
      return finish(OUTCOME.PreScriptFailed, (err as ActivityFailure).cause?.message);
    throw err;
  }

  let install;
  try {
    install = await long.install(
      machine,
      op,
      selection.selected,
      Math.min(latestInstallEnd(window, machine.os), settings.deadline),
    );
  } catch (err) {
    const type = failureType(err);
    if (type === FAILURE.MachineUnreachable)
      return finish(OUTCOME.Unreachable, 'lost the machine during install');
    if (type === FAILURE.InstallFailed)
      return finish(OUTCOME.InstallFailed, (err as ActivityFailure).cause?.message);
    throw err;
  }
  // Outcomes of the patches not selected, then the install's outcome of every selected one.
  result.patches = [...selection.outcomes, ...install.patches];
  result.counts = countOutcomes(result.patches);

  if (needsReboot(install.rebootRequired)) {
    if (!canStartReboot(window, Date.now(), machine.os))
      return finish(OUTCOME.Pending, 'installed, but too little of the window is left to reboot');
    const before = await quick.bootId(machine, op);
    setCurrentDetails('Rebooting');
    await quick.reboot(machine, op, before);
    try {
      await long.waitForBoot(machine, op, before);
    } catch (err) {
      if (failureType(err) === FAILURE.DidNotComeBack)
        return finish(OUTCOME.DidNotComeBack, 'did not come back from its reboot within 15 minutes');
      throw err;
    }
    result.rebooted = true;
  }

  try {
    if (machine.postScript) await long.runScript(machine, op, 'post', machine.postScript);
  } catch (err) {
    if (failureType(err) === FAILURE.ScriptFailed)
      return finish(OUTCOME.PostScriptFailed, (err as ActivityFailure).cause?.message);
    throw err;
  }

  const health = await quick.healthCheck(machine, op);
  result.finishedAt = new Date(Date.now()).toISOString();
  if (!health.healthy) return finish(OUTCOME.Unhealthy, health.detail);
  if (result.counts.failed > 0)
    return finish(OUTCOME.InstallFailed, `${result.counts.failed} patch(es) failed`);
  if (result.counts.pending > 0)
    return finish(OUTCOME.Pending, `${result.counts.pending} patch(es) pending: the window ran out`);
  log.info('machine patched', { machine: machine.name, attempt, installed: result.counts.installed });
  return finish(OUTCOME.Succeeded);
}
