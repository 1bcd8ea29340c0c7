import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE } from '../domain/failures';
import { leaseProblems } from '../domain/lease-book';
import { leaseRequestOf } from '../domain/lease-request';
import { formatProblem } from '../domain/problems';
import type { MachineSpec } from '../domain/machine-spec';
import {
  FLEET_GUARD_ID,
  leaseAnswerSignal,
  type LeaseAnswer,
  type LeaseRequest,
  releaseLeaseSignal,
  requestLeaseSignal,
} from './guard-contracts';
import type { RegionInput } from './messages';

const { requestLease } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', nonRetryableErrorTypes: [FAILURE.LeaseRefused] },
});

/** A step whose lease the guard could never grant fails its region, saying why (not a hang). */
function refuse(leaseId: string, why: string): never {
  throw ApplicationFailure.create({
    type: FAILURE.LeaseRefused,
    nonRetryable: true,
    message: `the fleet guard cannot grant lease ${leaseId}: ${why}`,
  });
}

/** A signal to the guard that may find it gone (terminated by an operator): then there is nothing to tell. */
async function tell(send: () => Promise<void>): Promise<void> {
  try {
    await CancellationScope.nonCancellable(send);
  } catch (err) {
    if (!(err instanceof TemporalFailure)) throw err;
  }
}

/**
 * A request goes by signal to the running guard (no activity on the step's path); when no guard runs
 * (none started yet, or terminated), by the `requestLease` activity, whose signal-with-start starts one.
 */
async function ask(
  guard: ReturnType<typeof getExternalWorkflowHandle>,
  request: LeaseRequest,
): Promise<void> {
  try {
    await guard.signal(requestLeaseSignal, request);
  } catch (err) {
    if (!(err instanceof TemporalFailure) || isCancellation(err)) throw err;
    await requestLease(request);
  }
}

/**
 * A region's leases from the fleet guard (workflows/fleet-guard.ts): one per step, asked for before the
 * step's machines start and released after their results are in. Each lane of the region holds its own
 * (at most one per lane at a time); the guard keys leases by their ids, so a region may hold several.
 * The guard notices a region that died (it checks its holders while anything waits), so the region
 * itself keeps no timer for it.
 */
export function regionLeases(input: RegionInput) {
  const me = workflowInfo().workflowId;
  const guard = getExternalWorkflowHandle(FLEET_GUARD_ID);
  const answers = new Map<string, LeaseAnswer>();
  /** Per lane: the lease it holds (or asked for). */
  const held = new Map<number, string>();
  /** Per lane: what it waits for from the guard. */
  const waiting = new Map<number, string>();
  setHandler(leaseAnswerSignal, (answer) => {
    // A grant is final; a later "queued" answer (a request sent twice) does not take it back.
    if (!answers.get(answer.leaseId)?.granted) answers.set(answer.leaseId, answer);
  });

  const leases = {
    /** What the region waits for, if a lane waits for the guard (the first such lane's). */
    waitingFor: (): string | null => [...waiting.values()][0] ?? null,

    /**
     * Asks for a lane's step lease and waits for it; false when `stopped` (the rollout stopped, or the
     * deadline passed) came first: the request is withdrawn. A request the guard cannot place fails the
     * region.
     */
    async acquire(
      lane: number,
      key: string,
      step: string,
      machines: MachineSpec[],
      stopped: () => boolean,
    ): Promise<boolean> {
      const leaseId = `${me}/${key}`;
      const holder = { workflowId: me, rolloutId: input.rolloutId, region: input.region, step };
      const request = leaseRequestOf(leaseId, holder, input.settings.unsafe === true, machines);
      const problems = leaseProblems(request);
      if (problems.length > 0) refuse(leaseId, problems.map(formatProblem).join('; '));
      await ask(guard, request);
      held.set(lane, leaseId);
      const granted = () => answers.get(leaseId)?.granted === true;
      /** Waits until `until` holds or the rollout stops (the deadline counts as a stop). */
      const wait = (until: () => boolean) =>
        condition(() => until() || stopped(), Math.max(1, input.settings.deadline - Date.now()));
      await wait(() => answers.has(leaseId));
      const answer = answers.get(leaseId);
      if (answer?.refused) refuse(leaseId, answer.refused);
      if (answer && !granted()) {
        const text = `waiting for the fleet guard: ${answer.waitingFor}`;
        waiting.set(lane, text);
        setCurrentDetails(`Before "${step}": ${text}`);
        await wait(granted);
        waiting.delete(lane);
      }
      if (granted()) return true;
      await leases.release(lane);
      return false;
    },

    /** Gives a lane's step lease back (nothing when it holds none). */
    async release(lane: number): Promise<void> {
      const leaseId = held.get(lane);
      if (leaseId === undefined) return;
      held.delete(lane);
      await tell(() => guard.signal(releaseLeaseSignal, { leaseId }));
    },

    /** Gives every lane's lease back (the region fails). */
    async releaseAll(): Promise<void> {
      for (const lane of [...held.keys()]) await leases.release(lane);
    },
  };
  return leases;
}

export type RegionLeases = ReturnType<typeof regionLeases>;
