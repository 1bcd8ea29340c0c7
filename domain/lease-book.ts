import type { Problem } from './problems';

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
 * A grant costs O(machines in the request) map operations (each O(log n) at worst).
 */

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

/** Counts per key, and per key who holds them, so a blocker can be named. */
class Tally {
  private readonly byKey = new Map<string, Map<string, number>>();
  private readonly totals = new Map<string, number>();

  add(key: string, lease: string, n = 1): void {
    let holders = this.byKey.get(key);
    if (!holders) this.byKey.set(key, (holders = new Map()));
    holders.set(lease, (holders.get(lease) ?? 0) + n);
    this.totals.set(key, (this.totals.get(key) ?? 0) + n);
  }

  remove(key: string, lease: string, n = 1): void {
    const holders = this.byKey.get(key)!;
    const left = holders.get(lease)! - n;
    if (left > 0) holders.set(lease, left);
    else holders.delete(lease);
    if (holders.size === 0) this.byKey.delete(key);
    const total = this.totals.get(key)! - n;
    if (total > 0) this.totals.set(key, total);
    else this.totals.delete(key);
  }

  total(key: string): number {
    return this.totals.get(key) ?? 0;
  }

  /** A holder of `key` other than `except`, if any. */
  holder(key: string, except?: string): string | undefined {
    for (const lease of this.byKey.get(key)?.keys() ?? []) if (lease !== except) return lease;
    return undefined;
  }
}

const setKey = (m: LeaseMachine) => `${m.region}/${m.availabilitySet}`;
/** Azure: within one update domain at most 20% of the set at once, one at a time below 10 machines. */
export const setCap = (size: number): number => (size < 10 ? 1 : Math.floor(size / 5));

/** What a request touches, per rule, with its own counts. */
interface Footprint {
  regions: Map<string, string[]>;
  /** Region -> the one zone its zonal machines are in (or several: a safe request must not). */
  zones: Map<string, Set<string>>;
  sets: Map<string, { uds: Set<string>; count: number; size: number }>;
  services: Map<string, { count: number; allowance: number }>;
  /** Machines per region, per `region|zone`, and per set and update domain: what the indexes count. */
  regionCounts: Map<string, number>;
  zoneCounts: Map<string, number>;
  udCounts: Map<string, Map<string, number>>;
}

/** Footprints are pure functions of a request: computed once per request object. */
const footprints = new WeakMap<LeaseRequest, Footprint>();

function footprint(r: LeaseRequest): Footprint {
  let f = footprints.get(r);
  if (!f) footprints.set(r, (f = footprintOf(r)));
  return f;
}

function footprintOf(r: LeaseRequest): Footprint {
  const f: Footprint = {
    regions: new Map(),
    zones: new Map(),
    sets: new Map(),
    services: new Map(),
    regionCounts: new Map(),
    zoneCounts: new Map(),
    udCounts: new Map(),
  };
  const inc = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const m of r.machines) {
    if (!f.regions.has(m.region)) f.regions.set(m.region, r.pairs[m.region] ?? []);
    inc(f.regionCounts, m.region);
    if (m.zone !== undefined) {
      const zones = f.zones.get(m.region) ?? new Set<string>();
      f.zones.set(m.region, zones.add(m.zone));
      inc(f.zoneCounts, `${m.region}|${m.zone}`);
    }
    if (m.availabilitySet !== undefined) {
      const s = f.sets.get(setKey(m)) ?? { uds: new Set<string>(), count: 0, size: Infinity };
      s.uds.add(String(m.updateDomain));
      const uds = f.udCounts.get(setKey(m)) ?? new Map<string, number>();
      f.udCounts.set(setKey(m), inc(uds, String(m.updateDomain)));
      s.count++;
      s.size = Math.min(s.size, m.setSize ?? 0);
      f.sets.set(setKey(m), s);
    }
    if (m.service !== undefined) {
      const s = f.services.get(m.service) ?? { count: 0, allowance: Infinity };
      s.count++;
      s.allowance = Math.min(s.allowance, m.serviceAllowance ?? 0);
      f.services.set(m.service, s);
    }
  }
  return f;
}

/** A request the guard cannot place or could never grant: `path: message` problems (empty when fine). */
export function leaseProblems(r: LeaseRequest): Problem[] {
  const problems: Problem[] = [];
  const at = (i: number) => `machines[${i}] (${r.machines[i].name})`;
  const seen = new Set<string>();
  if (r.machines.length === 0) problems.push({ path: 'machines', message: 'a lease needs machines' });
  r.machines.forEach((m, i) => {
    if (seen.has(m.name)) problems.push({ path: at(i), message: 'listed twice' });
    seen.add(m.name);
    if (!Object.hasOwn(r.pairs, m.region))
      problems.push({
        path: at(i),
        message: `unknown region "${m.region}": the request carries no geo-pairs for it`,
      });
    if (m.availabilitySet !== undefined && !(Number.isInteger(m.setSize) && m.setSize! >= 1))
      problems.push({ path: at(i), message: `unknown availability set "${m.availabilitySet}": no set size` });
    if (m.service !== undefined && !(Number.isInteger(m.serviceAllowance) && m.serviceAllowance! >= 0))
      problems.push({ path: at(i), message: `unknown service "${m.service}": no allowance` });
  });
  if (problems.length > 0 || r.unsafe) return problems;
  // A safe request must keep the rules by itself, or no grant could ever come.
  const f = footprint(r);
  for (const [region, pairs] of f.regions)
    for (const p of pairs)
      if (f.regions.has(p))
        problems.push({ path: 'machines', message: `geo-paired regions ${region} and ${p} in one lease` });
  for (const [region, zones] of f.zones)
    if (zones.size > 1)
      problems.push({ path: 'machines', message: `${region}: zones ${[...zones].join(', ')} in one lease` });
  for (const [set, s] of f.sets) {
    if (s.uds.size > 1)
      problems.push({
        path: 'machines',
        message: `set ${set}: update domains ${[...s.uds].join(', ')} in one lease`,
      });
    if (s.count > setCap(s.size))
      problems.push({
        path: 'machines',
        message: `set ${set}: ${s.count} machines, at most ${setCap(s.size)} at once`,
      });
  }
  for (const [service, s] of f.services)
    if (s.count > s.allowance)
      problems.push({
        path: 'machines',
        message: `service ${service}: ${s.count} machines, at most ${s.allowance} down`,
      });
  return problems;
}

/** Leases by what they take, per rule: the held leases, or the waiters ahead of a request. */
class Index {
  readonly machines = new Map<string, string>();
  readonly regions = new Tally();
  /** Per region: how many indexed machines' regions are geo-paired with it. */
  readonly paired = new Tally();
  /** Zoned machines by `region|zone`, and per region its zones taken. */
  readonly zoneCount = new Tally();
  readonly zonesOf = new Map<string, Map<string, number>>();
  readonly setCount = new Tally();
  readonly setUds = new Map<string, Map<string, number>>();
  readonly setSizes = new Map<string, Map<number, number>>();
  readonly serviceCount = new Tally();
  readonly allowances = new Map<string, Map<number, number>>();
  /** Unsafe leases by what they touch (`z:`, `s:`, `v:` keys). */
  readonly unsafe = new Tally();

  /** Counts per footprint (one map operation per region, zone, set or service), machines one by one. */
  add(lease: Lease, f: Footprint, sign: 1 | -1): void {
    const id = lease.leaseId;
    const tally = (t: Tally, key: string, n = 1) => (sign > 0 ? t.add(key, id, n) : t.remove(key, id, n));
    for (const m of lease.machines) {
      if (sign > 0) this.machines.set(m.name, id);
      else this.machines.delete(m.name);
    }
    for (const [region, n] of f.regionCounts) {
      tally(this.regions, region, n);
      for (const p of lease.pairs[region] ?? []) tally(this.paired, p, n);
    }
    for (const [key, n] of f.zoneCounts) {
      tally(this.zoneCount, key, n);
      const cut = key.indexOf('|');
      bump(this.zonesOf, key.slice(0, cut), key.slice(cut + 1), sign * n);
    }
    for (const [set, s] of f.sets) {
      tally(this.setCount, set, s.count);
      for (const [ud, n] of f.udCounts.get(set)!) bump(this.setUds, set, ud, sign * n);
      // The lease's strictest size stands for all its machines: the minimum is what the rules read.
      bump(this.setSizes, set, s.size, sign * s.count);
    }
    for (const [service, s] of f.services) {
      tally(this.serviceCount, service, s.count);
      bump(this.allowances, service, s.allowance, sign * s.count);
    }
    if (lease.unsafe) {
      for (const region of f.zones.keys()) tally(this.unsafe, `z:${region}`);
      for (const set of f.sets.keys()) tally(this.unsafe, `s:${set}`);
      for (const service of f.services.keys()) tally(this.unsafe, `v:${service}`);
    }
  }
}

/**
 * The rule that keeps request `r` out beside every lease in `indexes` (held, and waiters ahead, taken
 * as held), with one lease in its way; undefined: it fits. Counts add up across indexes, and the
 * strictest set size and service allowance among them and the request wins.
 */
function blocker(indexes: Index[], r: Lease, f: Footprint): { what: string; leaseId: string } | undefined {
  const first = (get: (ix: Index) => string | undefined) => {
    for (const ix of indexes) {
      const id = get(ix);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const sum = (get: (ix: Index) => number) => indexes.reduce((n, ix) => n + get(ix), 0);
  const min = (get: (ix: Index) => Map<number, number> | undefined) =>
    Math.min(...indexes.map((ix) => minKey(get(ix))));
  const by = (leaseId: string | undefined, what: string) =>
    leaseId === undefined ? undefined : { what, leaseId };
  for (const m of r.machines) {
    const hit = by(
      first((ix) => ix.machines.get(m.name)),
      `machine ${m.name}`,
    );
    if (hit) return hit;
  }
  for (const [region, pairs] of f.regions) {
    for (const p of pairs) {
      const hit = by(
        first((ix) => ix.regions.holder(p)),
        `${p} (geo-paired with ${region})`,
      );
      if (hit) return hit;
    }
    const hit = by(
      first((ix) => ix.paired.holder(region)),
      `a region geo-paired with ${region}`,
    );
    if (hit) return hit;
  }
  if (r.unsafe) {
    for (const region of f.zones.keys()) {
      const hit = by(
        first((ix) => {
          for (const z of ix.zonesOf.get(region)?.keys() ?? []) return ix.zoneCount.holder(`${region}|${z}`);
          return undefined;
        }),
        `${region}'s zones`,
      );
      if (hit) return hit;
    }
    for (const set of f.sets.keys()) {
      const hit = by(
        first((ix) => ix.setCount.holder(set)),
        `availability set ${set}`,
      );
      if (hit) return hit;
    }
    for (const service of f.services.keys()) {
      const hit = by(
        first((ix) => ix.serviceCount.holder(service)),
        `service ${service}`,
      );
      if (hit) return hit;
    }
    return undefined;
  }
  for (const [region, zones] of f.zones) {
    const zone = [...zones][0];
    for (const ix of indexes)
      for (const z of ix.zonesOf.get(region)?.keys() ?? [])
        if (z !== zone)
          return { what: `${region} zone ${z}`, leaseId: ix.zoneCount.holder(`${region}|${z}`)! };
    const hit = by(
      first((ix) => ix.unsafe.holder(`z:${region}`)),
      `${region} (unsafe install)`,
    );
    if (hit) return hit;
  }
  for (const [set, s] of f.sets) {
    const unsafe = by(
      first((ix) => ix.unsafe.holder(`s:${set}`)),
      `availability set ${set} (unsafe install)`,
    );
    if (unsafe) return unsafe;
    const ud = [...s.uds][0];
    for (const ix of indexes)
      for (const u of ix.setUds.get(set)?.keys() ?? [])
        if (u !== ud)
          return { what: `availability set ${set} update domain ${u}`, leaseId: ix.setCount.holder(set)! };
    const cap = setCap(
      Math.min(
        s.size,
        min((ix) => ix.setSizes.get(set)),
      ),
    );
    const taken = sum((ix) => ix.setCount.total(set));
    if (taken + s.count > cap)
      return {
        what: `availability set ${set} (at most ${cap} at once, ${taken} taken)`,
        leaseId: first((ix) => ix.setCount.holder(set))!,
      };
  }
  for (const [service, s] of f.services) {
    const unsafe = by(
      first((ix) => ix.unsafe.holder(`v:${service}`)),
      `service ${service} (unsafe install)`,
    );
    if (unsafe) return unsafe;
    const allowance = Math.min(
      s.allowance,
      min((ix) => ix.allowances.get(service)),
    );
    const taken = sum((ix) => ix.serviceCount.total(service));
    if (taken + s.count > allowance)
      return {
        what: `service ${service} (at most ${allowance} down, ${taken} taken)`,
        leaseId: first((ix) => ix.serviceCount.holder(service))!,
      };
  }
  return undefined;
}

export class LeaseBook {
  private readonly held = new Map<string, Lease>();
  private readonly queue: Lease[] = [];
  private readonly heldIndex = new Index();
  /** Every waiter, as if held: what a new request must also fit beside. */
  private readonly waitIndex = new Index();

  constructor(state?: LeaseBookState) {
    for (const l of state?.held ?? []) this.hold(l);
    for (const l of state?.waiting ?? []) this.enqueue(l);
  }

  state(): LeaseBookState {
    return { held: [...this.held.values()], waiting: [...this.queue] };
  }

  get(leaseId: string): Lease | undefined {
    return this.held.get(leaseId) ?? this.queue.find((l) => l.leaseId === leaseId);
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
    const found = blocker([this.heldIndex, this.waitIndex], lease, footprint(lease));
    if (found) {
      this.enqueue(lease);
      return { granted: false, blocker: this.explain(found) };
    }
    this.hold({ ...lease, grantedAt: now });
    return { granted: true };
  }

  /** Releases a lease held, or withdraws one waiting; false when the book does not know it. */
  release(leaseId: string): boolean {
    const lease = this.held.get(leaseId);
    if (lease) {
      this.heldIndex.add(lease, footprint(lease), -1);
      this.held.delete(leaseId);
      return true;
    }
    const at = this.queue.findIndex((l) => l.leaseId === leaseId);
    if (at < 0) return false;
    const [gone] = this.queue.splice(at, 1);
    this.waitIndex.add(gone, footprint(gone), -1);
    return true;
  }

  /**
   * Grants, in queue order, every waiting request that fits beside the leases held and the waiters
   * before it (taken as held): a later request never takes what an earlier waiter needs.
   */
  grantWaiting(now: number): Lease[] {
    const granted: Lease[] = [];
    const ahead = new Index();
    const kept: Lease[] = [];
    for (const lease of this.queue) {
      const f = footprint(lease);
      if (blocker([this.heldIndex, ahead], lease, f)) {
        ahead.add(lease, f, 1);
        kept.push(lease);
        continue;
      }
      this.waitIndex.add(lease, f, -1);
      const held = { ...lease, grantedAt: now };
      this.hold(held);
      granted.push(held);
    }
    this.queue.splice(0, this.queue.length, ...kept);
    return granted;
  }

  /** Why a waiting lease waits now: a holder, or a waiter ahead of it. */
  blockerOf(lease: Lease): Blocker | undefined {
    const ahead = new Index();
    for (const other of this.queue) {
      if (other.leaseId === lease.leaseId) break;
      ahead.add(other, footprint(other), 1);
    }
    const found = blocker([this.heldIndex, ahead], lease, footprint(lease));
    return found && this.explain(found);
  }

  /** Every lease of a holder that is gone (held or waiting): removed and returned. */
  dropHolder(workflowId: string): Lease[] {
    const gone = [...this.held.values(), ...this.queue].filter((l) => l.holder.workflowId === workflowId);
    for (const l of gone) this.release(l.leaseId);
    return gone;
  }

  /** Every holder the book knows, holding or waiting. */
  holders(): string[] {
    return [...new Set([...this.held.values(), ...this.queue].map((l) => l.holder.workflowId))];
  }

  holding(): Lease[] {
    return [...this.held.values()];
  }

  waiting(): Lease[] {
    return [...this.queue];
  }

  private explain(found: { what: string; leaseId: string }): Blocker {
    const held = this.held.has(found.leaseId);
    return {
      reason: `${found.what} is ${held ? 'held' : 'asked for first'} by ${this.describe(found.leaseId)}`,
      leaseId: found.leaseId,
    };
  }

  private enqueue(lease: Lease): void {
    this.queue.push(lease);
    this.waitIndex.add(lease, footprint(lease), 1);
  }

  private hold(lease: Lease): void {
    this.heldIndex.add(lease, footprint(lease), 1);
    this.held.set(lease.leaseId, lease);
  }

  /** "rollout nov-2026 (zone 2 batch 1/3)", or the lease's ID when the book no longer knows it. */
  describe(leaseId: string): string {
    const l = this.held.get(leaseId) ?? this.queue.find((x) => x.leaseId === leaseId);
    return l ? `${l.unsafe ? 'unsafe ' : ''}rollout ${l.holder.rolloutId} (${l.holder.step})` : leaseId;
  }
}

function bump<K>(map: Map<string, Map<K, number>>, key: string, sub: K, delta: number): void {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  const n = (inner.get(sub) ?? 0) + delta;
  if (n > 0) inner.set(sub, n);
  else inner.delete(sub);
  if (inner.size === 0) map.delete(key);
}

function minKey(map: Map<number, number> | undefined): number {
  let min = Infinity;
  for (const k of map?.keys() ?? []) if (k < min) min = k;
  return min;
}
