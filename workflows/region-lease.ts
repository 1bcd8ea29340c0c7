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
  requestNextLeaseSignal,
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
 * (at most one per lane at a time, and the one asked for its next step); the guard keys leases by their ids,
 * so a region may hold several. As a step starts, its lane asks for its next step's lease to follow it
 * (`askNext`): the guard decides it as if the step were over and, granted, holds it beside the step, so
 * when the step ends (`finish`) the lane goes on at once. A lease asked ahead has an id of its own: once
 * withdrawn (the lane held, stopped, continuing as new, or its next step another), its step is asked for
 * again under its plain id, so an answer still on its way can never pass for the new request's.
 * The guard notices a region that died (it checks its holders while anything waits), so the region
 * itself keeps no timer for it.
 */
export function regionLeases(input: RegionInput) {
  const me = workflowInfo().workflowId;
  const guard = getExternalWorkflowHandle(FLEET_GUARD_ID);
  const answers = new Map<string, LeaseAnswer>();
  /** Per lane: the lease of its current step (asked for, or granted). */
  const held = new Map<number, string>();
  /** Per lane: the lease asked for its next step (`askNext`), until `acquire` takes it or it is released. */
  const ahead = new Map<number, { step: string; leaseId: string }>();
  /** Per lane: what it waits for from the guard. */
  const waiting = new Map<number, string>();
  /** Releases on their way (`finish` does not wait for them). */
  const sending = new Set<Promise<void>>();
  const requestOf = (leaseId: string, { label, machines }: LeaseStep) => {
    const holder = { workflowId: me, rolloutId: input.rolloutId, region: input.region, step: label };
    return leaseRequestOf(leaseId, holder, input.settings.unsafe === true, machines);
  };
  /** A step as `ahead` remembers it: its key and its machines, in order. */
  const stepOf = (s: LeaseStep) => `${s.key}:${s.machines.map((m) => m.name).join(',')}`;
  const giveBack = (leaseId: string) => tell(() => guard.signal(releaseLeaseSignal, { leaseId }));
  setHandler(leaseAnswerSignal, (answer) => {
    // A grant is final; a later "queued" answer (a request sent twice) does not take it back.
    if (!answers.get(answer.leaseId)?.granted) answers.set(answer.leaseId, answer);
  });

  const leases = {
    /** What the region waits for, if a lane waits for the guard (the first such lane's). */
    waitingFor: (): string | null => [...waiting.values()][0] ?? null,

    /**
     * Asks for a lane's step lease (unless it was asked for ahead) and waits for it; false when `stopped`
     * (the rollout stopped, or the deadline passed) came first: the request is withdrawn. A request the
     * guard cannot place fails the region.
     */
    async acquire(lane: number, step: LeaseStep, stopped: () => boolean): Promise<boolean> {
      const early = ahead.get(lane);
      ahead.delete(lane);
      let leaseId: string;
      if (early && early.step === stepOf(step) && !held.has(lane)) held.set(lane, (leaseId = early.leaseId));
      else {
        if (early) await giveBack(early.leaseId); // asked ahead for another step than this one
        await leases.release(lane);
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
     * Asks, as a lane's step starts, for its next step's lease, to follow the step's (`next` undefined:
     * nothing to ask). `acquire` takes it if the lane's next step is that one; any other turn (a hold, a
     * stop, continue-as-new, another step) gives it back first.
     */
    async askNext(lane: number, next: LeaseStep | undefined): Promise<void> {
      const after = held.get(lane);
      if (!next || after === undefined) return;
      const request = requestOf(`${me}/${next.key}/ahead`, next);
      // A request the guard would refuse is asked for (and refused) only if its step comes.
      if (leaseProblems(request).length > 0) return;
      ahead.set(lane, { step: stepOf(next), leaseId: request.leaseId });
      try {
        await CancellationScope.nonCancellable(() =>
          guard.signal(requestNextLeaseSignal, { after, request }),
        );
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        await requestLease(request); // no guard runs: the activity starts one
      }
    },

    /** The lease asked ahead for the lane's next step (`key`) is granted: that step may follow (region-lane.ts). */
    aheadGranted(lane: number, key: string): boolean {
      const early = ahead.get(lane);
      return (
        early !== undefined &&
        early.step.startsWith(`${key}:`) &&
        answers.get(early.leaseId)?.granted === true
      );
    },

    /** A lane's step is over: its lease goes back, without waiting for the delivery (`settle` does). */
    finish(lane: number): void {
      const leaseId = held.get(lane);
      if (leaseId === undefined) return;
      held.delete(lane);
      const sent: Promise<void> = giveBack(leaseId).finally(() => sending.delete(sent));
      sending.add(sent);
    },

    /** Every release `finish` sent has been delivered. */
    settle: async (): Promise<void> => void (await Promise.all(sending)),

    /** Gives a lane's leases back: its step's and the one it asked for ahead. */
    async release(lane: number): Promise<void> {
      const ids = [held.get(lane), ahead.get(lane)?.leaseId].filter((id) => id !== undefined);
      held.delete(lane);
      ahead.delete(lane);
      for (const leaseId of ids) await giveBack(leaseId);
    },

    /** Gives back the leases asked for ahead (the rollout is gone: those steps will not run). */
    async releaseAhead(): Promise<void> {
      for (const [lane, { leaseId }] of [...ahead]) {
        ahead.delete(lane);
        await giveBack(leaseId);
      }
    },

    /** Gives every lane's leases back (the region fails). */
    async releaseAll(): Promise<void> {
      for (const lane of new Set([...held.keys(), ...ahead.keys()])) await leases.release(lane);
    },
  };
  return leases;
}

export type RegionLeases = ReturnType<typeof regionLeases>;
