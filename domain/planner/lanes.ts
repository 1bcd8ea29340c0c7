import { splitAllowance } from './capacity';

/**
 * A region's lanes run side by side (docs/planner.md, section 3): its zone lane, one lane per availability
 * set, its standalone lane. Lanes share the region's share of each service's allowance: each lane gets
 * a fixed part of it, so whatever the timing of their steps, the lanes together never exceed it.
 */
export interface LaneDemand {
  /** Fleet indices of the lane's machines, in lists (a zone, a set). */
  items: ReadonlyArray<readonly number[]>;
  /** The most machines the lane ever has down at once (its own rules: a zone budget, a set's cap). */
  concurrency: number;
}

/**
 * Per lane, its cap for each service: a lane that may use all it holds gets that (when the region's
 * share covers every lane's use), otherwise the share is split in proportion to each lane's use
 * (`splitAllowance`: at least 1 each). Null when the share is smaller than the lanes that hold the
 * service: then the lanes cannot run side by side (the caller lays them into one lane).
 */
export function laneServiceCaps(
  lanes: readonly LaneDemand[],
  serviceOf: Int32Array | null,
  regionCap: (service: number) => number,
): Array<(service: number) => number> | null {
  const unlimited = () => Infinity;
  if (!serviceOf) return lanes.map(() => unlimited);
  // Per service: the lanes that hold it and how many of its machines each could have down at once.
  const holders = new Map<number, { lanes: number[]; uses: number[] }>();
  // Counts per service id in one typed array, reset after each lane (a lane holds few services).
  let size = 0;
  for (const lane of lanes)
    for (const list of lane.items) for (const i of list) if (serviceOf[i] >= size) size = serviceOf[i] + 1;
  const counts = new Int32Array(size);
  lanes.forEach((lane, l) => {
    const touched: number[] = [];
    for (const list of lane.items)
      for (const i of list) {
        const s = serviceOf[i];
        if (s >= 0 && counts[s]++ === 0) touched.push(s);
      }
    for (const s of touched) {
      let h = holders.get(s);
      if (!h) holders.set(s, (h = { lanes: [], uses: [] }));
      h.lanes.push(l);
      h.uses.push(Math.min(counts[s], lane.concurrency));
      counts[s] = 0;
    }
  });
  const caps = lanes.map(() => new Map<number, number>());
  for (const [s, h] of holders) {
    const share = regionCap(s);
    if (share < h.lanes.length) return null;
    const total = h.uses.reduce((n, u) => n + u, 0);
    const split = !Number.isFinite(share) || total <= share ? h.uses : splitAllowance(share, h.uses);
    h.lanes.forEach((l, k) => caps[l].set(s, split[k]));
  }
  return caps.map((byService) => (s: number) => byService.get(s) ?? Infinity);
}
