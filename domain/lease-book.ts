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
 * Requests wait in one FIFO queue. A waiting request reserves what it touches (machines, zoned regions,
 * sets, services, its regions' geo-pairs), and no later request touching a reservation is granted before
 * it: a large request waits only for leases granted before it, never for ones that arrive after it.
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
}

function footprint(r: LeaseRequest): Footprint {
  const f: Footprint = { regions: new Map(), zones: new Map(), sets: new Map(), services: new Map() };
  for (const m of r.machines) {
    if (!f.regions.has(m.region)) f.regions.set(m.region, r.pairs[m.region] ?? []);
    if (m.zone !== undefined) {
      const zones = f.zones.get(m.region) ?? new Set<string>();
      f.zones.set(m.region, zones.add(m.zone));
    }
    if (m.availabilitySet !== undefined) {
      const s = f.sets.get(setKey(m)) ?? { uds: new Set<string>(), count: 0, size: Infinity };
      s.uds.add(String(m.updateDomain));
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

/**
 * What a waiting request reserves, and what a later request probes against reservations: the same keys
 * for machines, zoned regions, sets and services; for geo-pairs, a waiter in A reserves A's pairs
 * (`p:`) and its own region (`r:`), and a later request in B probes `p:B` and `r:` of B's pairs, so a
 * later request in A itself, on other zones or sets, is not held back by the pair rule.
 */
function keysOf(r: LeaseRequest, f: Footprint, as: 'reserve' | 'probe'): string[] {
  const keys = r.machines.map((m) => `m:${m.name}`);
  for (const [region, pairs] of f.regions)
    if (as === 'reserve') keys.push(`r:${region}`, ...pairs.map((p) => `p:${p}`));
    else keys.push(`p:${region}`, ...pairs.map((p) => `r:${p}`));
  for (const region of f.zones.keys()) keys.push(`z:${region}`);
  for (const set of f.sets.keys()) keys.push(`s:${set}`);
  for (const service of f.services.keys()) keys.push(`v:${service}`);
  return keys;
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

export class LeaseBook {
  private readonly held = new Map<string, Lease>();
  private readonly queue: Lease[] = [];
  private readonly machines = new Map<string, string>();
  private readonly regions = new Tally();
  /** Per region: how many held machines' regions are geo-paired with it. */
  private readonly paired = new Tally();
  /** Zoned machines by `region|zone`, and per region its zones held. */
  private readonly zoneCount = new Tally();
  private readonly zonesOf = new Map<string, Map<string, number>>();
  private readonly setCount = new Tally();
  private readonly setUds = new Map<string, Map<string, number>>();
  private readonly setSizes = new Map<string, Map<number, number>>();
  private readonly serviceCount = new Tally();
  private readonly allowances = new Map<string, Map<number, number>>();
  /** Unsafe holders by what they touch (`z:`, `s:`, `v:` keys). */
  private readonly unsafe = new Tally();
  /** Reservations of waiting requests. */
  private readonly reserved = new Tally();

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
   * Asks for a lease: granted at once when nothing waits before it in its way and no rule breaks,
   * else queued. Asking again for a lease held or waiting changes nothing. Call `leaseProblems` first.
   */
  request(r: LeaseRequest, now: number): { granted: boolean; blocker?: Blocker } {
    const known = this.get(r.leaseId);
    if (known)
      return {
        granted: this.held.has(r.leaseId),
        blocker: known.grantedAt === undefined ? this.blockerOf(known) : undefined,
      };
    const lease: Lease = { ...r, askedAt: now };
    const f = footprint(lease);
    const queued = keysOf(lease, f, 'probe').find((k) => this.reserved.total(k) > 0);
    const blocker = queued
      ? {
          reason: `${describeKey(queued)} is asked for first by ${this.describe(this.reserved.holder(queued)!)}`,
          leaseId: this.reserved.holder(queued)!,
        }
      : this.check(lease, f);
    if (blocker) {
      this.enqueue(lease);
      return { granted: false, blocker };
    }
    this.hold({ ...lease, grantedAt: now });
    return { granted: true };
  }

  /** Releases a lease held, or withdraws one waiting; false when the book does not know it. */
  release(leaseId: string): boolean {
    const lease = this.held.get(leaseId);
    if (lease) {
      this.unhold(lease);
      return true;
    }
    const at = this.queue.findIndex((l) => l.leaseId === leaseId);
    if (at < 0) return false;
    const [gone] = this.queue.splice(at, 1);
    for (const k of keysOf(gone, footprint(gone), 'reserve')) this.reserved.remove(k, gone.leaseId);
    return true;
  }

  /** Grants, in queue order, every waiting request that no earlier waiter and no rule keeps out. */
  grantWaiting(now: number): Lease[] {
    const granted: Lease[] = [];
    const ahead = new Set<string>();
    for (let i = 0; i < this.queue.length;) {
      const lease = this.queue[i];
      const f = footprint(lease);
      const keys = keysOf(lease, f, 'reserve');
      if (!keysOf(lease, f, 'probe').some((k) => ahead.has(k)) && !this.check(lease, f)) {
        this.queue.splice(i, 1);
        for (const k of keys) this.reserved.remove(k, lease.leaseId);
        const held = { ...lease, grantedAt: now };
        this.hold(held);
        granted.push(held);
        continue;
      }
      for (const k of keys) ahead.add(k);
      i++;
    }
    return granted;
  }

  /** Why a waiting lease waits now. */
  blockerOf(lease: Lease): Blocker | undefined {
    const f = footprint(lease);
    const at = this.queue.indexOf(lease);
    for (const other of this.queue.slice(0, Math.max(0, at))) {
      const mine = new Set(keysOf(lease, f, 'probe'));
      const key = keysOf(other, footprint(other), 'reserve').find((k) => mine.has(k));
      if (key)
        return {
          reason: `${describeKey(key)} is asked for first by ${this.describe(other.leaseId)}`,
          leaseId: other.leaseId,
        };
    }
    return this.check(lease, f);
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

  /** The rule that keeps the request out, with one lease that holds what it needs; undefined: grantable. */
  private check(r: Lease, f: Footprint): Blocker | undefined {
    const by = (leaseId: string, what: string): Blocker => ({
      reason: `${what} is held by ${this.describe(leaseId)}`,
      leaseId,
    });
    for (const m of r.machines) {
      const other = this.machines.get(m.name);
      if (other !== undefined) return by(other, `machine ${m.name}`);
    }
    for (const [region, pairs] of f.regions) {
      for (const p of pairs) {
        const other = this.regions.holder(p);
        if (other !== undefined) return by(other, `${p} (geo-paired with ${region})`);
      }
      const other = this.paired.holder(region);
      if (other !== undefined)
        return by(other, `${this.held.get(other)!.machines[0].region} (geo-paired with ${region})`);
    }
    if (r.unsafe) {
      for (const region of f.zones.keys()) {
        const other = this.firstHolder(this.zonesOf.get(region), (z) => `${region}|${z}`, this.zoneCount);
        if (other) return by(other.lease, `${region} zone ${other.key}`);
      }
      for (const set of f.sets.keys()) {
        const other = this.setCount.holder(set);
        if (other !== undefined) return by(other, `availability set ${set}`);
      }
      for (const service of f.services.keys()) {
        const other = this.serviceCount.holder(service);
        if (other !== undefined) return by(other, `service ${service}`);
      }
      return undefined;
    }
    for (const [region, zones] of f.zones) {
      const zone = [...zones][0];
      for (const z of this.zonesOf.get(region)?.keys() ?? [])
        if (z !== zone) return by(this.zoneCount.holder(`${region}|${z}`)!, `${region} zone ${z}`);
      const unsafe = this.unsafe.holder(`z:${region}`);
      if (unsafe !== undefined) return by(unsafe, `${region} (unsafe install)`);
    }
    for (const [set, s] of f.sets) {
      const unsafe = this.unsafe.holder(`s:${set}`);
      if (unsafe !== undefined) return by(unsafe, `availability set ${set} (unsafe install)`);
      const ud = [...s.uds][0];
      for (const u of this.setUds.get(set)?.keys() ?? [])
        if (u !== ud) return by(this.setCount.holder(set)!, `availability set ${set} update domain ${u}`);
      const cap = setCap(Math.min(s.size, minKey(this.setSizes.get(set))));
      if (this.setCount.total(set) + s.count > cap)
        return by(
          this.setCount.holder(set)!,
          `availability set ${set} (at most ${cap} at once, ${this.setCount.total(set)} held)`,
        );
    }
    for (const [service, s] of f.services) {
      const unsafe = this.unsafe.holder(`v:${service}`);
      if (unsafe !== undefined) return by(unsafe, `service ${service} (unsafe install)`);
      const allowance = Math.min(s.allowance, minKey(this.allowances.get(service)));
      if (this.serviceCount.total(service) + s.count > allowance)
        return by(
          this.serviceCount.holder(service)!,
          `service ${service} (at most ${allowance} down, ${this.serviceCount.total(service)} held)`,
        );
    }
    return undefined;
  }

  private firstHolder(
    zones: Map<string, number> | undefined,
    key: (z: string) => string,
    tally: Tally,
  ): { key: string; lease: string } | undefined {
    for (const z of zones?.keys() ?? []) return { key: z, lease: tally.holder(key(z))! };
    return undefined;
  }

  private enqueue(lease: Lease): void {
    this.queue.push(lease);
    for (const k of keysOf(lease, footprint(lease), 'reserve')) this.reserved.add(k, lease.leaseId);
  }

  private hold(lease: Lease): void {
    this.index(lease, +1);
    this.held.set(lease.leaseId, lease);
  }

  private unhold(lease: Lease): void {
    this.index(lease, -1);
    this.held.delete(lease.leaseId);
  }

  private index(lease: Lease, sign: 1 | -1): void {
    const id = lease.leaseId;
    const tally = (t: Tally, key: string) => (sign > 0 ? t.add(key, id) : t.remove(key, id));
    const f = footprint(lease);
    for (const m of lease.machines) {
      if (sign > 0) this.machines.set(m.name, id);
      else this.machines.delete(m.name);
      tally(this.regions, m.region);
      for (const p of lease.pairs[m.region] ?? []) tally(this.paired, p);
      if (m.zone !== undefined) {
        tally(this.zoneCount, `${m.region}|${m.zone}`);
        bump(this.zonesOf, m.region, m.zone, sign);
      }
      if (m.availabilitySet !== undefined) {
        tally(this.setCount, setKey(m));
        bump(this.setUds, setKey(m), String(m.updateDomain), sign);
        bump(this.setSizes, setKey(m), m.setSize!, sign);
      }
      if (m.service !== undefined) {
        tally(this.serviceCount, m.service);
        bump(this.allowances, m.service, m.serviceAllowance!, sign);
      }
    }
    if (lease.unsafe) {
      for (const region of f.zones.keys()) tally(this.unsafe, `z:${region}`);
      for (const set of f.sets.keys()) tally(this.unsafe, `s:${set}`);
      for (const service of f.services.keys()) tally(this.unsafe, `v:${service}`);
    }
  }

  /** "rollout nov-2026 (zone 2 batch 1/3)", or the lease's ID when the book no longer knows it. */
  describe(leaseId: string): string {
    const l = this.held.get(leaseId) ?? this.queue.find((x) => x.leaseId === leaseId);
    return l ? `${l.unsafe ? 'unsafe ' : ''}rollout ${l.holder.rolloutId} (${l.holder.step})` : leaseId;
  }
}

function bump<K>(map: Map<string, Map<K, number>>, key: string, sub: K, sign: 1 | -1): void {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  const n = (inner.get(sub) ?? 0) + sign;
  if (n > 0) inner.set(sub, n);
  else inner.delete(sub);
  if (inner.size === 0) map.delete(key);
}

function minKey(map: Map<number, number> | undefined): number {
  let min = Infinity;
  for (const k of map?.keys() ?? []) if (k < min) min = k;
  return min;
}

function describeKey(key: string): string {
  const [kind, rest] = [key.slice(0, 1), key.slice(2)];
  if (kind === 'm') return `machine ${rest}`;
  if (kind === 'r') return `region ${rest}`;
  if (kind === 'p') return `a region geo-paired with ${rest}`;
  if (kind === 'z') return `${rest}'s zones`;
  if (kind === 's') return `availability set ${rest}`;
  return `service ${rest}`;
}
