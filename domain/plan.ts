/**
 * The rollout plan: the planner's output and the workflows' input. A pure data structure, stable in
 * its JSON form (see README "Plan JSON").
 *
 * Execution contract: phases run one after another; the regions of one phase run concurrently; a
 * region's lanes run concurrently; the steps of one lane run strictly one after another (in index
 * order); the machines of one step run concurrently. Every availability rule (zones, update domains,
 * disruption budget, service capacity) is therefore a property of how machines are grouped into steps
 * and steps into lanes (a lane holds one zone or update domain at a time, and the lanes of a region
 * together hold at most the region's share of a service).
 */

export type ExclusionReason =
  /** AutomaticByOS / ImageDefault: the OS patches itself. */
  | 'LeftToOS'
  /** Manual: only an explicit schedule or on-demand run patches it. */
  | 'ManualPatchMode'
  /** Explicit phases in the policy do not name the machine's region. */
  | 'RegionNotInPhases';

export type StepKind = 'zone' | 'availabilitySet' | 'standalone';

export interface PlanStep {
  /** Position within the region, from 0: steps are listed lane by lane. */
  index: number;
  /** The lane of the region that runs it, from 0: a lane's steps run one after another, lanes side by side. */
  lane: number;
  kind: StepKind;
  /** Human label, e.g. "zone 2 batch 1/3", "update domain 0 (2 sets)", "standalone batch 2/4". */
  label: string;
  zone?: string;
  updateDomain?: number;
  machines: string[];
  /** Estimated duration of this step (its slowest machine). */
  estimateMinutes: number;
}

export interface RegionPlan {
  region: string;
  phase: number;
  steps: PlanStep[];
  /** Its longest lane: the sum of that lane's step estimates. */
  estimateMinutes: number;
}

export interface PlanPhase {
  index: number;
  regions: string[];
  estimateMinutes: number;
}

export interface PlannedMachine {
  name: string;
  region: string;
  phase?: number;
  step?: number;
  stepLabel?: string;
  excluded?: { reason: ExclusionReason; detail: string };
}

export interface Plan {
  phases: PlanPhase[];
  regions: RegionPlan[];
  /** Every machine of the fleet exactly once, in fleet order. */
  machines: PlannedMachine[];
  /** Sum over phases of the slowest region of the phase. */
  estimateMinutes: number;
  /** A duration no valid schedule can beat (see the planner's documentation). */
  lowerBoundMinutes: number;
}
