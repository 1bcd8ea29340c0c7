/**
 * Packs machines into the fewest batches this greedy finds such that no batch holds more than
 * `sizeCap` machines, more than `groupCaps[g]` machines of group `g` (an availability set), or more
 * than `serviceCap(s)` machines of service `s`.
 */
export interface PackInput {
  /** Machine indices (into the fleet), in fleet order. */
  items: readonly number[];
  sizeCap: number;
  /** Per item (parallel to `items`): a local group id, with `groupCaps` per group; null: no groups. */
  groups: readonly number[] | null;
  groupCaps: readonly number[] | null;
  /** Per fleet machine: service id or -1; null: no service capacity. */
  serviceOf: Int32Array | null;
  serviceCap: (service: number) => number;
  /** Per fleet machine: expected minutes; machines of like duration are batched together. */
  minutes: Float64Array;
}

/** Cell keys combine a group and a service id; both stay far below 2^26, so the key is an exact integer. */
const KEY_SPAN = 2 ** 26;

interface Cell {
  group: number;
  service: number;
  items: number[];
  taken: number;
  /** The cell's first machine in fleet order, the last tie-break. */
  first: number;
  servicePressure: number;
  groupPressure: number;
}

/**
 * Machines sharing a group and a service form a cell. Cells are ordered by pressure (machines per
 * allowed slot) of their service, then of their group, then by their first machine, so the tightest
 * constraints are served in every batch. Each batch walks the cells in that order and takes from each
 * as many machines as every cap still allows. Every batch takes at least one machine (all caps are at
 * least 1), so the loop ends. Inside a cell, machines go slowest first (ties in fleet order), so that
 * machines of like duration share a batch and a batch's slowest machine wastes little of the others'
 * time. Each batch is returned sorted (fleet order).
 */
export function pack(input: PackInput): number[][] {
  const { items, groups, groupCaps, serviceOf, serviceCap, minutes } = input;
  if (items.length === 0) return [];
  // One group (a set alone) is a size cap; services that cannot fill their cap in a batch limit nothing.
  // Then first fit, slowest first, is consecutive batches of the machines sorted slowest first.
  let sizeCap = input.sizeCap;
  const g = groups?.[0] ?? -1;
  const oneGroup = groups !== null && groupCaps !== null && g >= 0 && groups.every((x) => x === g);
  if (oneGroup) sizeCap = Math.min(sizeCap, groupCaps[g]);
  if ((!groups || oneGroup) && (!serviceOf || servicesFit(items, serviceOf, serviceCap, sizeCap))) {
    const sorted = slowestFirst(items, minutes);
    const out: number[][] = [];
    for (let i = 0; i < sorted.length; i += sizeCap) out.push(inFleetOrder(sorted.slice(i, i + sizeCap)));
    return out;
  }
  // First fit, slowest first; when it needs more batches than the limits force, the tightest-first
  // packing too, and of the two the one whose batches' slowest machines add up to less (the steps run
  // one after another), the tightest-first one on a tie.
  const { batches: slow, fewest } = packSlowestFirst(input);
  if (slow.length <= fewest) return slow;
  const tight = packTightestFirst(input);
  const cost = (batches: number[][]) => batches.reduce((sum, b) => sum + maxOf(b, minutes), 0);
  return cost(slow) < cost(tight) - 1e-9 ? slow : tight;
}

/** No service of `items` can exceed its cap in a batch of `sizeCap` machines. */
function servicesFit(
  items: readonly number[],
  serviceOf: Int32Array,
  serviceCap: (service: number) => number,
  sizeCap: number,
): boolean {
  const counts = new Map<number, number>();
  for (const i of items) if (serviceOf[i] >= 0) counts.set(serviceOf[i], (counts.get(serviceOf[i]) ?? 0) + 1);
  for (const [s, count] of counts) if (Math.min(count, sizeCap) > serviceCap(s)) return false;
  return true;
}

function maxOf(batch: readonly number[], minutes: Float64Array): number {
  let max = 0;
  for (const i of batch) if (minutes[i] > max) max = minutes[i];
  return max;
}

/**
 * First fit, slowest machine first: each machine goes into the first batch that every cap still
 * admits, so the slowest machines share the first batches and a batch's slowest machine holds up
 * machines of like duration. Each cell (group and service) remembers the first batch it may still
 * join: caps only fill, so that batch never moves back, and the packing stays near-linear. Also
 * returns the fewest batches any packing needs: the size cap, and every group's and service's cap,
 * each alone.
 */
function packSlowestFirst(input: PackInput): { batches: number[][]; fewest: number } {
  const { items, sizeCap, groups, groupCaps, serviceOf, serviceCap } = input;
  const n = items.length;
  // Services by local id (0..S-1), groups as given (0..G-1); counts in flat typed arrays per batch.
  const localOf = new Map<number, number>();
  const serviceCaps: number[] = [];
  const local = new Int32Array(n).fill(-1);
  if (serviceOf)
    for (let k = 0; k < n; k++) {
      const s = serviceOf[items[k]];
      if (s < 0) continue;
      let id = localOf.get(s);
      if (id === undefined) {
        localOf.set(s, (id = serviceCaps.length));
        serviceCaps.push(serviceCap(s));
      }
      local[k] = id;
    }
  const S = serviceCaps.length;
  const G = groups && groupCaps ? groupCaps.length : 0;
  let fewest = Math.ceil(n / sizeCap);
  const serviceTotals = new Int32Array(S);
  const groupTotals = new Int32Array(G);
  for (let k = 0; k < n; k++) {
    if (local[k] >= 0) serviceTotals[local[k]]++;
    if (G > 0 && groups![k] >= 0) groupTotals[groups![k]]++;
  }
  for (let s = 0; s < S; s++) fewest = Math.max(fewest, Math.ceil(serviceTotals[s] / serviceCaps[s]));
  for (let g = 0; g < G; g++) fewest = Math.max(fewest, Math.ceil(groupTotals[g] / groupCaps![g]));

  const batches: number[][] = [];
  const serviceUsed: Int32Array[] = [];
  const groupUsed: Int32Array[] = [];
  // Per cell, the first batch it may still join: a flat array when the cells are few enough.
  const cells = (G + 1) * (S + 1);
  const dense = cells <= 4 * n + 64 ? new Int32Array(cells) : null;
  const sparse = dense ? null : new Map<number, number>();
  /** The first batch with room for one more machine: batches before it are full. */
  let open = 0;
  for (const k of slowestPositions(items, input.minutes)) {
    const service = local[k];
    const group = G > 0 ? groups![k] : -1;
    const key = (group + 1) * (S + 1) + service + 1;
    let b = Math.max(open, dense ? dense[key] : (sparse!.get(key) ?? 0));
    for (; b < batches.length; b++) {
      if (batches[b].length >= sizeCap) continue;
      if (service >= 0 && serviceUsed[b][service] >= serviceCaps[service]) continue;
      if (group >= 0 && groupUsed[b][group] >= groupCaps![group]) continue;
      break;
    }
    if (b === batches.length) {
      batches.push([]);
      serviceUsed.push(new Int32Array(S));
      groupUsed.push(new Int32Array(G));
    }
    if (dense) dense[key] = b;
    else sparse!.set(key, b);
    batches[b].push(items[k]);
    while (open < batches.length && batches[open].length >= sizeCap) open++;
    if (service >= 0) serviceUsed[b][service]++;
    if (group >= 0) groupUsed[b][group]++;
  }
  return { batches: batches.map(inFleetOrder), fewest };
}

/** The tightest constraints first (see `pack`): the fewest batches when services or sets are tight. */
function packTightestFirst(input: PackInput): number[][] {
  const { items, sizeCap, groups, groupCaps, serviceOf, serviceCap, minutes } = input;

  const cellOf = new Map<number, Cell>();
  const cells: Cell[] = [];
  const serviceTotals = new Map<number, number>();
  const groupTotals = new Map<number, number>();
  for (let i = 0; i < items.length; i++) {
    const service = serviceOf ? serviceOf[items[i]] : -1;
    const group = groups ? groups[i] : -1;
    const key = (group + 1) * KEY_SPAN + service + 1;
    let cell = cellOf.get(key);
    if (!cell) {
      cell = { group, service, items: [], taken: 0, first: items[i], servicePressure: 0, groupPressure: 0 };
      cellOf.set(key, cell);
      cells.push(cell);
    }
    cell.items.push(items[i]);
  }
  // Totals per service and group, counted per cell (far fewer than machines).
  for (const cell of cells) {
    const size = cell.items.length;
    if (cell.service >= 0) serviceTotals.set(cell.service, (serviceTotals.get(cell.service) ?? 0) + size);
    if (cell.group >= 0) groupTotals.set(cell.group, (groupTotals.get(cell.group) ?? 0) + size);
  }
  for (const cell of cells) if (cell.items.length > 1) cell.items = slowestFirst(cell.items, minutes);
  const caps = new Map<number, number>();
  for (const s of serviceTotals.keys()) caps.set(s, serviceCap(s));
  for (const cell of cells) {
    if (cell.service >= 0) cell.servicePressure = serviceTotals.get(cell.service)! / caps.get(cell.service)!;
    if (cell.group >= 0 && groupCaps)
      cell.groupPressure = groupTotals.get(cell.group)! / groupCaps[cell.group];
  }
  cells.sort(
    (a, b) => b.servicePressure - a.servicePressure || b.groupPressure - a.groupPressure || a.first - b.first,
  );

  const out: number[][] = [];
  const serviceUsed = new Map<number, number>();
  const groupUsed = new Map<number, number>();
  let active = cells;
  while (active.length > 0) {
    serviceUsed.clear();
    groupUsed.clear();
    const batch: number[] = [];
    let room = sizeCap;
    for (const cell of active) {
      if (room === 0) break;
      let take = Math.min(cell.items.length - cell.taken, room);
      if (cell.group >= 0 && groupCaps)
        take = Math.min(take, groupCaps[cell.group] - (groupUsed.get(cell.group) ?? 0));
      if (cell.service >= 0)
        take = Math.min(take, caps.get(cell.service)! - (serviceUsed.get(cell.service) ?? 0));
      if (take <= 0) continue;
      for (let k = 0; k < take; k++) batch.push(cell.items[cell.taken + k]);
      cell.taken += take;
      room -= take;
      if (cell.group >= 0) groupUsed.set(cell.group, (groupUsed.get(cell.group) ?? 0) + take);
      if (cell.service >= 0) serviceUsed.set(cell.service, (serviceUsed.get(cell.service) ?? 0) + take);
    }
    active = active.filter((cell) => cell.taken < cell.items.length);
    out.push(inFleetOrder(batch));
  }
  return out;
}

/** Index bits of a sort key: fleets stay far below 2^32 machines. */
const INDEX_SPAN = 2 ** 32;
/** Durations in hundredths of a minute below this fit the key's upper bits exactly (2^52 overall). */
const UNITS_SPAN = 2 ** 20;

/**
 * Machines by expected duration, slowest first, ties in fleet order. When every duration is a whole
 * number of hundredths of a minute (as fleets write them), each machine becomes one exact number that a
 * typed array sorts natively; otherwise a comparator does the same.
 */
function slowestFirst(list: readonly number[], minutes: Float64Array): number[] {
  const order = slowestPositions(list, minutes);
  const out = new Array<number>(list.length);
  for (let k = 0; k < order.length; k++) out[k] = list[order[k]];
  return out;
}

/**
 * Positions into `list` (fleet indices in fleet order), by its machines' durations, slowest first. Whole
 * hundredths in a narrow range (as fleets write them) are counted into place, in linear time; a wide
 * range sorts exact keys natively; anything else takes a comparator. All three give the same order.
 */
function slowestPositions(list: readonly number[], minutes: Float64Array): Int32Array {
  const n = list.length;
  const units = new Int32Array(n);
  let lo = UNITS_SPAN;
  let hi = -1;
  for (let k = 0; k < n; k++) {
    const u = Math.round(minutes[list[k]] * 100);
    if (u < 0 || u >= UNITS_SPAN || Math.abs(minutes[list[k]] * 100 - u) > 1e-6 || k >= INDEX_SPAN)
      return Int32Array.from(list, (_, k) => k).sort((a, b) => minutes[list[b]] - minutes[list[a]] || a - b);
    units[k] = u;
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  const out = new Int32Array(n);
  if (hi - lo <= 16 * n + 1024) {
    // Counting sort, slowest first; within one duration the positions stay in fleet order. It beats the
    // native sort from about 300 machines over a range of 70 minutes (16 slots a machine).
    const starts = new Int32Array(hi - lo + 2);
    for (let k = 0; k < n; k++) starts[hi - units[k] + 1]++;
    for (let u = 1; u < starts.length; u++) starts[u] += starts[u - 1];
    for (let k = 0; k < n; k++) out[starts[hi - units[k]]++] = k;
    return out;
  }
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k++) keys[k] = (UNITS_SPAN - 1 - units[k]) * INDEX_SPAN + k;
  keys.sort();
  for (let k = 0; k < n; k++) out[k] = keys[k] % INDEX_SPAN;
  return out;
}

function inFleetOrder(batch: number[]): number[] {
  if (batch.length < 2) return batch;
  // A typed array sorts numbers natively, far faster than a comparator on large batches.
  const sorted = Int32Array.from(batch).sort();
  for (let k = 0; k < sorted.length; k++) batch[k] = sorted[k];
  return batch;
}
