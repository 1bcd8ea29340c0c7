import type { AzureSettings } from './azure-resource';
import type { Fleet, Machine, OsType, SshSettings } from './fleet';
import type { Plan, PlanStep } from './plan';
import type { Policy, RebootSetting } from './policy';
import type { MaintenanceSchedule } from './windows';
import { offPeakSchedule, parseMaintenanceConfiguration } from './windows';
import { isHotpatchCapable } from './patch-selection';
import { releaseSettings } from './calendar';
import { azureRebootSetting } from './reboot';
import type { SelectionCriteria } from './patch-selection';
import type { SlicedRegion } from './spec-slices';

/**
 * What the workflows receive: only what they need, per machine, already resolved (windows as schedules
 * over explicit time zones, month type, deadline as an instant), so workflow code never reads a clock
 * zone or a file.
 */

export interface MachineSpec {
  name: string;
  region: string;
  zone?: string;
  availabilitySet?: string;
  updateDomain?: number;
  os: OsType;
  image?: Machine['image'];
  simulation?: Machine['simulation'];
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
  /** Task queue of the worker that runs this machine's activities. */
  taskQueue: string;
}

export interface RegionSpec {
  region: string;
  phase: number;
  steps: PlanStep[];
  machines: MachineSpec[];
}

export interface RolloutSettings {
  month: string;
  monthType: 'baseline' | 'hotpatch';
  releaseDate: string;
  /** Epoch ms: no attempt starts after it. */
  deadline: number;
  maxAttempts: number;
  rebootSetting: RebootSetting;
  selection: Omit<SelectionCriteria, 'hotpatchOnly'>;
  errorBudget: Policy['errorBudget'];
  approvals: Policy['approvals'];
}

export interface RolloutInput {
  version: 1;
  rolloutId: string;
  startedBy: string;
  settings: RolloutSettings;
  phases: Plan['phases'];
  /** Regions delivered inline: the form of small fleets (and of every rollout started before slicing). */
  regions: RegionSpec[];
  /**
   * Regions whose steps and machines are in the spec store, delivered to their region workflow slice by
   * slice (docs/scale.md). A large rollout has `regions: []` and all its regions here.
   */
  slicedRegions?: SlicedRegion[];
  /** Sliced regions start at most this many machine attempts per run before continuing as new (default 500). */
  childrenPerRun?: number;
  /** A sliced rollout continues as new past this many history events (default 8,000; tests lower it). */
  eventsPerRun?: number;
  /** Machines of the fleet the plan leaves out, with the reason: they appear in the report. */
  excluded: Array<{ name: string; region: string; reason: string }>;
}

export const DEFAULT_TASK_QUEUE = 'offpeak';

export function siteTaskQueue(site: string | undefined): string {
  return site ? `${DEFAULT_TASK_QUEUE}-site-${site}` : DEFAULT_TASK_QUEUE;
}

function scheduleFor(
  machine: Machine,
  fleet: Fleet,
  policy: Policy,
): Pick<MachineSpec, 'schedule' | 'preScript' | 'postScript'> {
  if (machine.maintenanceConfiguration) {
    const parsed = parseMaintenanceConfiguration(
      fleet.maintenanceConfigurations[machine.maintenanceConfiguration],
    );
    if (!parsed.ok)
      throw new Error(`maintenance configuration ${machine.maintenanceConfiguration} is invalid`);
    const s = parsed.value;
    return {
      schedule: policy.windows === 'always' ? null : s,
      preScript: s.preScript,
      postScript: s.postScript,
    };
  }
  return { schedule: policy.windows === 'always' ? null : offPeakSchedule(machine.timeZone, policy.offPeak) };
}

/** What the activities need about a machine, its window always open; rollouts add the machine's schedule. */
export function machineSpecOf(m: Machine): MachineSpec {
  return {
    name: m.name,
    region: m.region,
    zone: m.zone,
    availabilitySet: m.availabilitySet,
    updateDomain: m.updateDomain,
    os: m.os,
    image: m.image,
    simulation: m.simulation,
    ...(m.ssh ? { ssh: m.ssh } : {}),
    ...(m.azure ? { azure: m.azure } : {}),
    hotpatchCapable: isHotpatchCapable(m.image),
    schedule: null,
    taskQueue: siteTaskQueue(m.site),
  };
}

/** The policy's patch selection, in the words of Azure's installPatches request. */
export function selectionOf(policy: Policy): RolloutSettings['selection'] {
  return {
    classifications: policy.classifications,
    kbNumbersToInclude: policy.kbNumbersToInclude,
    kbNumbersToExclude: policy.kbNumbersToExclude,
    packageNameMasksToInclude: policy.packageNameMasksToInclude,
    packageNameMasksToExclude: policy.packageNameMasksToExclude,
    excludeKbsRequiringReboot: policy.excludeKbsRequiringReboot,
  };
}

export function buildRolloutInput(args: {
  rolloutId: string;
  startedBy: string;
  fleet: Fleet;
  policy: Policy;
  plan: Plan;
  now: Date;
}): RolloutInput {
  const { fleet, policy, plan, now } = args;
  const month = policy.month ?? `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  const release = releaseSettings(month, now.getTime(), policy.deadlineDays, policy.unplannedBaselineMonths);
  const byName = new Map(fleet.machines.map((m) => [m.name, m]));

  const regions: RegionSpec[] = plan.regions.map((r) => ({
    region: r.region,
    phase: r.phase,
    steps: r.steps,
    machines: r.steps.flatMap((step) =>
      step.machines.map((name) => {
        const m = byName.get(name)!;
        const spec: MachineSpec = { ...machineSpecOf(m), ...scheduleFor(m, fleet, policy) };
        if (spec.azure) {
          const hotpatchOnly = spec.hotpatchCapable && release.monthType === 'hotpatch';
          spec.azure = {
            ...spec.azure,
            rebootSetting: azureRebootSetting(policy.rebootSetting, hotpatchOnly),
          };
        }
        return spec;
      }),
    ),
  }));

  return {
    version: 1,
    rolloutId: args.rolloutId,
    startedBy: args.startedBy,
    settings: {
      ...release,
      maxAttempts: policy.maxAttempts,
      rebootSetting: policy.rebootSetting,
      selection: selectionOf(policy),
      errorBudget: policy.errorBudget,
      approvals: policy.approvals,
    },
    phases: plan.phases,
    regions,
    excluded: plan.machines
      .filter((m) => m.excluded)
      .map((m) => ({
        name: m.name,
        region: m.region,
        reason: `${m.excluded!.reason}: ${m.excluded!.detail}`,
      })),
  };
}
