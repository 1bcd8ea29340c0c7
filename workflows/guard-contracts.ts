import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Lease, LeaseBookCarry, LeaseBookState, LeaseRequest } from '../domain/lease-book';

export type { Lease, LeaseHolder, LeaseMachine, LeaseRequest } from '../domain/lease-book';

/**
 * The fleet guard's contracts (docs/fleet-guard.md): one guard workflow per namespace grants disruption
 * leases to every step that installs or reboots, whichever run it belongs to.
 */

/** One guard per namespace, started on demand (signal-with-start) by the first step that asks. */
export const FLEET_GUARD_ID = 'offpeak-fleet-guard';

/**
 * While a request waits, the guard checks every this often that the holders it knows still live: a
 * holder that ended (terminated, cancelled, failed, timed out) loses its leases at once...
 */
export const HOLDER_CHECK_MS = 60_000;
/**
 * ...and so does one whose worker is gone: a workflow task waiting this long for a worker to pick it
 * up. Nobody waits, nothing is checked: a dead holder blocks nobody.
 */
export const HOLDER_STALE_MS = 15 * 60_000;
/** The guard continues as new past this many history events. */
export const GUARD_EVENTS_PER_RUN = 4000;

export interface FleetGuardInput {
  /**
   * Carried across continue-as-new: every lease held and waiting, in order, compactly (100,000 machines
   * in about 0.65 MB: domain/lease-carry.ts).
   */
  carry?: LeaseBookCarry;
  /** The same, one object per machine (a guard started by hand, or by an older run). */
  book?: LeaseBookState;
  checkMs?: number;
  staleMs?: number;
  eventsPerRun?: number;
}

/** The guard's answer to a request, by signal to its holder: granted, or queued and why, or refused. */
export interface LeaseAnswer {
  leaseId: string;
  granted: boolean;
  /** The guard cannot place the request (it is checked before it is sent: a guard of another version). */
  refused?: string;
  /** e.g. "eastus zone 2 is held by rollout nov-2026 (zone 2 batch 1/3)". */
  waitingFor?: string;
}

/** What `offpeak leases` shows. */
export interface LeasesView {
  held: LeaseView[];
  waiting: LeaseView[];
  /** Leases the guard freed because their holder was gone (the latest few). */
  expired: LeaseView[];
}

export interface LeaseView {
  leaseId: string;
  rolloutId: string;
  region: string;
  step: string;
  holder: string;
  unsafe: boolean;
  /** Its machines' names: all of them, or the first `names` the query asked for. */
  machines: string[];
  /** How many machines the lease has (`machines` may list fewer). */
  machineCount: number;
  /** ISO instants. */
  askedAt: string;
  grantedAt?: string;
  /** Held beside this lease of the same lane (its running step), to start once that one ends. */
  follows?: string;
  waitingFor?: string;
  /** A waiting lease: the lease in its way (held, or asked for first) and whose it is. */
  blockedBy?: LeaseBlockedBy;
}

export interface LeaseBlockedBy {
  leaseId: string;
  rolloutId: string;
  region: string;
  step: string;
  /** Held; or asked for first (a waiter ahead keeps its place). */
  held: boolean;
}

export function leaseView(
  l: Lease,
  waitingFor?: string,
  blockedBy?: LeaseBlockedBy,
  names = Infinity,
): LeaseView {
  return {
    leaseId: l.leaseId,
    rolloutId: l.holder.rolloutId,
    region: l.holder.region,
    step: l.holder.step,
    holder: l.holder.workflowId,
    unsafe: l.unsafe,
    machines: l.machines.slice(0, names).map((m) => m.name),
    machineCount: l.machines.length,
    askedAt: new Date(l.askedAt).toISOString(),
    ...(l.grantedAt !== undefined ? { grantedAt: new Date(l.grantedAt).toISOString() } : {}),
    ...(l.follows !== undefined ? { follows: l.follows } : {}),
    ...(waitingFor ? { waitingFor } : {}),
    ...(blockedBy ? { blockedBy } : {}),
  };
}

/** Holder to guard (a signal; signal-with-start from the requestLease activity when no guard runs): asking twice is asking once. */
export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
/** Holder to guard: the step ended (or the request is withdrawn). */
export const releaseLeaseSignal = defineSignal<[{ leaseId: string }]>('releaseLease');
/**
 * Holder to guard: a lane's step has started and it asks already for its next one, to follow `after` (the
 * step's lease). Decided as if `after` were released: granted, it is held beside it, and the lane starts
 * its machines only into places `after`'s machines free as they end (workflows/lane-follower.ts), so the two
 * never have more of a key down than `after` alone (domain/lease-book.ts `requestAfter`).
 */
export const requestNextLeaseSignal =
  defineSignal<[{ after: string; request: LeaseRequest }]>('requestNextLease');
/** Guard to holder: the answer to its request, and later the grant of a queued one. */
export const leaseAnswerSignal = defineSignal<[LeaseAnswer]>('leaseAnswer');
/**
 * What the leases query may leave out, to stay small at scale (100,000 machines' names are over 1 MB):
 * no argument is the whole book.
 */
export interface LeasesQueryOptions {
  /** Only the leases of this rollout. */
  rolloutId?: string;
  /** At most this many machine names per lease (`machineCount` still counts them all). */
  names?: number;
}
export const leasesQuery = defineQuery<LeasesView, [LeasesQueryOptions?]>('leases');
