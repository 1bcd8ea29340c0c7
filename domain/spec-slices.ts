import type { PlanStep } from './plan';
import type { MachineSpec, RegionSpec, RolloutInput } from './rollout-spec';

/**
 * Large rollouts travel as slices, not as the whole fleet: Temporal refuses payloads over 2 MB, and a
 * region's full spec at 100,000 machines is tens of megabytes. See docs/scale.md.
 *
 * A slice holds whole steps of one region (in plan order) and the specs of their machines, at most
 * `SLICE_MACHINES` machines, except that a step larger than that travels alone in its own slice (the
 * planner keeps steps within the disruption budget, far below that).
 */

/** Machines per slice: a slice of 500 Linux or Windows specs is about 200 KB of JSON. */
export const SLICE_MACHINES = 500;
/** Rollout inputs up to this size (JSON bytes) travel inline, as they always did. */
export const INLINE_LIMIT_BYTES = 1_000_000;

export interface SpecSlice {
  region: string;
  steps: PlanStep[];
  machines: MachineSpec[];
}

/** A content-addressed slice in the spec store: `ref` names the file, `sha256` its content. */
export interface SpecSliceRef {
  ref: string;
  sha256: string;
  machines: number;
}

/** A region whose steps and machines are in the spec store: the rollout input keeps only this summary. */
export interface SlicedRegion {
  region: string;
  phase: number;
  machineCount: number;
  stepCount: number;
  slices: SpecSliceRef[];
}

/** Cuts a region into slices of whole steps, in plan order (pure). */
export function sliceRegion(spec: RegionSpec, size = SLICE_MACHINES): SpecSlice[] {
  const byName = new Map(spec.machines.map((m) => [m.name, m]));
  const slices: SpecSlice[] = [];
  let current: SpecSlice | undefined;
  for (const step of spec.steps) {
    if (!current || (current.machines.length > 0 && current.machines.length + step.machines.length > size)) {
      current = { region: spec.region, steps: [], machines: [] };
      slices.push(current);
    }
    current.steps.push(step);
    for (const name of step.machines) current.machines.push(byName.get(name)!);
  }
  return slices;
}

/** Machines of a rollout, inline or sliced. */
export function machineCountOf(input: Pick<RolloutInput, 'regions' | 'slicedRegions'>): number {
  return (
    input.regions.reduce((n, r) => n + r.machines.length, 0) +
    (input.slicedRegions ?? []).reduce((n, r) => n + r.machineCount, 0)
  );
}

/** Every region of a rollout as (region, phase, machines, steps), inline or sliced. */
export function regionSummaries(
  input: Pick<RolloutInput, 'regions' | 'slicedRegions'>,
): Array<{ region: string; phase: number; machineCount: number; stepCount: number }> {
  return [
    ...input.regions.map((r) => ({
      region: r.region,
      phase: r.phase,
      machineCount: r.machines.length,
      stepCount: r.steps.length,
    })),
    ...(input.slicedRegions ?? []).map(({ region, phase, machineCount, stepCount }) => ({
      region,
      phase,
      machineCount,
      stepCount,
    })),
  ];
}
