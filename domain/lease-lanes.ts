import { Heap } from './heap';
import type { Lease } from './lease-types';
import { footprint, type Taken } from './lease-rules';

/**
 * The fleet guard's queue by what each waiter takes (pure). A waiter is known by its place in the queue
 * (`seq`, growing as requests arrive), and the rules ask what the waiters AHEAD of one place take: the
 * first waiter before it that takes a machine, a region, a zone..., and how many of a set's or a
 * service's machines they take together. Each answer costs O(log n): one lane per thing taken, in queue
 * order, with a Fenwick tree for the sums.
 */

/** The waiters that take one thing, in queue order, each with its amount (machines taken). */
class Lane {
  private seqs: number[] = [];
  private amounts: number[] = [];
  private gone: boolean[] = [];
  /** Fenwick tree over `amounts` (1-based): `tree[i]` sums the entries in (i - lowbit(i), i]. */
  private tree: number[] = [0];
  private head = 0;
  private dead = 0;

  get size(): number {
    return this.seqs.length - this.dead;
  }

  /** A waiter joins at the end (seqs only grow). */
  push(seq: number, amount: number): void {
    this.seqs.push(seq);
    this.amounts.push(amount);
    this.gone.push(false);
    const i = this.seqs.length;
    let sum = amount;
    for (let j = i - 1, stop = i - (i & -i); j > stop; j -= j & -j) sum += this.tree[j];
    this.tree.push(sum);
  }

  remove(seq: number): void {
    const i = below(this.seqs, seq);
    if (this.seqs[i] !== seq || this.gone[i]) return;
    this.gone[i] = true;
    this.dead++;
    for (let j = i + 1; j < this.tree.length; j += j & -j) this.tree[j] -= this.amounts[i];
    if (this.dead > 16 && this.dead * 2 > this.seqs.length) this.compact();
  }

  /** The first waiter before `seq`. Amortised O(1): the head only moves on. */
  first(seq: number): number | undefined {
    while (this.head < this.seqs.length && this.gone[this.head]) this.head++;
    const s = this.seqs[this.head];
    return s !== undefined && s < seq ? s : undefined;
  }

  /** What the waiters before `seq` take together. */
  sum(seq: number): number {
    let total = 0;
    for (let i = below(this.seqs, seq); i > 0; i -= i & -i) total += this.tree[i];
    return total;
  }

  /** Drops the entries of waiters gone once they are half the lane: O(1) amortised per removal. */
  private compact(): void {
    const live = this.seqs.flatMap((s, i) => (this.gone[i] ? [] : [[s, this.amounts[i]] as const]));
    this.seqs = [];
    this.amounts = [];
    this.gone = [];
    this.tree = [0];
    this.head = 0;
    this.dead = 0;
    for (const [s, a] of live) this.push(s, a);
  }
}

/** How many entries of sorted `xs` are below `x` (its insertion point). */
function below(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lanes by key; a lane no waiter is in is dropped. */
class Lanes<K> {
  readonly lanes = new Map<K, Lane>();

  change(key: K, seq: number, sign: 1 | -1, amount = 1): void {
    let lane = this.lanes.get(key);
    if (sign > 0) {
      if (!lane) this.lanes.set(key, (lane = new Lane()));
      lane.push(seq, amount);
    } else if (lane) {
      lane.remove(seq);
      if (lane.size === 0) this.lanes.delete(key);
    }
  }

  first(key: K, before: number): number | undefined {
    return this.lanes.get(key)?.first(before);
  }

  sum(key: K, before: number): number {
    return this.lanes.get(key)?.sum(before) ?? 0;
  }

  /** Among the keys other than `except`, the one whose first waiter before `before` comes first. */
  earliest(before: number, except?: K): { key: K; seq: number } | undefined {
    let best: { key: K; seq: number } | undefined;
    for (const [key, lane] of this.lanes) {
      if (key === except) continue;
      const seq = lane.first(before);
      if (seq !== undefined && (!best || seq < best.seq)) best = { key, seq };
    }
    return best;
  }

  /** The smallest key with a waiter before `before` (keys are few: the sizes fleet files gave a set). */
  smallest(before: number): number {
    let min = Infinity;
    for (const [key, lane] of this.lanes)
      if ((key as number) < min && lane.first(before) !== undefined) min = key as number;
    return min;
  }
}

/** Lanes of lanes: per region its zones, per set its update domains or sizes, per service its allowances. */
class Groups<K> {
  private readonly groups = new Map<string, Lanes<K>>();

  change(group: string, key: K, seq: number, sign: 1 | -1): void {
    let lanes = this.groups.get(group);
    if (!lanes) this.groups.set(group, (lanes = new Lanes<K>()));
    lanes.change(key, seq, sign);
    if (lanes.lanes.size === 0) this.groups.delete(group);
  }

  get(group: string): Lanes<K> | undefined {
    return this.groups.get(group);
  }
}

/** Every waiter by what it takes; `before(seq)` is what the waiters ahead of a place take. */
export class WaitLanes {
  private readonly machines = new Lanes<string>();
  private readonly regions = new Lanes<string>();
  private readonly paired = new Lanes<string>();
  private readonly zones = new Groups<string>();
  private readonly unsafe = new Lanes<string>();
  private readonly sets = new Lanes<string>();
  private readonly uds = new Groups<string>();
  private readonly sizes = new Groups<number>();
  private readonly services = new Lanes<string>();
  private readonly allowances = new Groups<number>();

  /** O(machines + regions + zones + sets + services of the lease), each O(log n). */
  change(lease: Lease, seq: number, sign: 1 | -1): void {
    const f = footprint(lease);
    for (const m of lease.machines) this.machines.change(m.name, seq, sign);
    for (const region of f.regions.keys()) this.regions.change(region, seq, sign);
    for (const p of f.paired) this.paired.change(p, seq, sign);
    for (const [region, zones] of f.zones)
      for (const zone of zones) this.zones.change(region, zone, seq, sign);
    for (const [set, s] of f.sets) {
      this.sets.change(set, seq, sign, s.count);
      for (const ud of s.uds) this.uds.change(set, ud, seq, sign);
      this.sizes.change(set, s.size, seq, sign);
    }
    for (const [service, s] of f.services) {
      this.services.change(service, seq, sign, s.count);
      this.allowances.change(service, s.allowance, seq, sign);
    }
    if (lease.unsafe)
      for (const key of [
        ...[...f.zones.keys()].map((region) => `z:${region}`),
        ...[...f.sets.keys()].map((set) => `s:${set}`),
        ...[...f.services.keys()].map((service) => `v:${service}`),
      ])
        this.unsafe.change(key, seq, sign);
  }

  /** What the waiters before place `seq` take; `idOf` names a waiter by its place. */
  before(seq: number, idOf: (seq: number) => string): Taken {
    const id = (s: number | undefined) => (s === undefined ? undefined : idOf(s));
    return {
      machine: (name) => id(this.machines.first(name, seq)),
      region: (region) => id(this.regions.first(region, seq)),
      paired: (region) => id(this.paired.first(region, seq)),
      zone: (region, except) => {
        const e = this.zones.get(region)?.earliest(seq, except);
        return e && { zone: e.key, leaseId: idOf(e.seq) };
      },
      unsafe: (key) => id(this.unsafe.first(key, seq)),
      set: (set) => id(this.sets.first(set, seq)),
      ud: (set, except) => {
        const e = this.uds.get(set)?.earliest(seq, except);
        return e && { ud: e.key, leaseId: idOf(e.seq) };
      },
      setTaken: (set) => this.sets.sum(set, seq),
      setSize: (set) => this.sizes.get(set)?.smallest(seq) ?? Infinity,
      service: (service) => id(this.services.first(service, seq)),
      serviceTaken: (service) => this.services.sum(service, seq),
      allowance: (service) => this.allowances.get(service)?.smallest(seq) ?? Infinity,
    };
  }
}

/** A binary min-heap of places in the queue, each with a value. */
export class SeqHeap<T> {
  private readonly heap = new Heap<{ seq: number; value: T }>((a, b) => a.seq < b.seq);

  get size(): number {
    return this.heap.size;
  }

  peek(): { seq: number; value: T } | undefined {
    return this.heap.peek();
  }

  push(seq: number, value: T): void {
    this.heap.push({ seq, value });
  }

  pop(): { seq: number; value: T } | undefined {
    return this.heap.pop();
  }
}
