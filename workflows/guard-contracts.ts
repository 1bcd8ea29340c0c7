import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Lease, LeaseBookState, LeaseRequest } from '../domain/lease-book';

export type { Lease, LeaseHolder, LeaseMachine, LeaseRequest } from '../domain/lease-book';

/**
 * The fleet guard's contracts (docs/fleet-guard.md): one guard workflow per namespace grants disruption
 * leases to every step that installs or reboots, whichever run it belongs to.
 */

/** One guard per namespace, started on demand (signal-with-start) by the first step that asks. */
export const FLEET_GUARD_ID = 'offpeak-fleet-guard';

/** A holder signs of life this often while it holds or waits for a lease... */
export const LEASE_BEAT_MS = 5 * 60_000;
/** ...and the guard frees its leases when it has not for this long (three beats missed). */
export const LEASE_EXPIRY_MS = 3 * LEASE_BEAT_MS;
/** The guard continues as new past this many history events. */
export const GUARD_EVENTS_PER_RUN = 4000;

export interface FleetGuardInput {
  /** Carried across continue-as-new: every lease held and waiting, in order. */
  book?: LeaseBookState;
  expiryMs?: number;
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
  /** Leases the guard freed because their holder stopped beating (the latest few). */
  expired: LeaseView[];
}

export interface LeaseView {
  leaseId: string;
  rolloutId: string;
  region: string;
  step: string;
  holder: string;
  unsafe: boolean;
  machines: string[];
  /** ISO instants. */
  askedAt: string;
  grantedAt?: string;
  lastBeat: string;
  waitingFor?: string;
}

export function leaseView(l: Lease, waitingFor?: string): LeaseView {
  return {
    leaseId: l.leaseId,
    rolloutId: l.holder.rolloutId,
    region: l.holder.region,
    step: l.holder.step,
    holder: l.holder.workflowId,
    unsafe: l.unsafe,
    machines: l.machines.map((m) => m.name),
    askedAt: new Date(l.askedAt).toISOString(),
    ...(l.grantedAt !== undefined ? { grantedAt: new Date(l.grantedAt).toISOString() } : {}),
    lastBeat: new Date(l.beat).toISOString(),
    ...(waitingFor ? { waitingFor } : {}),
  };
}

/** Holder to guard (signal-with-start, from the requestLease activity): asking twice is asking once. */
export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
/** Holder to guard: the step ended (or the request is withdrawn). */
export const releaseLeaseSignal = defineSignal<[{ leaseId: string }]>('releaseLease');
/** Holder to guard: still alive, for every lease it holds or waits for. */
export const leaseBeatSignal = defineSignal<[{ workflowId: string }]>('leaseBeat');
/** Guard to holder: the answer to its request, and later the grant of a queued one. */
export const leaseAnswerSignal = defineSignal<[LeaseAnswer]>('leaseAnswer');
export const leasesQuery = defineQuery<LeasesView>('leases');
