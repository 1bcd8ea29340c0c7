import type { Lease, LeaseMachine, LeaseRequest } from './lease-types';
import type { Problem } from './problems';

/**
 * The fleet guard's rules (docs/fleet-guard.md), pure: what a request touches (its footprint), whether
 * it could ever be granted (`leaseProblems`), and what keeps it out beside what others take (`blocker`).
 * The lease book (domain/lease-book.ts) decides who those others are: the leases held and the waiters
 * ahead of the request.
 */

const setKey = (m: LeaseMachine) => `${m.region}/${m.availabilitySet}`;
/** Azure: within one update domain at most 20% of the set at once, one at a time below 10 machines. */
export const setCap = (size: number): number => (size < 10 ? 1 : Math.floor(size / 5));

/** What a request touches, per rule, with its own counts. */
export interface Footprint {
  regions: Map<string, string[]>;
  /** Region -> the one zone its zonal machines are in (or several: a safe request must not). */
  zones: Map<string, Set<string>>;
  sets: Map<string, { uds: Set<string>; count: number; size: number }>;
  services: Map<string, { count: number; allowance: number }>;
  /** Machines per region, per `region|zone`, and per set and update domain: what the indexes count. */
  regionCounts: Map<string, number>;
  zoneCounts: Map<string, number>;
  udCounts: Map<string, Map<string, number>>;
  /** Regions geo-paired with one of the request's regions (as the request's fleet file says). */
  paired: Set<string>;
  /**
   * What the request takes, one key per thing a rule counts (`m:` machine, `r:` region, `p:` region some
   * machine is geo-paired with, `z:` a region's zones, `s:` set, `v:` service): when a lease leaves, the
   * waiters kept out by one of its keys are looked at again, and no others.
   */
  keys: string[];
}

/** Footprints are pure functions of a request: computed once per request object. */
const footprints = new WeakMap<LeaseRequest, Footprint>();

export function footprint(r: LeaseRequest): Footprint {
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
    paired: new Set(),
    keys: [],
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
  for (const pairs of f.regions.values()) for (const p of pairs) f.paired.add(p);
  f.keys = [
    ...r.machines.map((m) => `m:${m.name}`),
    ...[...f.regions.keys()].map((region) => `r:${region}`),
    ...[...f.paired].map((p) => `p:${p}`),
    ...[...f.zones.keys()].map((region) => `z:${region}`),
    ...[...f.sets.keys()].map((set) => `s:${set}`),
    ...[...f.services.keys()].map((service) => `v:${service}`),
  ];
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

/**
 * What a group of leases takes, as the rules ask it: the leases held (`Index`), or the waiters ahead of
 * a request (domain/lease-lanes.ts). Each answer names one lease that takes the thing asked about.
 */
export interface Taken {
  machine(name: string): string | undefined;
  /** A lease with machines in `region`. */
  region(region: string): string | undefined;
  /** A lease with machines in a region geo-paired with `region`. */
  paired(region: string): string | undefined;
  /** A zone of `region` taken other than `except` (any zone when undefined), and a lease in it. */
  zone(region: string, except?: string): { zone: string; leaseId: string } | undefined;
  /** An unsafe lease touching a region's zones (`z:region`), a set (`s:set`) or a service (`v:service`). */
  unsafe(key: string): string | undefined;
  set(set: string): string | undefined;
  /** An update domain of `set` taken other than `except`, and a lease in it. */
  ud(set: string, except: string): { ud: string; leaseId: string } | undefined;
  /** Machines of the set taken, and the smallest size of the set said by those who take them. */
  setTaken(set: string): number;
  setSize(set: string): number;
  service(service: string): string | undefined;
  serviceTaken(service: string): number;
  allowance(service: string): number;
}

/** Counts per key, and per key who holds them (in the order they came), so a blocker can be named. */
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

  /** The first holder of `key`, if any. */
  holder(key: string): string | undefined {
    for (const lease of this.byKey.get(key)?.keys() ?? []) return lease;
    return undefined;
  }
}

/** Leases by what they take, per rule: the leases held (in the order they were granted). */
export class Index implements Taken {
  private readonly machines = new Map<string, string>();
  private readonly regions = new Tally();
  /** Per region: how many indexed machines' regions are geo-paired with it. */
  private readonly pairedWith = new Tally();
  /** Zoned machines by `region|zone`, and per region its zones taken. */
  private readonly zoneCount = new Tally();
  private readonly zonesOf = new Map<string, Map<string, number>>();
  private readonly setCount = new Tally();
  private readonly setUds = new Map<string, Map<string, number>>();
  /** Set machines by `set|update domain`: who holds an update domain. */
  private readonly udCount = new Tally();
  private readonly setSizes = new Map<string, Map<number, number>>();
  private readonly serviceCount = new Tally();
  private readonly allowances = new Map<string, Map<number, number>>();
  /** Unsafe leases by what they touch (`z:`, `s:`, `v:` keys). */
  private readonly unsafeOn = new Tally();

  /** Counts per footprint (one map operation per region, zone, set or service), machines one by one. */
  change(lease: Lease, sign: 1 | -1): void {
    const f = footprint(lease);
    const id = lease.leaseId;
    const tally = (t: Tally, key: string, n = 1) => (sign > 0 ? t.add(key, id, n) : t.remove(key, id, n));
    // Held, a machine is in one lease; the first one that takes it is the one named.
    for (const m of lease.machines) {
      if (sign > 0 && !this.machines.has(m.name)) this.machines.set(m.name, id);
      else if (sign < 0 && this.machines.get(m.name) === id) this.machines.delete(m.name);
    }
    for (const [region, n] of f.regionCounts) {
      tally(this.regions, region, n);
      for (const p of lease.pairs[region] ?? []) tally(this.pairedWith, p, n);
    }
    for (const [key, n] of f.zoneCounts) {
      tally(this.zoneCount, key, n);
      const cut = key.indexOf('|');
      bump(this.zonesOf, key.slice(0, cut), key.slice(cut + 1), sign * n);
    }
    for (const [set, s] of f.sets) {
      tally(this.setCount, set, s.count);
      for (const [ud, n] of f.udCounts.get(set)!) {
        bump(this.setUds, set, ud, sign * n);
        tally(this.udCount, `${set}|${ud}`, n);
      }
      // The lease's strictest size stands for all its machines: the minimum is what the rules read.
      bump(this.setSizes, set, s.size, sign * s.count);
    }
    for (const [service, s] of f.services) {
      tally(this.serviceCount, service, s.count);
      bump(this.allowances, service, s.allowance, sign * s.count);
    }
    if (lease.unsafe) {
      for (const region of f.zones.keys()) tally(this.unsafeOn, `z:${region}`);
      for (const set of f.sets.keys()) tally(this.unsafeOn, `s:${set}`);
      for (const service of f.services.keys()) tally(this.unsafeOn, `v:${service}`);
    }
  }

  machine = (name: string) => this.machines.get(name);
  region = (region: string) => this.regions.holder(region);
  paired = (region: string) => this.pairedWith.holder(region);
  zone(region: string, except?: string) {
    for (const zone of this.zonesOf.get(region)?.keys() ?? [])
      if (zone !== except) return { zone, leaseId: this.zoneCount.holder(`${region}|${zone}`)! };
    return undefined;
  }
  unsafe = (key: string) => this.unsafeOn.holder(key);
  set = (set: string) => this.setCount.holder(set);
  ud(set: string, except: string) {
    for (const ud of this.setUds.get(set)?.keys() ?? [])
      if (ud !== except) return { ud, leaseId: this.udCount.holder(`${set}|${ud}`)! };
    return undefined;
  }
  setTaken = (set: string) => this.setCount.total(set);
  setSize = (set: string) => minKey(this.setSizes.get(set));
  service = (service: string) => this.serviceCount.holder(service);
  serviceTaken = (service: string) => this.serviceCount.total(service);
  allowance = (service: string) => minKey(this.allowances.get(service));
}

/** What keeps a request out: the rule (`what`), one lease in its way, and the key of the rule. */
export interface Found {
  what: string;
  leaseId: string;
  /** One of the footprint's keys (`Footprint.keys`): only a lease leaving it can let the request in. */
  key: string;
}

/**
 * The rule that keeps request `r` out beside every lease in `takens` (held, and waiters ahead, taken
 * as held), with one lease in its way; undefined: it fits. Counts add up across the groups, and the
 * strictest set size and service allowance among them and the request wins.
 */
export function blocker(takens: Taken[], r: LeaseRequest): Found | undefined {
  const f = footprint(r);
  const first = (get: (t: Taken) => string | undefined) => {
    for (const t of takens) {
      const id = get(t);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const sum = (get: (t: Taken) => number) => takens.reduce((n, t) => n + get(t), 0);
  const min = (get: (t: Taken) => number) => Math.min(...takens.map(get));
  const by = (leaseId: string | undefined, what: string, key: string) =>
    leaseId === undefined ? undefined : { what, leaseId, key };
  for (const m of r.machines) {
    const hit = by(
      first((t) => t.machine(m.name)),
      `machine ${m.name}`,
      `m:${m.name}`,
    );
    if (hit) return hit;
  }
  for (const [region, pairs] of f.regions) {
    for (const p of pairs) {
      const hit = by(
        first((t) => t.region(p)),
        `${p} (geo-paired with ${region})`,
        `r:${p}`,
      );
      if (hit) return hit;
    }
    const hit = by(
      first((t) => t.paired(region)),
      `a region geo-paired with ${region}`,
      `p:${region}`,
    );
    if (hit) return hit;
  }
  if (r.unsafe) {
    for (const region of f.zones.keys()) {
      const hit = by(
        first((t) => t.zone(region)?.leaseId),
        `${region}'s zones`,
        `z:${region}`,
      );
      if (hit) return hit;
    }
    for (const set of f.sets.keys()) {
      const hit = by(
        first((t) => t.set(set)),
        `availability set ${set}`,
        `s:${set}`,
      );
      if (hit) return hit;
    }
    for (const service of f.services.keys()) {
      const hit = by(
        first((t) => t.service(service)),
        `service ${service}`,
        `v:${service}`,
      );
      if (hit) return hit;
    }
    return undefined;
  }
  for (const [region, zones] of f.zones) {
    const zone = [...zones][0];
    for (const t of takens) {
      const other = t.zone(region, zone);
      if (other) return { what: `${region} zone ${other.zone}`, leaseId: other.leaseId, key: `z:${region}` };
    }
    const hit = by(
      first((t) => t.unsafe(`z:${region}`)),
      `${region} (unsafe install)`,
      `z:${region}`,
    );
    if (hit) return hit;
  }
  for (const [set, s] of f.sets) {
    const key = `s:${set}`;
    const unsafe = by(
      first((t) => t.unsafe(key)),
      `availability set ${set} (unsafe install)`,
      key,
    );
    if (unsafe) return unsafe;
    const ud = [...s.uds][0];
    for (const t of takens) {
      const other = t.ud(set, ud);
      if (other)
        return { what: `availability set ${set} update domain ${other.ud}`, leaseId: other.leaseId, key };
    }
    const cap = setCap(
      Math.min(
        s.size,
        min((t) => t.setSize(set)),
      ),
    );
    const taken = sum((t) => t.setTaken(set));
    if (taken + s.count > cap)
      return {
        what: `availability set ${set} (at most ${cap} at once, ${taken} taken)`,
        leaseId: first((t) => t.set(set))!,
        key,
      };
  }
  for (const [service, s] of f.services) {
    const key = `v:${service}`;
    const unsafe = by(
      first((t) => t.unsafe(key)),
      `service ${service} (unsafe install)`,
      key,
    );
    if (unsafe) return unsafe;
    const allowance = Math.min(
      s.allowance,
      min((t) => t.allowance(service)),
    );
    const taken = sum((t) => t.serviceTaken(service));
    if (taken + s.count > allowance)
      return {
        what: `service ${service} (at most ${allowance} down, ${taken} taken)`,
        leaseId: first((t) => t.service(service))!,
        key,
      };
  }
  return undefined;
}

/**
 * The same question asked the plain way, over lists: the rule that keeps `r` out beside `held` and the
 * waiters `ahead` of it, each indexed afresh. O(every machine listed): the reference the book's
 * indexes are tested against (test/unit/lease-book.test.ts).
 */
export function blockerAmong(r: LeaseRequest, held: Lease[], ahead: Lease[]): Found | undefined {
  const index = (leases: Lease[]) => {
    const ix = new Index();
    for (const l of leases) ix.change(l, 1);
    return ix;
  };
  return blocker([index(held), index(ahead)], r);
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
