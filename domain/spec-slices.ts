import type { PlanStep } from './plan';
import type { MachineSpec, RegionSpec } from './machine-spec';
import { jsonBytes, SLICE_BYTES } from './payload-limits';

/**
 * Every rollout's regions travel as slices: whole steps of one region (in plan order, so lane by lane)
 * with the specs of their machines, at most `SLICE_MACHINES` machines and `SLICE_BYTES` of JSON each,
 * except that a step larger than that travels alone in its own slice (a step holds at most 1,500:
 * `MAX_BATCH_MACHINES` per track, domain/planner/steps.ts; `plan` refuses a step whose specs alone pass
 * `SLICE_BYTES`: domain/payload-check.ts). See docs/scale.md.
 *
 * A slice travels inline in the rollout's input when the whole input is small; a large rollout's slices
 * go to the spec store (Temporal refuses payloads over 2 MB) and the input keeps only their references.
 * Either way the workflows run the same loop: that is the one path for every fleet size.
 */

/** Machines per slice: a slice of 500 Linux or Windows specs is about 200 KB of JSON. */
export const SLICE_MACHINES = 500;
/** Rollout inputs up to this size (JSON bytes) carry their slices inline. */
export const INLINE_LIMIT_BYTES = 1_000_000;

export interface SpecSlice {
  region: string;
  steps: PlanStep[];
  machines: MachineSpec[];
}

/** A slice carried in the input itself. */
export interface InlineSliceRef {
  machines: number;
  inline: SpecSlice;
}

/** A content-addressed slice in the spec store: `ref` names the file, `sha256` its content. */
export interface StoredSliceRef {
  machines: number;
  ref: string;
  sha256: string;
}

export type SpecSliceRef = InlineSliceRef | StoredSliceRef;

export const isStored = (ref: SpecSliceRef): ref is StoredSliceRef => 'ref' in ref;

/** A region as the rollout's input holds it: a summary and its slices. */
export interface SlicedRegion {
  region: string;
  phase: number;
  machineCount: number;
  stepCount: number;
  slices: SpecSliceRef[];
  /**
   * Per lane of the region (plan.ts: lanes run side by side), the first slice holding one of its steps.
   * Steps are listed lane by lane, so a lane's steps lie in its slices from there to the next lane's
   * first. Absent: one lane from the first slice.
   */
  laneStarts?: number[];
}

/** Per lane, the first of `slices` holding one of its steps (slices of whole steps, listed lane by lane). */
export function laneStartsOf(slices: readonly SpecSlice[]): number[] {
  const starts: number[] = [];
  slices.forEach((slice, k) => {
    for (const step of slice.steps) starts[step.lane] ??= k;
  });
  // A lane number no step carries (never, from the planner) starts where the lane after it does.
  for (let l = starts.length - 1; l >= 0; l--) starts[l] ??= starts[l + 1] ?? 0;
  return starts.length > 0 ? starts : [0];
}

/** Cuts a region into slices of whole steps, in plan order (pure). */
export function sliceRegion(spec: RegionSpec, size = SLICE_MACHINES, bytes = SLICE_BYTES): SpecSlice[] {
  // The specs usually come in step order (buildRolloutInput lists them so): each is then the next one;
  // otherwise it is found by name.
  let byName: Map<string, MachineSpec> | undefined;
  let next = 0;
  const specOf = (name: string): MachineSpec => {
    const candidate = spec.machines[next];
    if (candidate?.name === name && !byName) {
      next++;
      return candidate;
    }
    byName ??= new Map(spec.machines.map((m) => [m.name, m]));
    return byName.get(name)!;
  };
  const slices: SpecSlice[] = [];
  let current: SpecSlice | undefined;
  let currentBytes = 0;
  for (const step of spec.steps) {
    const specs = step.machines.map(specOf);
    const stepBytes = stepSliceBytes(step, specs.map(jsonBytes));
    const fits =
      current !== undefined &&
      (current.machines.length === 0 ||
        (current.machines.length + step.machines.length <= size && currentBytes + stepBytes <= bytes));
    if (!fits) {
      current = { region: spec.region, steps: [], machines: [] };
      currentBytes = 0;
      slices.push(current);
    }
    current!.steps.push(step);
    current!.machines.push(...specs);
    currentBytes += stepBytes;
  }
  return slices;
}

/**
 * What a step adds to its slice's JSON: the step and its machines' specs, of `specBytes` each (and their
 * commas). The one formula for cutting slices and for `plan`'s size check (domain/payload-check.ts).
 */
export function stepSliceBytes(step: PlanStep, specBytes: readonly number[]): number {
  let total = jsonBytes(step) + 1;
  for (const b of specBytes) total += b + 1;
  return total;
}

/** A region with its slices inline: how every rollout input starts. */
export function inlineRegion(spec: RegionSpec, size = SLICE_MACHINES): SlicedRegion {
  const slices = sliceRegion(spec, size);
  return {
    region: spec.region,
    phase: spec.phase,
    machineCount: spec.machines.length,
    stepCount: spec.steps.length,
    slices: slices.map((inline) => ({ machines: inline.machines.length, inline })),
    laneStarts: laneStartsOf(slices),
  };
}

/** Machines of a rollout. */
export function machineCountOf(input: { regions: readonly SlicedRegion[] }): number {
  return input.regions.reduce((n, r) => n + r.machineCount, 0);
}

/** A region's steps and machines again, from slices carried inline (as `buildRolloutInput` makes them). */
export function inlineSpecOf(region: SlicedRegion): RegionSpec {
  const slices = region.slices.map((ref) => {
    if (isStored(ref)) throw new Error(`${region.region}: slice ${ref.ref} is in the spec store, not inline`);
    return ref.inline;
  });
  return {
    region: region.region,
    phase: region.phase,
    steps: slices.flatMap((s) => s.steps),
    machines: slices.flatMap((s) => s.machines),
  };
}
