import {
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE } from '../domain/failures';
import { STARTS_IN_FLIGHT_BYTES } from '../domain/payload-limits';
import { isStored, type SpecSlice, type SpecSliceRef } from '../domain/spec-slices';
import {
  CHILDREN_PER_RUN,
  EVENTS_PER_RUN,
  regionStatusQuery,
  stepReplySignal,
  type RegionCursor,
  type RegionInput,
} from './messages';
import { emptyMarks } from './region-marks';
import { rootCause } from './attempt-errors';
import { regionLeases } from './region-lease';
import { regionReports } from './region-reports';
import { startBudget } from './start-budget';
import { laneDetails, runLane, type LaneContext } from './region-lane';

const { loadSpecSlice } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: [FAILURE.BadSlice] },
});

/** A slice: inline in the input (small rollouts), or read from the spec store by an activity (large ones). */
const sliceOf = (ref: SpecSliceRef): Promise<SpecSlice> =>
  isStored(ref) ? loadSpecSlice(ref) : Promise.resolve(ref.inline);

/**
 * One region: its lanes side by side (workflows/region-lane.ts: each lane's steps one after another, the
 * machines of a step concurrently), read slice by slice. After every step a lane reports to the rollout
 * (waiting for the reply only when the step could halt it: region-lane.ts); reports are numbered per
 * region and arrive in order. The region continues as new only when every lane is between steps and every report
 * is answered; only cursors and retry marks are carried across.
 */
export async function regionWorkflow(input: RegionInput): Promise<void> {
  const lanes = input.laneStarts ?? [0];
  const cursor: RegionCursor = input.cursor ?? {
    lanes: lanes.map((first) => ({
      ...{ round: 1, slice: first, step: 0 },
      ...{ due: emptyMarks(), next: emptyMarks(), begun: emptyMarks() },
    })),
    sent: 0,
    reply: input.reply ?? { ack: 0, hold: null, stop: false },
    done: 0,
    erred: emptyMarks(),
  };
  const perRun = input.childrenPerRun ?? CHILDREN_PER_RUN;
  let childrenThisRun = 0;
  const startedThisRun = new Set<number>();
  /** Set once the region must continue as new: lanes stop before their next step. */
  let closing = false;
  const between = new Set<number>();
  const lines = new Map<number, string>();
  const leases = regionLeases(input);
  const reports = regionReports(input, cursor);
  setHandler(stepReplySignal, (r) => void (cursor.reply = { ...r, ack: Math.max(cursor.reply.ack, r.ack) }));
  setHandler(regionStatusQuery, () => {
    const running = cursor.lanes.filter((c) => c.round <= input.settings.maxAttempts);
    const first = running[0] ?? cursor.lanes[0];
    return {
      round: first.round,
      step: first.step,
      lanes: cursor.lanes.map((c) => ({ round: c.round, step: c.step })),
      hold: cursor.reply.hold,
      waitingFor: leases.waitingFor(),
      done: cursor.done,
      total: input.machineCount,
    };
  });
  const head = () => `Region ${input.region}: ${cursor.done}/${input.machineCount} machine(s) reported`;

  const runFull = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (input.eventsPerRun ?? EVENTS_PER_RUN);
  };
  const slices = new Map<number, Promise<SpecSlice>>();
  /** The read ones among them, at hand for a lane's look-ahead (its next step's lease, a follower). */
  const loaded = new Map<number, SpecSlice>();
  const ctx: LaneContext = {
    input,
    cursor,
    leases,
    reports,
    starts: startBudget(input.startsInFlightBytes ?? STARTS_IN_FLIGHT_BYTES),
    slice(index) {
      let slice = slices.get(index);
      if (!slice) {
        const reading = sliceOf(input.slices[index]);
        slices.set(index, (slice = reading));
        void reading.then(
          (read) => void (slices.get(index) === reading && loaded.set(index, read)),
          () => undefined, // whoever awaits it fails with it
        );
        // Each lane reads its slice and the next one ahead: keep no more than that.
        if (slices.size > 2 * cursor.lanes.length + 1) {
          const oldest = slices.keys().next().value!;
          slices.delete(oldest);
          loaded.delete(oldest);
        }
      }
      return slice;
    },
    peek: (index) => (isStored(input.slices[index]) ? loaded.get(index) : input.slices[index].inline),
    async beforeStep(lane, machines, label, begun) {
      // A begun step's machines run (region-lane.ts): it passes no gate, and only counts what it starts.
      if (begun) {
        childrenThisRun += machines;
        return;
      }
      // A lease asked for ahead (workflows/region-lease.ts) is not kept through a hold, nor across runs.
      if (cursor.reply.hold && !cursor.reply.stop) {
        await leases.release(lane);
        ctx.details(lane, `Held before "${label}": ${cursor.reply.hold}`);
        await condition(() => cursor.reply.hold === null || cursor.reply.stop || closing);
      }
      const full = runFull();
      // Every lane starts at least one step per run (none waits for a run of its own); beyond that a run
      // holds at most `perRun` machine attempts.
      const first = !startedThisRun.has(lane);
      const held = cursor.reply.hold !== null && !cursor.reply.stop; // still held: the region continues as new
      if (held || full || (!first && (closing || childrenThisRun + machines > perRun))) {
        closing = true;
        await leases.release(lane);
        between.add(lane);
        ctx.details(lane, 'between steps, continuing as new');
        await new Promise<never>(() => undefined);
      }
      startedThisRun.add(lane);
      childrenThisRun += machines;
    },
    mayFollow() {
      const free = cursor.reply.hold === null && !cursor.reply.stop && !closing && !runFull();
      if (!free || childrenThisRun + 1 > perRun) return false;
      childrenThisRun += 1;
      return true;
    },
    details(lane, text) {
      lines.set(lane, text);
      laneDetails(lines, head());
    },
  };

  try {
    const ended = new Set<number>();
    // A lane that ends while others run reports its last step now (they may run for nights); the last
    // lane to end keeps it for the region's last report.
    const endLane = (l: number) => {
      ended.add(l);
      if (ended.size < cursor.lanes.length) void reports.flush(l);
    };
    const all = Promise.all(cursor.lanes.map((_, l) => runLane(ctx, l).finally(() => endLane(l))));
    const parked = condition(
      () => reports.gone() || (closing && between.size + ended.size === cursor.lanes.length),
    );
    await Promise.race([all, parked]);
    if (reports.gone()) return await leases.releaseAhead();
    if (closing) {
      // Every report sent and answered, every release delivered: none is lost with the run.
      reports.flushAll();
      await Promise.all([reports.answered(), leases.settle()]);
      await continueAsNew<typeof regionWorkflow>({ ...input, cursor });
    }
  } catch (err) {
    await leases.releaseAll();
    // Continue-as-new unwinds as an error too: only real failures are announced.
    if (err instanceof TemporalFailure) {
      reports.flushAll();
      await reports.report('failed', [], { failure: rootCause(err) }).answered;
    }
    throw err;
  }
  setCurrentDetails(`Done: ${cursor.done} machine(s)`);
  await Promise.all([leases.settle(), reports.last()]);
}
