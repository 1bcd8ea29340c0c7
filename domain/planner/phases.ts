import type { Problem } from '../problems';
import type { RegionConflicts } from '../regions';
import { byName } from './order';

/** What phase building needs to know about the regions and services of the rollout. */
export interface PhaseInput {
  /** Region names by region id. */
  regionNames: readonly string[];
  /** Machines joining the rollout, by region id. */
  eligible: readonly number[];
  /** Per region id: service id -> machines of the service joining the rollout there (empty without serviceCapacity). */
  regionServices: ReadonlyArray<ReadonlyMap<number, number>>;
  /** Per service id: machines of the service that may be down at once in the whole fleet. */
  allowance: readonly number[];
  serviceNames: readonly string[];
  conflicts: RegionConflicts;
}

/**
 * Default phases, canary first. Regions with eligible machines are sorted by eligible machines
 * (fewest first), then name. Phase 0 is the first of them alone. Each next phase may hold twice as many
 * regions as the one before (1, 2, 4, 8, ...) and takes them greedily in that order, skipping a region
 * that is geo-paired with a region already in the phase, or that would put a service in more regions of
 * the phase than its allowance (every region holding a service needs at least one of its machines down
 * at a time). Skipped regions wait for the next phase, so every phase holds at least one region.
 */
export function defaultPhases(input: PhaseInput): number[][] {
  const { regionNames, eligible, regionServices, allowance, conflicts } = input;
  let pending = eligible
    .map((count, id) => ({ count, id }))
    .filter((r) => r.count > 0)
    .sort((a, b) => a.count - b.count || byName(regionNames[a.id], regionNames[b.id]))
    .map((r) => r.id);
  const phases: number[][] = [];
  for (let target = 1; pending.length > 0; target *= 2) {
    const phase: number[] = [];
    const servicesInPhase = new Map<number, number>();
    const later: number[] = [];
    for (const r of pending) {
      const fits =
        phase.length < target &&
        phase.every((p) => !conflicts.conflict(regionNames[r], regionNames[p])) &&
        [...regionServices[r].keys()].every((s) => (servicesInPhase.get(s) ?? 0) < allowance[s]);
      if (!fits) {
        later.push(r);
        continue;
      }
      phase.push(r);
      for (const s of regionServices[r].keys()) servicesInPhase.set(s, (servicesInPhase.get(s) ?? 0) + 1);
    }
    phases.push(phase);
    pending = later;
  }
  return phases;
}

/**
 * Checks the operator's phases against the fleet: every named region must have machines in the fleet,
 * appear once, and share its phase with none of its geo-pairs.
 */
export function checkExplicitPhases(
  phases: readonly (readonly string[])[],
  fleetRegions: ReadonlySet<string>,
  conflicts: RegionConflicts,
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  phases.forEach((phase, i) => {
    phase.forEach((region, j) => {
      const at = `phases[${i}][${j}]`;
      if (!fleetRegions.has(region))
        problems.push({ path: at, message: `no machine of the fleet is in region "${region}"` });
      const first = seen.get(region);
      if (first === undefined) seen.set(region, i);
      else problems.push({ path: at, message: `"${region}" is already in phases[${first}]` });
    });
    const distinct = [...new Set(phase)];
    for (let a = 0; a < distinct.length; a++)
      for (let b = a + 1; b < distinct.length; b++)
        if (conflicts.conflict(distinct[a], distinct[b]))
          problems.push({
            path: `phases[${i}]`,
            message: `"${distinct[a]}" and "${distinct[b]}" are geo-paired and cannot share a phase`,
          });
  });
  return problems;
}

/**
 * The operator's phases as region ids, keeping only regions with eligible machines. A phase left with
 * none stays, empty, so that phase indexes (and `approvals.beforePhases`) mean what the operator wrote.
 * Reports a phase that puts a service in more regions than its allowance.
 */
export function explicitPhases(
  phases: readonly (readonly string[])[],
  regionIds: ReadonlyMap<string, number>,
  input: PhaseInput,
): { phases: number[][]; problems: Problem[] } {
  const out: number[][] = [];
  const problems: Problem[] = [];
  phases.forEach((names, i) => {
    const phase: number[] = [];
    for (const name of names) {
      const id = regionIds.get(name);
      if (id !== undefined && input.eligible[id] > 0 && !phase.includes(id)) phase.push(id);
    }
    const holders = new Map<number, number[]>();
    for (const r of phase)
      for (const s of input.regionServices[r].keys()) {
        const list = holders.get(s);
        if (list) list.push(r);
        else holders.set(s, [r]);
      }
    for (const [s, regions] of holders)
      if (regions.length > input.allowance[s]) {
        const allowed = input.allowance[s];
        problems.push({
          path: `phases[${i}]`,
          message:
            `service "${input.serviceNames[s]}" may have only ${allowed} machine${allowed === 1 ? '' : 's'} down at once ` +
            `but has machines in ${regions.length} regions of this phase (${regions.map((r) => `"${input.regionNames[r]}"`).join(', ')}); ` +
            'put them in different phases',
        });
      }
    out.push(phase);
  });
  return { phases: out, problems };
}
