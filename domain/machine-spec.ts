import type { AzureSettings } from './azure-resource';
import type { Machine, OsType, SshSettings } from './fleet';
import type { LeaseFacts } from './lease-book';
import type { RebootSetting } from './policy';
import type { PlanStep } from './plan';
import type { MaintenanceSchedule } from './windows/maintenance-schedule';

/** One machine as the workflows receive it: resolved, with its window as a schedule over an explicit zone. */
export interface MachineSpec {
  name: string;
  region: string;
  zone?: string;
  availabilitySet?: string;
  updateDomain?: number;
  os: OsType;
  image?: Machine['image'];
  simulation?: Machine['simulation'];
  /** The policy's `simulationSpeed` when not 1: the simulator's time scale for this rollout's machines. */
  timeScale?: number;
  /** The ssh driver's connection settings (key references only, never key material). */
  ssh?: SshSettings;
  /**
   * The azure driver's resource, with the reboot setting Azure applies inside installPatches (rollouts
   * set it from the policy and the month; without it, IfRequired).
   */
  azure?: AzureSettings & { rebootSetting?: RebootSetting };
  hotpatchCapable: boolean;
  /** null: the window is always open (the demo's policy). */
  schedule: MaintenanceSchedule | null;
  preScript?: string;
  postScript?: string;
  /** Arguments of path scripts, as a list (domain/scripts.ts). */
  scriptArgs?: MaintenanceSchedule['scriptArgs'];
  /** What the fleet guard needs beyond the machine's place (domain/lease-facts.ts); without it, no lease. */
  lease?: LeaseFacts;
  /** Task queue of the worker that runs this machine's activities. */
  taskQueue: string;
  /** A standalone machine's subscription: a lane's follower keeps each one's share (pipelined-lane.ts). */
  subscription?: string;
  /** The fleet's expected durations, when it gives them: a follower starts the slowest first, and only what fits. */
  durations?: Machine['durations'];
}

export interface RegionSpec {
  region: string;
  phase: number;
  steps: PlanStep[];
  machines: MachineSpec[];
}
