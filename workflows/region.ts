import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE } from '../domain/failures';
import { countsAsError, OUTCOME, RETRYABLE_OUTCOMES } from '../domain/outcomes';
import { isStored, type SpecSlice, type SpecSliceRef } from '../domain/spec-slices';
import { startMachineAttempt } from './children';
import {
  CHILDREN_PER_RUN,
  EVENTS_PER_RUN,
  regionStatusQuery,
  stepReplySignal,
  stepReportSignal,
  type MachineAttemptResult,
  type RegionCursor,
  type RegionInput,
  type StepResult,
} from './messages';
import { anyMarked, emptyMarks, mark, marked } from './region-marks';
import { errored, rootCause } from './attempt-errors';
import { regionLeases } from './region-lease';

/** A report the rollout has not answered within this goes again. */
const REPORT_RESEND_MS = 60_000;

const { loadSpecSlice } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: [FAILURE.BadSlice] },
});

/** A slice: inline in the input (small rollouts), or read from the spec store by an activity (large ones). */
const sliceOf = (ref: SpecSliceRef): Promise<SpecSlice> =>
  isStored(ref) ? loadSpecSlice(ref) : Promise.resolve(ref.inline);

/**
 * One region: its steps strictly one after another (zones, update domains, batches), the machines of a
 * step concurrently, read slice by slice. After every step it reports to the rollout and waits for the
 * reply, so a halt stops the next step. Machines whose attempt ended retryably are retried in later rounds,
 * in groups that keep their original step, so a retry never runs beside another zone or update domain.
 * Only cursors and retry marks are carried across continue-as-new.
 */
export async function regionWorkflow(input: RegionInput): Promise<void> {
  const { settings } = input;
  const rollout = getExternalWorkflowHandle(input.parentWorkflowId);
  const cursor: RegionCursor = input.cursor ?? {
    round: 1,
    slice: 0,
    step: 0,
    sent: 0,
    reply: input.reply ?? { ack: 0, hold: null, stop: false },
    done: 0,
    due: emptyMarks(),
    next: emptyMarks(),
    erred: emptyMarks(),
  };
  const perRun = input.childrenPerRun ?? CHILDREN_PER_RUN;
  let childrenThisRun = 0;
  const leases = regionLeases(input);
  setHandler(stepReplySignal, (r) => void (cursor.reply = { ...r, ack: Math.max(cursor.reply.ack, r.ack) }));
  setHandler(regionStatusQuery, () => ({
    round: cursor.round,
    step: cursor.step,
    hold: cursor.reply.hold,
    waitingFor: leases.waitingFor(),
    done: cursor.done,
    total: input.machineCount,
  }));

  /**
   * Reports a step and waits for the rollout's answer (its last report too, so the rollout surely knows it
   * ended); false when the rollout is gone. Unanswered, the same report goes again: a signal can be lost
   * when the rollout's run closes as it arrives, and the rollout folds a report once.
   */
  const report = async (step: string, results: StepResult[], end?: { failure?: string }) => {
    const seq = ++cursor.sent;
    const answered = () => cursor.reply.ack >= seq || (!end && cursor.reply.stop);
    do {
      try {
        await rollout.signal(stepReportSignal, { region: input.region, seq, step, results, end });
      } catch (err) {
        if (err instanceof TemporalFailure) return false; // terminated, or ended: nobody to report to
        throw err;
      }
    } while (!(await condition(answered, REPORT_RESEND_MS)));
    return true;
  };

  try {
    if (!(await rounds())) return;
  } catch (err) {
    await leases.release();
    // Continue-as-new unwinds as an error too: only real failures are announced.
    if (err instanceof TemporalFailure) await report('failed', [], { failure: rootCause(err) });
    throw err;
  }
  setCurrentDetails(`Done: ${cursor.done} machine(s)`);
  await report('done', [], {});

  /** Every round, slice and step from the cursor on; false when the rollout is gone. */
  async function rounds(): Promise<boolean> {
    for (; cursor.round <= settings.maxAttempts; cursor.round++) {
      const round = cursor.round;
      if (round > 1 && !anyMarked(cursor.due)) break;
      for (; cursor.slice < input.slices.length; cursor.slice++, cursor.step = 0) {
        if (round > 1 && !anyMarked(cursor.due, cursor.slice)) continue;
        const slice = await sliceOf(input.slices[cursor.slice]);
        const position = new Map(slice.machines.map((m, i) => [m.name, i]));
        for (; cursor.step < slice.steps.length; cursor.step++) {
          const step = slice.steps[cursor.step];
          const names =
            round === 1
              ? step.machines
              : step.machines.filter((n) => marked(cursor.due, cursor.slice, position.get(n)!));
          if (names.length === 0) continue;
          const label = round === 1 ? step.label : `${step.label}, retry ${round - 1}`;
          if (cursor.reply.hold && !cursor.reply.stop) {
            setCurrentDetails(`Held before "${label}": ${cursor.reply.hold}`);
            await condition(() => cursor.reply.hold === null || cursor.reply.stop);
          }
          const info = workflowInfo();
          const full =
            info.continueAsNewSuggested || info.historyLength > (input.eventsPerRun ?? EVENTS_PER_RUN);
          if (childrenThisRun > 0 && (childrenThisRun + names.length > perRun || full))
            await continueAsNew<typeof regionWorkflow>({ ...input, cursor });
          // The step's lease from the fleet guard, unless the rollout stops first (then nothing starts).
          const stopped = () => cursor.reply.stop || Date.now() > settings.deadline;
          const key = `round-${round}/slice-${cursor.slice}/step-${cursor.step}`;
          const specs = names.map((n) => slice.machines[position.get(n)!]);
          if (!stopped()) await leases.acquire(key, label, specs, stopped);
          if (stopped()) {
            // Only machines never attempted (round 1) are Skipped: a retry that does not run leaves the
            // last outcome standing.
            await leases.release();
            if (round > 1) continue;
            cursor.done += names.length;
            const skipped = names.map((name) => ({ name, attempt: round, outcome: OUTCOME.Skipped }));
            if (!(await report(label, skipped))) return false;
            continue;
          }
          setCurrentDetails(
            `Round ${round}, slice ${cursor.slice + 1}/${input.slices.length}, step ${cursor.step + 1}/${slice.steps.length}: ${label} (${names.length} machine(s))`,
          );
          const handles = await Promise.all(
            names.map((name) => {
              const at = position.get(name)!;
              const notBefore = marked(cursor.due, cursor.slice, at)?.windowEnd;
              return startMachineAttempt(
                input,
                { machine: slice.machines[at], attempt: round, notBefore },
                label,
              );
            }),
          );
          childrenThisRun += handles.length;
          // A machine whose attempt failed unexpectedly is Errored (an error against the budget), instead of
          // failing its whole region.
          const results = await Promise.all(
            handles.map((h, i) =>
              (h.result() as Promise<MachineAttemptResult>).catch((err: unknown) =>
                errored(names[i], round, err),
              ),
            ),
          );
          if (round === 1) cursor.done += results.length;
          const stepResults = results.map(({ name, attempt, outcome }) => {
            const at = position.get(name)!;
            const erredBefore = round > 1 && marked(cursor.erred, cursor.slice, at) !== undefined;
            return { name, attempt, outcome, ...(erredBefore ? { erredBefore } : {}) };
          });
          for (const r of results) {
            if (!RETRYABLE_OUTCOMES.has(r.outcome)) continue;
            const at = position.get(r.name)!;
            mark(cursor.next, cursor.slice, slice.machines.length, at, r.windowEnd);
            if (countsAsError(r.outcome, r.attempt >= settings.maxAttempts))
              mark(cursor.erred, cursor.slice, slice.machines.length, at);
          }
          // The lease goes back as the step is reported: both signals leave in one workflow task.
          const [, reported] = await Promise.all([leases.release(), report(label, stepResults)]);
          if (!reported) return false;
        }
      }
      cursor.slice = 0;
      cursor.step = 0;
      cursor.due = cursor.next;
      cursor.next = emptyMarks();
    }
    return true;
  }
}
