/**
 * Runs a region's three tracks (zones, availability sets, standalone machines) side by side: their
 * batches are laid into common steps. A step takes at most one batch of each track, so it holds at most
 * one zone, one update domain per set and one standalone batch; a track's batches keep their order
 * across segments (a zone, an update domain), so zones still go one after another and update domains
 * in ascending order. Service capacity is shared: a batch joins a step only with the machines the
 * step's service counts still allow, the rest of it waits for a later step.
 */

/** One batch of a track, as packed: every rule of its own track holds for it alone. */
export interface Batch {
  /** Fleet indices. */
  items: number[];
  /** Its slowest machine. */
  max: number;
}

/** Consecutive batches of a track that may run in any order among themselves: one zone, one update domain. */
export interface Segment {
  batches: Batch[];
}

/** A track: its segments, in the order they must run. */
export type Track = Segment[];

export interface MergeInput {
  /** The tracks, by track id (0 zones, 1 sets, 2 standalone); an empty track is an empty list. */
  tracks: readonly Track[];
  minutes: Float64Array;
  /** Per fleet machine: service id or -1; null without serviceCapacity. */
  serviceOf: Int32Array | null;
  serviceCap: (service: number) => number;
}

/** A piece of a segment placed in a step. */
export interface Placed {
  track: number;
  segment: number;
  items: number[];
}

export interface MergedStep {
  parts: Placed[];
  max: number;
}

/** Batches of a segment tried on one step before the step is let pass: keeps a merge linear. */
const CANDIDATES = 8;

interface Slot {
  parts: Placed[];
  max: number;
  /** Machines per service in this step; null without serviceCapacity. */
  services: Map<number, number> | null;
}

/**
 * The longest track (by the sum of its batch maxima) sets the steps, batch by batch. Each other track,
 * longest first, then walks those steps in order. At each step it takes, from its current segment, the
 * slowest batch that is no slower than the step (a free ride); failing that, it lets the step pass while
 * enough steps remain for its remaining batches; otherwise it places its fastest remaining batch there.
 * A batch that service capacity keeps out of the step entirely gives way to the next few candidates.
 * Past the last step it appends steps of its own. A batch that service capacity does not fully admit is
 * split: the admitted machines join the step and the others stay for a later one. Every step's parts are
 * returned in track order; every track's pieces in step order.
 */
export function mergeTracks(input: MergeInput): MergedStep[] {
  const { tracks, minutes, serviceOf, serviceCap } = input;
  const order = tracks
    .map((track, id) => ({ id, total: total(track) }))
    .filter((t) => tracks[t.id].some((segment) => segment.batches.length > 0))
    .sort((a, b) => b.total - a.total || a.id - b.id);
  if (order.length === 0) return [];

  const slots: Slot[] = [];
  const newSlot = (): Slot => {
    const slot: Slot = { parts: [], max: 0, services: serviceOf ? new Map() : null };
    slots.push(slot);
    return slot;
  };
  const put = (slot: Slot, track: number, segment: number, items: number[]): void => {
    slot.parts.push({ track, segment, items });
    for (const i of items) {
      if (minutes[i] > slot.max) slot.max = minutes[i];
      const s = serviceOf ? serviceOf[i] : -1;
      if (s >= 0) slot.services!.set(s, (slot.services!.get(s) ?? 0) + 1);
    }
  };

  // The skeleton: one step per batch of the longest track.
  const skeleton = order[0].id;
  tracks[skeleton].forEach((segment, g) => {
    for (const batch of segment.batches) put(newSlot(), skeleton, g, batch.items);
  });

  /** The machines of `items` that `slot`'s service counts still admit, and the rest. */
  const admit = (slot: Slot, items: number[]): [number[], number[]] => {
    if (!slot.services || slot.parts.length === 0) return [items, []];
    const used = new Map<number, number>();
    const taken: number[] = [];
    const rest: number[] = [];
    for (const i of items) {
      const s = serviceOf![i];
      if (s < 0) {
        taken.push(i);
        continue;
      }
      const n = (slot.services.get(s) ?? 0) + (used.get(s) ?? 0);
      if (n < serviceCap(s)) {
        taken.push(i);
        used.set(s, (used.get(s) ?? 0) + 1);
      } else rest.push(i);
    }
    return [taken, rest];
  };

  for (const { id } of order.slice(1)) {
    const track = tracks[id];
    let left = 0;
    for (const segment of track) left += segment.batches.length;
    let k = 0;
    track.forEach((segment, g) => {
      const pool = new SegmentPool(segment.batches);
      while (!pool.empty()) {
        const slot = k < slots.length ? slots[k] : newSlot();
        const forced = slots.length - k - 1 < left;
        // Candidates: the slowest batches that ride free, then the fastest if the step must be used.
        let pick = pool.slowestAtMost(slot.max);
        const fastest = pool.fastest();
        for (let tries = 0; tries < CANDIDATES && (pick >= 0 || forced); tries++) {
          if (pick < 0) pick = fastest;
          const [taken, rest] = admit(slot, pool.items(pick));
          if (taken.length > 0) {
            put(slot, id, g, taken);
            if (rest.length > 0) pool.replace(pick, rest, maxMinutes(rest, minutes));
            else {
              pool.take(pick);
              left--;
            }
            break;
          }
          if (pick === fastest) break;
          pick = pool.after(pick);
        }
        k++;
      }
    });
  }

  for (const slot of slots) slot.parts.sort((a, b) => a.track - b.track);
  return slots.map((slot) => ({ parts: slot.parts, max: slot.max }));
}

function total(track: Track): number {
  let sum = 0;
  for (const segment of track) for (const batch of segment.batches) sum += batch.max;
  return sum;
}

export function maxMinutes(items: readonly number[], minutes: Float64Array): number {
  let max = 0;
  for (const i of items) if (minutes[i] > max) max = minutes[i];
  return max;
}

/**
 * The batches of one segment not yet placed, slowest first: finds the slowest batch no slower than a
 * given duration (binary search, then the next batch not yet taken) and the fastest batch, each in
 * near-constant time, so that a segment of many batches stays linear.
 */
class SegmentPool {
  private readonly batches: Batch[];
  /** Each batch's maximum when the pool was made, non-increasing: what the binary search reads. */
  private readonly maxima: Float64Array;
  /** Union-find links to the next (forward) and previous (backward) batch not yet taken. */
  private readonly forward: Int32Array;
  private readonly backward: Int32Array;
  private remaining: number;

  constructor(batches: readonly Batch[]) {
    this.batches = [...batches].sort((a, b) => b.max - a.max || a.items[0] - b.items[0]);
    const n = this.batches.length;
    this.maxima = Float64Array.from(this.batches, (b) => b.max);
    this.forward = Int32Array.from({ length: n + 1 }, (_, i) => i);
    this.backward = Int32Array.from({ length: n + 1 }, (_, i) => i);
    this.remaining = n;
  }

  empty(): boolean {
    return this.remaining === 0;
  }

  items(index: number): number[] {
    return this.batches[index].items;
  }

  /** The slowest batch left whose slowest machine takes at most `limit` minutes, or -1. */
  slowestAtMost(limit: number): number {
    let lo = 0;
    let hi = this.maxima.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.maxima[mid] <= limit) hi = mid;
      else lo = mid + 1;
    }
    const at = find(this.forward, lo);
    return at < this.batches.length ? at : -1;
  }

  /** The next batch left after `index` (no faster than the fastest), or -1. */
  after(index: number): number {
    const at = find(this.forward, index + 1);
    return at < this.batches.length ? at : -1;
  }

  /** The fastest batch left (the pool is not empty). */
  fastest(): number {
    // backward is indexed from 1 so that 0 means "none left".
    return find(this.backward, this.batches.length) - 1;
  }

  /** Part of a batch was placed: the rest stays, with its own slowest machine. */
  replace(index: number, items: number[], max: number): void {
    this.batches[index] = { items, max };
  }

  take(index: number): void {
    this.forward[index] = index + 1;
    this.backward[index + 1] = index;
    this.remaining--;
  }
}

/** Union-find root with path halving. */
function find(links: Int32Array, i: number): number {
  while (links[i] !== i) {
    links[i] = links[links[i]];
    i = links[i];
  }
  return i;
}
