/**
 * Pipelined steps: a candidate for the model the workflows run, measured by the forecast and the bench
 * before the workflows run it (docs/planner.md, "Pipelined steps"). Today a lane's step starts when the
 * step before has every machine done, so a step lasts as long as its slowest machine. Pipelined, the next
 * step of the same segment (the same zone, the same update domain, the standalone machines) is the
 * step's follower: its machines start as the step's own machines end, each taking over a freed place
 * whose keys it shares (the same set, service, subscription and track), so that at every instant, for
 * every key, no more machines are down than the step alone had. Pure; no clock, no Temporal.
 */
import { Heap } from '../heap';

/** What a step's place in its lane is: consecutive steps with equal segments may overlap. */
export interface StepSegment {
  kind: string;
  zone?: string;
  updateDomain?: number;
}

/**
 * Two consecutive steps of one lane share a segment when they have the same kind, zone and update domain:
 * one zone, the same update domain of every set they hold (a set machine without an update domain counts
 * as a domain of its own, which the set key keeps to one at a time), or the standalone machines.
 */
export function sameSegment(a: StepSegment, b: StepSegment): boolean {
  return a.kind === b.kind && a.zone === b.zone && a.updateDomain === b.updateDomain;
}

/**
 * The places a step (the leader) leaves to its follower. Each machine counts against its keys (`*`, the
 * step itself, always); a follower's machine may start while each of its keys has fewer machines down,
 * the leader's and the follower's together, than the leader had of it. So a follower never puts more of
 * a zone, a set, a service or a subscription down than its leader did, and what the leader's lease
 * allowed beside every other lease still holds (docs/fleet-guard.md). Of the follower's machines that may
 * start, `next` gives the slowest (then the first in the step).
 *
 * Kept cheap for steps of hundreds of machines of hundreds of services: machines of equal keys form one
 * kind, each kind counts how many of its keys are full, and the kinds with none full wait in a heap by
 * their next machine; a key that every leader machine has is `*` itself and is not counted apart.
 */
export class FollowerPlaces {
  private readonly keyIds = new Map<string, number>();
  private readonly cap: number[] = [];
  private readonly down: number[] = [];
  private readonly kindsOfKey: number[][] = [];
  private readonly kinds: Array<{ keys: number[]; queue: number[]; full: number; version: number }> = [];
  private readonly ready = new Heap<{ kind: number; version: number; item: number }>((a, b) =>
    this.before(a.item, b.item),
  );
  private stepDown: number;
  private readonly leaderSize: number;

  /**
   * `leader`: each leader machine's keys, all of them down to begin with; `follower`: each follower
   * machine's keys; `minutes`: per follower machine, its expected minutes.
   */
  constructor(
    leader: ReadonlyArray<readonly string[]>,
    follower: ReadonlyArray<readonly string[]>,
    private readonly minutes: readonly number[],
  ) {
    const counts = new Map<string, number>();
    for (const keys of leader) for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    this.stepDown = this.leaderSize = leader.length;
    for (const [key, count] of counts)
      if (key !== '*' && count < leader.length) {
        this.keyIds.set(key, this.cap.length);
        this.cap.push(count);
        this.down.push(count);
        this.kindsOfKey.push([]);
      }
    const kindIds = new Map<string, number>();
    follower.forEach((keys, item) => {
      // A key the leader lacks: such a machine never follows (it waits for the leader to be done).
      if (keys.some((key) => !counts.has(key))) return;
      const ids = this.ids(keys);
      const signature = ids.join(',');
      let kind = kindIds.get(signature);
      if (kind === undefined) {
        kindIds.set(signature, (kind = this.kinds.length));
        this.kinds.push({ keys: ids, queue: [], full: ids.length, version: 0 });
        for (const id of ids) this.kindsOfKey[id].push(kind);
      }
      this.kinds[kind].queue.push(item);
    });
    // Each kind's queue, fastest first, so that its slowest machine is popped first.
    for (const kind of this.kinds) kind.queue.sort((a, b) => (this.before(b, a) ? -1 : 1));
    this.kinds.forEach((kind, k) => kind.full === 0 && this.offer(k));
  }

  /** A leader's or a follower's machine is done: its places free. */
  end(keys: readonly string[]): void {
    this.stepDown--;
    for (const id of this.ids(keys)) {
      if (this.down[id]-- === this.cap[id])
        for (const k of this.kindsOfKey[id]) if (--this.kinds[k].full === 0) this.offer(k);
    }
  }

  /**
   * The follower's machine (its index) to start now, counted down; undefined when none may start, or when
   * the one to start next does not `fit` (it stays next).
   */
  next(fits: (item: number) => boolean = () => true): number | undefined {
    if (this.stepDown >= this.leaderSize) return undefined;
    for (let top = this.ready.pop(); top; top = this.ready.pop()) {
      const kind = this.kinds[top.kind];
      if (kind.full > 0 || kind.version !== top.version || kind.queue.length === 0) continue;
      if (!fits(kind.queue[kind.queue.length - 1])) {
        this.offer(top.kind);
        return undefined;
      }
      const item = kind.queue.pop()!;
      this.stepDown++;
      for (const id of kind.keys)
        if (++this.down[id] === this.cap[id]) for (const k of this.kindsOfKey[id]) this.kinds[k].full++;
      if (kind.full === 0) this.offer(top.kind);
      return item;
    }
    return undefined;
  }

  /** The follower's machine `next` would start now, left in place (a lane asks whether it fits first). */
  peek(): number | undefined {
    let item: number | undefined;
    this.next((i) => ((item = i), false));
    return item;
  }

  private ids(keys: readonly string[]): number[] {
    const ids: number[] = [];
    for (const key of keys) {
      const id = this.keyIds.get(key);
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  private offer(k: number): void {
    const kind = this.kinds[k];
    if (kind.queue.length === 0) return;
    this.ready.push({ kind: k, version: ++kind.version, item: kind.queue[kind.queue.length - 1] });
  }

  /** Slowest first, then first in the step. */
  private before(a: number, b: number): boolean {
    return this.minutes[a] > this.minutes[b] || (this.minutes[a] === this.minutes[b] && a < b);
  }
}

/** The keys a machine counts against: the step, its track, and its set, service and subscription. */
export interface MachineKeys {
  zone?: string;
  availabilitySet?: string;
  subscription?: string;
}

export function keysOf(m: MachineKeys, service: string | undefined): string[] {
  const keys = ['*'];
  if (m.zone !== undefined) keys.push('track:zone');
  else if (m.availabilitySet !== undefined) keys.push(`set:${m.availabilitySet}`);
  else {
    keys.push('track:standalone');
    if (m.subscription !== undefined) keys.push(`subscription:${m.subscription}`);
  }
  if (service !== undefined) keys.push(`service:${service}`);
  return keys;
}

/**
 * Every machine's keys, built once per machine up front: machines with equal keys share one array
 * (a million machines have a few thousand), looked up by the same fields `keysOf` reads.
 */
export function machineKeys<M extends MachineKeys>(
  machines: readonly M[],
  serviceOf: (m: M) => string | undefined,
): (i: number) => readonly string[] {
  // A tree of maps by the fields keysOf reads: no key string to build per machine, and no value can pass
  // for another's (a map tells undefined, booleans and every string apart).
  type Level = Map<string | boolean | undefined, Level | string[]>;
  const root: Level = new Map();
  const below = (level: Level, value: string | boolean | undefined): Level => {
    let next = level.get(value) as Level | undefined;
    if (!next) level.set(value, (next = new Map()));
    return next;
  };
  const keys = machines.map((m) => {
    const service = serviceOf(m);
    const leaf = below(below(below(root, m.zone !== undefined), m.availabilitySet), m.subscription);
    let k = leaf.get(service) as string[] | undefined;
    if (!k) leaf.set(service, (k = keysOf(m, service)));
    return k;
  });
  return (i) => keys[i];
}

/** One step of a lane for `pipelinedRound`: its machines (fleet indexes) and its segment. */
export interface PipelinedStep {
  items: readonly number[];
  segment: StepSegment;
}

export interface PipelinedLaneModel {
  keys(i: number): readonly string[];
  /** Expected minutes of install and reboot: a follower starts its slowest machines first. */
  minutes(i: number): number;
  /** Runs machine `i` of step `s` from `at`; its end (`at` itself when it cannot run). */
  attempt(i: number, at: number, s: number): number;
  deadline: number;
  /**
   * Whether machine `i` started at `at` would run whole (no window cuts it). A follower starts its machines
   * in order while the next one fits; one that does not waits, with those after it, for its leader to be done.
   */
  fits?: (i: number, at: number) => boolean;
  /** Per fleet machine, its first round's start and end: NaN until it starts (shared by every lane). */
  startAt: Float64Array;
  endAt: Float64Array;
}

/**
 * A lane's first round, pipelined: each step's machines that its leader did not already start start when
 * the leader has every machine done (the lane's start for the first), and while the step runs, its
 * follower's machines, slowest first (ties in step order), take the places its machines free, while the
 * next one `fits`. A follower starts nothing past the deadline. Returns each step's span and when the last step is done.
 */
export function pipelinedRound(
  steps: readonly PipelinedStep[],
  startAt: number,
  model: PipelinedLaneModel,
): { spans: Array<{ startAt: number; finishAt: number }>; finishAt: number } {
  const { startAt: startOf, endAt: endOf } = model;
  const spans: Array<{ startAt: number; finishAt: number }> = [];
  let leaderDone = startAt;
  for (let s = 0; s < steps.length; s++) {
    const { items } = steps[s];
    const t = leaderDone;
    let first = Infinity;
    let last = -Infinity;
    for (const i of items) {
      if (Number.isNaN(startOf[i])) {
        startOf[i] = t;
        endOf[i] = model.attempt(i, t, s);
      }
      first = Math.min(first, startOf[i]);
      last = Math.max(last, endOf[i]);
    }
    spans.push(items.length ? { startAt: first, finishAt: last } : { startAt: t, finishAt: t });
    // The lane moves on when this step and the one before are both done.
    const done = Math.max(t, last);
    const f = s + 1;
    if (f < steps.length && items.length > 0 && sameSegment(steps[s].segment, steps[f].segment))
      follow(items, steps[f].items, f, t, done, model);
    leaderDone = done;
  }
  return { spans, finishAt: leaderDone };
}

/** The follower's machines into the places the leader's free, from `from` until the leader is done. */
function follow(
  leader: readonly number[],
  follower: readonly number[],
  f: number,
  from: number,
  leaderDone: number,
  model: PipelinedLaneModel,
): void {
  const { startAt: startOf, endAt: endOf } = model;
  const places = new FollowerPlaces(
    leader.map((i) => model.keys(i)),
    follower.map((i) => model.keys(i)),
    follower.map((i) => model.minutes(i)),
  );
  const ends = new Heap<{ at: number; keys: readonly string[] }>((a, b) => a.at < b.at);
  for (const i of leader) {
    // A leader's machine that ended before `from` (it followed the step before) frees its place at once.
    if (endOf[i] <= from) places.end(model.keys(i));
    else ends.push({ at: endOf[i], keys: model.keys(i) });
  }
  let now = from;
  while (now < leaderDone && now <= model.deadline) {
    const fits = (k: number) => !model.fits || model.fits(follower[k], now);
    for (let k = places.next(fits); k !== undefined; k = places.next(fits)) {
      const i = follower[k];
      startOf[i] = now;
      endOf[i] = model.attempt(i, now, f);
      ends.push({ at: endOf[i], keys: model.keys(i) });
    }
    const next = ends.pop();
    if (!next) break;
    places.end(next.keys);
    now = next.at;
  }
}
