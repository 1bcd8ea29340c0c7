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
  const { items, sizeCap, groups, serviceOf, minutes } = input;
  if (items.length === 0) return [];
  if (!groups && !serviceOf) {
    const sorted = slowestFirst(items, null, minutes);
    const out: number[][] = [];
    for (let i = 0; i < sorted.length; i += sizeCap) out.push(inFleetOrder(sorted.slice(i, i + sizeCap)));
    return out;
  }
  // First fit, slowest first; when it needs more batches than the limits force, the tightest-first
  // packing too, and of the two the one whose batches' slowest machines add up to less (the steps run
  // one after another), the tightest-first one on a tie.
  const slow = packSlowestFirst(input);
  if (slow.length <= fewestBatches(input)) return slow;
  const tight = packTightestFirst(input);
  const cost = (batches: number[][]) => batches.reduce((sum, b) => sum + maxOf(b, minutes), 0);
  return cost(slow) < cost(tight) - 1e-9 ? slow : tight;
}

/** No packing has fewer batches: the size cap, every group's and every service's cap, each alone. */
function fewestBatches(input: PackInput): number {
  const { items, sizeCap, groups, groupCaps, serviceOf, serviceCap } = input;
  let fewest = Math.ceil(items.length / sizeCap);
  const count = (keys: Iterable<number>, cap: (key: number) => number) => {
    const totals = new Map<number, number>();
    for (const key of keys) if (key >= 0) totals.set(key, (totals.get(key) ?? 0) + 1);
    for (const [key, n] of totals) fewest = Math.max(fewest, Math.ceil(n / cap(key)));
  };
  if (groups && groupCaps) count(groups, (g) => groupCaps[g]);
  if (serviceOf)
    count(
      items.map((i) => serviceOf[i]),
      serviceCap,
    );
  return fewest;
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
 * join: caps only fill, so that batch never moves back, and the packing stays near-linear.
 */
function packSlowestFirst(input: PackInput): number[][] {
  const { items, sizeCap, groups, groupCaps, serviceOf, serviceCap } = input;
  const batches: number[][] = [];
  const serviceUsed: Array<Map<number, number>> = [];
  const groupUsed: Array<Map<number, number>> = [];
  const firstOf = new Map<number, number>();
  const caps = new Map<number, number>();
  // Positions in `items` (fleet order), so that a machine's group is at hand.
  for (const k of slowestFirst(
    items.map((_, k) => k),
    items,
    input.minutes,
  )) {
    const i = items[k];
    const service = serviceOf ? serviceOf[i] : -1;
    const group = groups ? groups[k] : -1;
    const key = (group + 1) * KEY_SPAN + service + 1;
    if (service >= 0 && !caps.has(service)) caps.set(service, serviceCap(service));
    let b = firstOf.get(key) ?? 0;
    for (; b < batches.length; b++) {
      if (batches[b].length >= sizeCap) continue;
      if (service >= 0 && (serviceUsed[b].get(service) ?? 0) >= caps.get(service)!) continue;
      if (group >= 0 && groupCaps && (groupUsed[b].get(group) ?? 0) >= groupCaps[group]) continue;
      break;
    }
    if (b === batches.length) {
      batches.push([]);
      serviceUsed.push(new Map());
      groupUsed.push(new Map());
    }
    firstOf.set(key, b);
    batches[b].push(i);
    if (service >= 0) serviceUsed[b].set(service, (serviceUsed[b].get(service) ?? 0) + 1);
    if (group >= 0) groupUsed[b].set(group, (groupUsed[b].get(group) ?? 0) + 1);
  }
  return batches.map(inFleetOrder);
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
  for (const cell of cells) if (cell.items.length > 1) cell.items = slowestFirst(cell.items, null, minutes);
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
 * Machines by expected duration, slowest first, ties in fleet order (`list` holds fleet indices, or
 * positions into `fleetIndex`, which is in fleet order). When every duration is a whole
 * number of hundredths of a minute (as fleets write them), each machine becomes one exact number that a
 * typed array sorts natively; otherwise a comparator does the same.
 */
function slowestFirst(
  list: readonly number[],
  fleetIndex: readonly number[] | null,
  minutes: Float64Array,
): number[] {
  const keys = new Float64Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const i = fleetIndex ? fleetIndex[list[k]] : list[k];
    const units = Math.round(minutes[i] * 100);
    if (
      units < 0 ||
      units >= UNITS_SPAN ||
      Math.abs(minutes[i] * 100 - units) > 1e-6 ||
      list[k] >= INDEX_SPAN
    ) {
      const at = (x: number) => minutes[fleetIndex ? fleetIndex[x] : x];
      return [...list].sort((a, b) => at(b) - at(a) || a - b);
    }
    keys[k] = (UNITS_SPAN - 1 - units) * INDEX_SPAN + list[k];
  }
  keys.sort();
  const out = new Array<number>(list.length);
  for (let k = 0; k < keys.length; k++) out[k] = keys[k] % INDEX_SPAN;
  return out;
}

function inFleetOrder(batch: number[]): number[] {
  if (batch.length < 2) return batch;
  // A typed array sorts numbers natively, far faster than a comparator on large batches.
  const sorted = Int32Array.from(batch).sort();
  for (let k = 0; k < sorted.length; k++) batch[k] = sorted[k];
  return batch;
}
