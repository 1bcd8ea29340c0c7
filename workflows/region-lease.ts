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
  handOverLeaseSignal,
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

/** A step a lease is asked for: its key (unique in the region), its label and its machines. */
export interface LeaseStep {
  key: string;
  label: string;
  machines: MachineSpec[];
}

/**
 * A region's leases from the fleet guard (workflows/fleet-guard.ts): one per step, asked for before the
 * step's machines start and released after their results are in. Each lane of the region holds its own
 * (at most one per lane at a time); the guard keys leases by their ids, so a region may hold several.
 * A lane may ask for its next step's lease as it releases the last one (`handOver`, while its report
 * waits for the rollout's reply); `acquire` then finds it asked. A lease asked ahead has an id of its
 * own: once withdrawn (the lane held, stopped, or continuing as new), its step is asked for again under
 * its plain id, so an answer still on its way can never pass for the new request's.
 * The guard notices a region that died (it checks its holders while anything waits), so the region
 * itself keeps no timer for it.
 */
export function regionLeases(input: RegionInput) {
  const me = workflowInfo().workflowId;
  const guard = getExternalWorkflowHandle(FLEET_GUARD_ID);
  const answers = new Map<string, LeaseAnswer>();
  /** Per lane: the lease it holds (or asked for). */
  const held = new Map<number, string>();
  /** Per lane: the step whose lease it asked for ahead (`handOver`), until `acquire` takes it or it is released. */
  const ahead = new Map<number, string>();
  /** Per lane: what it waits for from the guard. */
  const waiting = new Map<number, string>();
  const requestOf = (leaseId: string, { label, machines }: LeaseStep) => {
    const holder = { workflowId: me, rolloutId: input.rolloutId, region: input.region, step: label };
    return leaseRequestOf(leaseId, holder, input.settings.unsafe === true, machines);
  };
  /** A step as `ahead` remembers it: its key and its machines, in order. */
  const stepOf = (s: LeaseStep) => `${s.key}:${s.machines.map((m) => m.name).join(',')}`;
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
    async acquire(lane: number, step: LeaseStep, stopped: () => boolean): Promise<boolean> {
      const early = ahead.get(lane) === stepOf(step);
      ahead.delete(lane);
      let leaseId = held.get(lane);
      if (!early || leaseId === undefined) {
        await leases.release(lane); // asked ahead for another step than this one
        leaseId = `${me}/${step.key}`;
        const request = requestOf(leaseId, step);
        const problems = leaseProblems(request);
        if (problems.length > 0) refuse(leaseId, problems.map(formatProblem).join('; '));
        await ask(guard, request);
        held.set(lane, leaseId);
      }
      const id = leaseId;
      const granted = () => answers.get(id)?.granted === true;
      /** Waits until `until` holds or the rollout stops (the deadline counts as a stop). */
      const wait = async (until: () => boolean) => {
        if (!until() && !stopped())
          await condition(() => until() || stopped(), Math.max(1, input.settings.deadline - Date.now()));
      };
      await wait(() => answers.has(id));
      const answer = answers.get(id);
      if (answer?.refused) refuse(leaseId, answer.refused);
      if (answer && !granted()) {
        const text = `waiting for the fleet guard: ${answer.waitingFor}`;
        waiting.set(lane, text);
        setCurrentDetails(`Before "${step.label}": ${text}`);
        await wait(granted);
        waiting.delete(lane);
      }
      if (granted()) return true;
      await leases.release(lane);
      return false;
    },

    /**
     * Gives a lane's step lease back and, when `next` is known, asks for the next step's lease in the same
     * signal (the release first). `acquire` takes it if the lane's next step is that one; any other
     * turn (a hold, a stop, continue-as-new, another step) releases it first.
     */
    async handOver(lane: number, next: LeaseStep | undefined): Promise<void> {
      const leaseId = held.get(lane);
      const request = next && requestOf(`${me}/${next.key}/ahead`, next);
      // A request the guard would refuse is asked for (and refused) only if its step comes.
      if (!request || leaseId === undefined || leaseProblems(request).length > 0) return leases.release(lane);
      held.set(lane, request.leaseId);
      ahead.set(lane, stepOf(next!));
      try {
        await CancellationScope.nonCancellable(() =>
          guard.signal(handOverLeaseSignal, { release: leaseId, request }),
        );
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        await requestLease(request); // no guard runs: nothing to release, and the activity starts one
      }
    },

    /** Gives a lane's step lease back, or the one it asked for ahead (nothing when it holds none). */
    async release(lane: number): Promise<void> {
      const leaseId = held.get(lane);
      ahead.delete(lane);
      if (leaseId === undefined) return;
      held.delete(lane);
      await tell(() => guard.signal(releaseLeaseSignal, { leaseId }));
    },

    /** Gives back the leases asked for ahead (the rollout is gone: those steps will not run). */
    async releaseAhead(): Promise<void> {
      for (const lane of [...ahead.keys()]) await leases.release(lane);
    },

    /** Gives every lane's lease back (the region fails). */
    async releaseAll(): Promise<void> {
      for (const lane of [...held.keys()]) await leases.release(lane);
    },
  };
  return leases;
}

export type RegionLeases = ReturnType<typeof regionLeases>;
