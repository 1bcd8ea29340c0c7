import type { Fleet } from '../fleet';
import type { Plan, PlannedMachine, PlanPhase, PlanStep, RegionPlan } from '../plan';
import type { Policy } from '../policy';
import type { Parsed, Problem } from '../problems';
import { RegionConflicts } from '../regions';
import { ChainStats, chainBound, floorHundredths } from './bounds';
import { formatCountOrPercent, serviceAllowance, splitAllowance } from './capacity';
import { type Exclusion, exclusionByPatchMode, machineMinutes, regionNotInPhases } from './eligibility';
import { checkExplicitPhases, defaultPhases, explicitPhases, type PhaseInput } from './phases';
import { buildRegionSteps } from './steps';

/**
 * Plans an availability-first rollout of `fleet` under `policy` (see docs/planner.md for the rules).
 * Pure and deterministic: the same inputs give the same plan, byte for byte in JSON.
 * Problems: explicit phases that name unknown or repeated regions, geo-pairs in one phase, or more
 * regions of a service than its allowance; a service whose minAvailable leaves none of it to patch.
 */
export function planRollout(fleet: Fleet, policy: Policy): Parsed<Plan> {
  const machines = fleet.machines;
  const n = machines.length;
  const conflicts = new RegionConflicts(fleet.regionPairs);
  const problems: Problem[] = [];

  // Regions by first appearance; exclusions by patch mode, then by explicit phases. Machines of one
  // region usually come together, so the previous machine's region is tried before the map.
  const regionIds = new Map<string, number>();
  const regionNames: string[] = [];
  const regionOf = new Int32Array(n);
  // Per machine, 0 when it joins, else 1 + its exclusion's place in `exclusionList`: one exclusion per
  // patch mode or region, shared by the machines it leaves out (the plan is only read).
  const excludedBy = new Int32Array(n);
  const exclusionList: Exclusion[] = [];
  const byMode = new Map<string, number>();
  const minutes = new Float64Array(n);
  const names = new Array<string>(n);
  let lastRegion: string | undefined;
  let lastId = -1;
  for (let i = 0; i < n; i++) {
    const m = machines[i];
    names[i] = m.name;
    if (m.region !== lastRegion) {
      let id = regionIds.get(m.region);
      if (id === undefined) {
        id = regionNames.length;
        regionIds.set(m.region, id);
        regionNames.push(m.region);
      }
      lastRegion = m.region;
      lastId = id;
    }
    regionOf[i] = lastId;
    const mode = m.patchMode;
    let code = byMode.get(mode);
    if (code === undefined) {
      const exclusion = exclusionByPatchMode(mode);
      code = exclusion ? exclusionList.push(exclusion) : 0;
      byMode.set(mode, code);
    }
    excludedBy[i] = code;
    // In the same pass, while the machine is at hand (a machine a phase leaves out keeps its unused minutes).
    if (code === 0) minutes[i] = machineMinutes(m);
  }
  if (policy.phases) {
    problems.push(...checkExplicitPhases(policy.phases, new Set(regionIds.keys()), conflicts));
    const named = new Set(policy.phases.flat());
    const notNamed = regionNames.map((name) =>
      named.has(name) ? 0 : exclusionList.push(regionNotInPhases(name)),
    );
    for (let i = 0; i < n; i++) if (excludedBy[i] === 0) excludedBy[i] = notNamed[regionOf[i]];
  }

  // Eligible machines per region (fleet order), each list allocated at its size; services and their allowances.
  const counts = new Int32Array(regionNames.length);
  for (let i = 0; i < n; i++) if (excludedBy[i] === 0) counts[regionOf[i]]++;
  const regionItems: number[][] = regionNames.map((_, r) => new Array<number>(counts[r]));
  counts.fill(0);
  for (let i = 0; i < n; i++) if (excludedBy[i] === 0) regionItems[regionOf[i]][counts[regionOf[i]]++] = i;
  const services = policy.serviceCapacity
    ? indexServices(fleet, policy.serviceCapacity, regionItems, excludedBy)
    : undefined;
  if (services) problems.push(...services.problems);

  const phaseInput: PhaseInput = {
    regionNames,
    eligible: regionItems.map((items) => items.length),
    regionServices: services?.regionServices ?? regionNames.map(() => new Map()),
    allowance: services?.allowance ?? [],
    serviceNames: services?.names ?? [],
    conflicts,
  };
  let phases: number[][];
  if (policy.phases) {
    const explicit = explicitPhases(policy.phases, regionIds, phaseInput);
    problems.push(...explicit.problems);
    phases = explicit.phases;
  } else phases = problems.length ? [] : defaultPhases(phaseInput);
  if (problems.length) return { ok: false, problems };

  // Steps per region, with each region's share of every service's allowance.
  const planPhases: PlanPhase[] = [];
  const regions: RegionPlan[] = [];
  const phaseOf = new Int32Array(n).fill(-1);
  const stepOf = new Int32Array(n);
  // Each region's steps, by region id: a machine's step label is read from its step.
  const stepsOf: PlanStep[][] = new Array<PlanStep[]>(regionNames.length);
  let estimateMinutes = 0;
  let lowerBoundMinutes = 0;
  phases.forEach((phase, p) => {
    const shares = services ? phaseShares(phase, services) : undefined;
    let phaseEstimate = 0;
    let phaseBound = 0;
    for (const r of phase) {
      const share = shares?.get(r);
      const built = buildRegionSteps(regionItems[r], {
        machines,
        names,
        minutes,
        disruptionBudget: policy.disruptionBudget,
        serviceOf: services ? services.serviceOf : null,
        serviceCap: (s) => share?.get(s) ?? Infinity,
        stepOf,
      });
      const steps = built.steps;
      stepsOf[r] = steps;
      for (const i of regionItems[r]) phaseOf[i] = p;
      const regionEstimate = longestLane(steps);
      regions.push({ region: regionNames[r], phase: p, steps, estimateMinutes: regionEstimate });
      phaseEstimate = Math.max(phaseEstimate, regionEstimate);
      phaseBound = Math.max(phaseBound, built.lowerBoundMinutes);
    }
    if (services) phaseBound = Math.max(phaseBound, serviceBound(phase, regionItems, services, minutes));
    planPhases.push({ index: p, regions: phase.map((r) => regionNames[r]), estimateMinutes: phaseEstimate });
    estimateMinutes += phaseEstimate;
    lowerBoundMinutes += phaseBound;
  });

  const planned: PlannedMachine[] = new Array<PlannedMachine>(n);
  for (let i = 0; i < n; i++) {
    const m = machines[i];
    planned[i] =
      excludedBy[i] !== 0
        ? { name: m.name, region: m.region, excluded: exclusionList[excludedBy[i] - 1] }
        : {
            name: m.name,
            region: m.region,
            phase: phaseOf[i],
            step: stepOf[i],
            stepLabel: stepsOf[regionOf[i]][stepOf[i]].label,
          };
  }
  return {
    ok: true,
    value: {
      phases: planPhases,
      regions,
      machines: planned,
      estimateMinutes,
      lowerBoundMinutes: floorHundredths(lowerBoundMinutes),
    },
  };
}

/** A region's estimate: its longest lane, the sum of that lane's steps. */
export function longestLane(steps: readonly PlanStep[]): number {
  const lanes: number[] = [];
  for (const s of steps) lanes[s.lane] = (lanes[s.lane] ?? 0) + s.estimateMinutes;
  return lanes.reduce((max, m) => Math.max(max, m ?? 0), 0);
}

interface Services {
  names: string[];
  /** Per fleet machine: service id, or -1 (untagged or excluded). */
  serviceOf: Int32Array;
  allowance: number[];
  regionServices: Map<number, number>[];
  problems: Problem[];
}

/** Services are the values of the capacity tag on machines that join the rollout, counted over the whole fleet. */
function indexServices(
  fleet: Fleet,
  capacity: NonNullable<Policy['serviceCapacity']>,
  regionItems: readonly (readonly number[])[],
  excludedBy: Int32Array,
): Services {
  const ids = new Map<string, number>();
  const names: string[] = [];
  const totals: number[] = [];
  const serviceOf = new Int32Array(fleet.machines.length).fill(-1);
  const tag = capacity.tag;
  // Machines of one service usually come together: the previous machine's value is tried before the map.
  let lastValue: string | undefined;
  let last = -1;
  fleet.machines.forEach((m, i) => {
    const value = excludedBy[i] !== 0 || !Object.hasOwn(m.tags, tag) ? undefined : m.tags[tag];
    if (value === undefined) return;
    if (value !== lastValue) {
      let s = ids.get(value);
      if (s === undefined) {
        s = names.length;
        ids.set(value, s);
        names.push(value);
        totals.push(0);
      }
      lastValue = value;
      last = s;
    }
    serviceOf[i] = last;
    totals[last]++;
  });
  // Per region, its services in order of first appearance with their machines.
  const regionServices = regionItems.map(() => new Map<number, number>());
  const perRegion = new Int32Array(names.length);
  const order: number[] = [];
  regionItems.forEach((list, r) => {
    for (const i of list) if (serviceOf[i] >= 0 && perRegion[serviceOf[i]]++ === 0) order.push(serviceOf[i]);
    for (const s of order) {
      regionServices[r].set(s, perRegion[s]);
      perRegion[s] = 0;
    }
    order.length = 0;
  });
  const allowance = totals.map((total) => serviceAllowance(capacity.minAvailable, total));
  const problems: Problem[] = [];
  const min = formatCountOrPercent(capacity.minAvailable);
  names.forEach((name, s) => {
    if (allowance[s] === 0)
      problems.push({
        path: 'serviceCapacity',
        message: `service "${name}" has ${totals[s]} machine${totals[s] === 1 ? '' : 's'} and minAvailable ${min} leaves none to patch`,
      });
  });
  return { names, serviceOf, allowance, regionServices, problems };
}

/** Per region of the phase: service id -> the region's share of the service's allowance. */
function phaseShares(phase: readonly number[], services: Services): Map<number, Map<number, number>> {
  const holders = new Map<number, number[]>();
  for (const r of phase)
    for (const s of services.regionServices[r].keys()) {
      const list = holders.get(s);
      if (list) list.push(r);
      else holders.set(s, [r]);
    }
  const shares = new Map<number, Map<number, number>>(phase.map((r) => [r, new Map<number, number>()]));
  for (const [s, regions] of holders) {
    const split = splitAllowance(
      services.allowance[s],
      regions.map((r) => services.regionServices[r].get(s)!),
    );
    regions.forEach((r, k) => shares.get(r)!.set(s, split[k]));
  }
  return shares;
}

/** The regions of a phase run concurrently, so each service's machines in the phase form one chain. */
function serviceBound(
  phase: readonly number[],
  regionItems: readonly number[][],
  services: Services,
  minutes: Float64Array,
): number {
  // Per service id (a dense list: a lookup per machine, no hashing).
  const stats: (ChainStats | undefined)[] = new Array<ChainStats | undefined>(services.names.length);
  for (const r of phase)
    for (const i of regionItems[r]) {
      const s = services.serviceOf[i];
      if (s < 0) continue;
      let chain = stats[s];
      if (!chain) stats[s] = chain = new ChainStats();
      chain.add(minutes[i]);
    }
  let bound = 0;
  stats.forEach((chain, s) => {
    if (chain) bound = Math.max(bound, chainBound(chain, services.allowance[s]));
  });
  return bound;
}
