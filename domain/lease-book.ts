import { carryOf, stateOf } from './lease-carry';
import { SeqHeap, WaitLanes } from './lease-lanes';
import { blocker, footprint, Index, type Found } from './lease-rules';
import type { Blocker, Lease, LeaseBookCarry, LeaseBookState, LeaseRequest } from './lease-types';

export { TEMPORAL_PAYLOAD_LIMIT_BYTES } from './lease-carry';
export { leaseProblems, setCap } from './lease-rules';
export type {
  Blocker,
  Lease,
  LeaseBookCarry,
  LeaseBookState,
  LeaseFacts,
  LeaseHolder,
  LeaseMachine,
  LeaseRequest,
} from './lease-types';

/**
 * The fleet guard's book of disruption leases (pure: the guard workflow wires it, tests drive it).
 *
 * A lease is one step's machines: a run asks before the step starts and releases after the step's last
 * health check. The book grants a request only if, together with every lease held, no availability rule
 * breaks (docs/fleet-guard.md):
 * - a machine is in at most one lease;
 * - no two geo-paired regions at once;
 * - one zone per region (machines outside zones are not in any zone);
 * - one update domain per availability set, and at most the set's cap (20%, or 1 under 10 machines);
 * - at most a service's allowance (its machines minus `minAvailable`) down at once.
 * Counted across holders. An unsafe request (an `--unsafe` install) may break the rules among its own
 * machines, so it takes whatever it touches (its regions' zones, its sets, its services) for itself: it
 * is granted only when no other lease touches them, and no other request is granted beside it there.
 *
 * Facts are keyed by machine name and travel with each request (a set's size, a service's allowance, a
 * region's geo-pairs): when requests built from different fleet files meet, the strictest fact among the
 * leases held and the request wins (the smallest set, the smallest allowance, every pair declared).
 *
 * Requests wait in one FIFO queue, and a waiting request keeps its place: a later request is granted
 * only if it fits beside the leases held AND every request waiting before it, taken as held (a zone or
 * update domain another than a waiter's, a machine a waiter wants, a share of a set or service a waiter
 * counts on). So a large request waits only for leases granted before it, never for later ones.
 *
 * Cost: a request, or a look at one waiter, is O(machines in it x log n) (times the few zones of a region
 * or update domains of a set it is in): the leases held are indexed by
 * what they take (domain/lease-rules.ts), and so are the waiters, in queue order (domain/lease-lanes.ts),
 * so "what do the waiters ahead of this one take" is a lookup, not a walk of the queue. Each waiter
 * remembers the key of the rule that keeps it out (a machine, a region, a zone, a set, a service);
 * when a lease leaves, only the waiters kept out by one of its keys are looked at again, per key in
 * queue order and only until one is still kept out by that key (every later one is too: the rules only
 * tighten as leases are added). Serving the queue after a release is no longer a pass over it: each
 * waiter looked at is granted, or is the one that stops its key's walk, or waits on another key now.
 */

/** The key of waiters that fit when they joined (a state just loaded): looked at in the next pass. */
const READY = '';

export class LeaseBook {
  private readonly held = new Map<string, Lease>();
  private readonly heldIndex = new Index();
  /** Waiting leases by place (a Map keeps insertion order: the queue's). */
  private readonly queue = new Map<number, Lease>();
  private readonly placeOf = new Map<string, number>();
  private readonly waiters = new WaitLanes();
  private nextPlace = 0;
  /** Per waiter, the key that keeps it out, and a tag that tells its current entry in that key's heap. */
  private readonly watching = new Map<number, { key: string; tag: number }>();
  private readonly watchers = new Map<string, SeqHeap<number>>();
  private nextTag = 0;
  /** Keys a lease left since the last pass: their waiters are looked at again. */
  private readonly freed = new Set<string>();
  private readonly byHolder = new Map<string, Set<string>>();

  /** A book from a state or a carry (continue-as-new): it decides as the book they came from. */
  constructor(from?: LeaseBookState | LeaseBookCarry) {
    const state = from && 'values' in from ? stateOf(from) : from;
    for (const l of state?.held ?? []) this.hold(l);
    for (const l of state?.waiting ?? [])
      this.enqueue(l, blocker([this.heldIndex, this.ahead(Infinity)], l)?.key ?? READY);
  }

  state(): LeaseBookState {
    return { held: this.holding(), waiting: this.waiting() };
  }

  /** The state, compactly, for continue-as-new: 100,000 machines in about 0.65 MB (domain/lease-carry.ts). */
  carry(): LeaseBookCarry {
    return carryOf(this.state());
  }

  get(leaseId: string): Lease | undefined {
    const place = this.placeOf.get(leaseId);
    return this.held.get(leaseId) ?? (place === undefined ? undefined : this.queue.get(place));
  }

  isHeld(leaseId: string): boolean {
    return this.held.has(leaseId);
  }

  /**
   * Asks for a lease: granted at once when it fits beside every lease held and every request waiting
   * (taken as held: a waiter's place is kept), else queued. Asking again for a lease held or waiting
   * changes nothing. Call `leaseProblems` first.
   */
  request(r: LeaseRequest, now: number): { granted: boolean; blocker?: Blocker } {
    const known = this.get(r.leaseId);
    if (known)
      return {
        granted: this.held.has(r.leaseId),
        blocker: known.grantedAt === undefined ? this.blockerOf(known) : undefined,
      };
    const lease: Lease = { ...r, askedAt: now };
    const found = blocker([this.heldIndex, this.ahead(Infinity)], lease);
    if (found) {
      this.enqueue(lease, found.key);
      return { granted: false, blocker: this.explain(found) };
    }
    this.hold({ ...lease, grantedAt: now });
    return { granted: true };
  }

  /**
   * Asks for the lease of a holder's next step while it still holds `afterId`, the step before (a lane asks
   * ahead, so it can go on the moment its step ends). The holder runs the two one after the other, never
   * together, so the request is decided as if `afterId` were released: granted when it fits beside every
   * other lease held and every waiter, and then held beside it (everyone else finds both taken until the
   * holder releases the first); else queued as any request, behind `afterId` too. A request after a lease
   * that is not held, is another holder's, shares a machine with it, or is unsafe (an unsafe lease takes what
   * it touches for itself) is an ordinary request.
   */
  requestAfter(r: LeaseRequest, afterId: string, now: number): { granted: boolean; blocker?: Blocker } {
    const before = this.held.get(afterId);
    const follows =
      before !== undefined &&
      before.holder.workflowId === r.holder.workflowId &&
      !before.unsafe &&
      !r.unsafe &&
      this.get(r.leaseId) === undefined &&
      // Steps one after another share no machine; one that does waits for the first to be released.
      !r.machines.some((m) => this.heldIndex.machine(m.name) === afterId);
    if (!follows) return this.request(r, now);
    const lease: Lease = { ...r, askedAt: now };
    this.heldIndex.change(before, -1);
    const found = blocker([this.heldIndex, this.ahead(Infinity)], lease);
    this.heldIndex.change(before, 1);
    if (found) return this.request(r, now);
    this.hold({ ...lease, grantedAt: now, follows: afterId });
    return { granted: true };
  }

  /** Releases a lease held, or withdraws one waiting; false when the book does not know it. */
  release(leaseId: string): boolean {
    let lease = this.held.get(leaseId);
    if (lease) {
      this.heldIndex.change(lease, -1);
      this.held.delete(leaseId);
    } else {
      const place = this.placeOf.get(leaseId);
      if (place === undefined) return false;
      lease = this.queue.get(place)!;
      this.dequeue(place);
    }
    for (const key of footprint(lease).keys) this.freed.add(key);
    const mine = this.byHolder.get(lease.holder.workflowId)!;
    mine.delete(leaseId);
    if (mine.size === 0) this.byHolder.delete(lease.holder.workflowId);
    return true;
  }

  /**
   * Grants, in queue order, every waiting request that fits beside the leases held and the waiters
   * before it (taken as held): a later request never takes what an earlier waiter needs. Looks only at
   * waiters kept out by a key some lease left since the last pass (see the cost note above).
   */
  grantWaiting(now: number): Lease[] {
    const granted: Lease[] = [];
    const looked = new Set<number>();
    /** The next waiter of each freed key, by place: keys are walked together, in queue order. */
    const next = new SeqHeap<string>();
    const headOf = (key: string) => {
      const heap = this.watchers.get(key);
      for (let top = heap?.peek(); top; top = heap!.peek()) {
        if (this.watching.get(top.seq)?.tag === top.value) return top.seq;
        heap!.pop(); // a waiter that left, or is kept out by another key now
      }
      if (heap) this.watchers.delete(key);
      return undefined;
    };
    const walk = (key: string) => {
      const place = headOf(key);
      if (place !== undefined) next.push(place, key);
    };
    for (const key of this.freed) walk(key);
    this.freed.clear();
    for (let item = next.pop(); item; item = next.pop()) {
      const { seq: place, value: key } = item;
      if (headOf(key) !== place) {
        walk(key);
        continue;
      }
      // Looked at in this pass already, and kept out by `key` since: so is every later waiter of it.
      if (looked.has(place)) continue;
      looked.add(place);
      this.watchers.get(key)!.pop();
      this.watching.delete(place);
      const lease = this.queue.get(place)!;
      const found = blocker([this.heldIndex, this.ahead(place)], lease);
      if (found) {
        this.watch(place, found.key);
        if (found.key === key) continue; // still kept out by this key: so is every later waiter of it
      } else {
        this.dequeue(place);
        const held = { ...lease, grantedAt: now };
        this.hold(held);
        granted.push(held);
      }
      walk(key);
    }
    return granted;
  }

  /** Why a waiting lease waits now: a holder, or a waiter ahead of it. */
  blockerOf(lease: Lease): Blocker | undefined {
    const found = blocker([this.heldIndex, this.ahead(this.placeOf.get(lease.leaseId) ?? Infinity)], lease);
    return found && this.explain(found);
  }

  /**
   * Every lease of a holder that is gone (held or waiting): removed and returned, the held ones by the time
   * they were granted (then ID), then the waiting ones in queue order. The order is the book's state, not
   * how it got there, so a book carried across continue-as-new answers as the one it came from.
   */
  dropHolder(workflowId: string): Lease[] {
    const ids = [...(this.byHolder.get(workflowId) ?? [])];
    const held = ids.filter((id) => this.held.has(id)).map((id) => this.held.get(id)!);
    held.sort((a, b) => a.grantedAt! - b.grantedAt! || (a.leaseId < b.leaseId ? -1 : 1));
    const gone = [
      ...held,
      ...ids
        .filter((id) => !this.held.has(id))
        .sort((a, b) => this.placeOf.get(a)! - this.placeOf.get(b)!)
        .map((id) => this.get(id)!),
    ];
    for (const l of gone) this.release(l.leaseId);
    return gone;
  }

  /** Every holder the book knows, holding or waiting. */
  holders(): string[] {
    return [...this.byHolder.keys()];
  }

  holding(): Lease[] {
    return [...this.held.values()];
  }

  waiting(): Lease[] {
    return [...this.queue.values()];
  }

  /** The first lease in the queue. */
  firstWaiting(): Lease | undefined {
    for (const l of this.queue.values()) return l;
    return undefined;
  }

  /** How many leases are held and how many wait (without copying the queue). */
  counts(): { held: number; waiting: number } {
    return { held: this.held.size, waiting: this.queue.size };
  }

  /** "rollout nov-2026 (zone 2 batch 1/3)", or the lease's ID when the book no longer knows it. */
  describe(leaseId: string): string {
    const l = this.get(leaseId);
    return l ? `${l.unsafe ? 'unsafe ' : ''}rollout ${l.holder.rolloutId} (${l.holder.step})` : leaseId;
  }

  private explain(found: Found): Blocker {
    const held = this.held.has(found.leaseId);
    return {
      reason: `${found.what} is ${held ? 'held' : 'asked for first'} by ${this.describe(found.leaseId)}`,
      leaseId: found.leaseId,
    };
  }

  /** What the waiters before `place` take. */
  private ahead(place: number) {
    return this.waiters.before(place, (p) => this.queue.get(p)!.leaseId);
  }

  private enqueue(lease: Lease, key: string): void {
    const place = this.nextPlace++;
    this.queue.set(place, lease);
    this.placeOf.set(lease.leaseId, place);
    this.waiters.change(lease, place, 1);
    this.list(lease);
    this.watch(place, key);
    if (key === READY) this.freed.add(READY);
  }

  /** Takes a waiter out of the queue (granted or withdrawn). */
  private dequeue(place: number): void {
    const lease = this.queue.get(place)!;
    this.waiters.change(lease, place, -1);
    this.queue.delete(place);
    this.placeOf.delete(lease.leaseId);
    this.watching.delete(place);
  }

  private watch(place: number, key: string): void {
    const tag = this.nextTag++;
    this.watching.set(place, { key, tag });
    let heap = this.watchers.get(key);
    if (!heap) this.watchers.set(key, (heap = new SeqHeap()));
    heap.push(place, tag);
  }

  private hold(lease: Lease): void {
    this.heldIndex.change(lease, 1);
    this.held.set(lease.leaseId, lease);
    this.list(lease);
  }

  private list(lease: Lease): void {
    const mine = this.byHolder.get(lease.holder.workflowId) ?? new Set<string>();
    this.byHolder.set(lease.holder.workflowId, mine.add(lease.leaseId));
  }
}
