/** The fleet guard's leases (domain/lease-book.ts), as data: what travels in signals and across continue-as-new. */

/**
 * What the fleet guard needs to know about a machine beyond its place (region, zone, set, update
 * domain), settled when the run's input is built from its fleet file: its region's geo-pairs, its set's
 * size, its service and that service's allowance. Keyed by machine name; see docs/fleet-guard.md.
 */
export interface LeaseFacts {
  pairs: string[];
  setSize?: number;
  service?: string;
  /** The service's machines minus its `minAvailable`: how many may be down at once, across every run. */
  serviceAllowance?: number;
}

export interface LeaseMachine {
  name: string;
  region: string;
  zone?: string;
  availabilitySet?: string;
  updateDomain?: number;
  /** Machines of the availability set (the fleet's, this request's view). */
  setSize?: number;
  service?: string;
  /** How many of the service's machines may be down at once (total - minAvailable). */
  serviceAllowance?: number;
}

export interface LeaseHolder {
  /** The workflow that holds the lease (a region workflow): it receives the grant; the guard checks it lives. */
  workflowId: string;
  rolloutId: string;
  region: string;
  step: string;
}

export interface LeaseRequest {
  /** Unique per step and attempt round: asking twice is asking once. */
  leaseId: string;
  holder: LeaseHolder;
  unsafe: boolean;
  /** Per region of the request: its geo-paired regions. A region without an entry is unknown. */
  pairs: Record<string, string[]>;
  machines: LeaseMachine[];
}

export interface Lease extends LeaseRequest {
  /** When it was asked for and granted (epoch ms). */
  askedAt: number;
  grantedAt?: number;
  /**
   * Granted beside the lease it follows (the same lane's running step, `requestAfter`): the holder starts
   * it once that one ends, never together.
   */
  follows?: string;
}

/** What the guard carries across continue-as-new: every lease, held then waiting, in order. */
export interface LeaseBookState {
  held: Lease[];
  waiting: Lease[];
}

export interface Blocker {
  /** e.g. "eastus zone 2 is held by rollout nov-2026 (zone 2 batch 1/3)". */
  reason: string;
  leaseId: string;
}

/**
 * The book as it crosses continue-as-new, compactly (domain/lease-carry.ts): per lease its machines'
 * names front-coded in one string and their other facts as runs of indexes into `values`, shared by all.
 */
export interface LeaseBookCarry {
  values: Array<string | number>;
  held: CarriedLease[];
  waiting: CarriedLease[];
}

export interface CarriedLease extends Omit<Lease, 'machines'> {
  names: string;
  /** Per fact column (region, zone, set, update domain, set size, service, allowance): `;`-joined runs. */
  facts: string;
}
