import type { Fleet, Machine } from './fleet';
import type { PrometheusSignal } from './health-signals';
import type { Plan } from './plan';
import type { Policy, RebootSetting } from './policy';
import type { Hooks, Notifications } from './webhooks';
import { offPeakSchedule, parseMaintenanceConfiguration } from './windows';
import { isHotpatchCapable } from './patch-selection';
import { releaseMonthAt, releaseSettings } from './calendar';
import { azureRebootSetting } from './reboot';
import type { SelectionCriteria } from './patch-selection';
import type { MachineSpec } from './machine-spec';
import { inlineRegion, type SlicedRegion } from './spec-slices';
import { leaseFactsByIndex, leaseFactsOf, type LeaseFacts } from './lease-facts';
import { siteTaskQueue } from './task-queues';

export type { MachineSpec, RegionSpec } from './machine-spec';

/**
 * What the workflows receive: only what they need, per machine, already resolved (windows as schedules
 * over explicit time zones, month type, deadline as an instant), so workflow code never reads a clock
 * zone or a file.
 */

export interface RolloutSettings {
  month: string;
  monthType: 'baseline' | 'hotpatch';
  releaseDate: string;
  /** Epoch ms: no attempt starts after it. */
  deadline: number;
  maxAttempts: number;
  rebootSetting: RebootSetting;
  /** The policy's `postScriptAfterFailure` (absent in inputs made before it: true). */
  postScriptAfterFailure?: boolean;
  /** The policy's `siteWorkerNoticeSeconds` (absent: 60). */
  siteWorkerNoticeSeconds?: number;
  selection: Omit<SelectionCriteria, 'hotpatchOnly'>;
  errorBudget: Policy['errorBudget'];
  approvals: Policy['approvals'];
  /** Off-machine hooks before and after each phase (domain/webhooks.ts). */
  hooks?: Hooks;
  /** Where notices go: the name of the environment variable holding the webhook's URL, never the URL. */
  notifications?: Notifications;
  /** Minutes each phase bakes after its last machine before the next phase starts (by phase index; absent: 0). */
  bakeMinutes?: number[];
  /** Fleet-level health signals, asked after each step and during a bake (domain/health-signals.ts). */
  health?: { prometheus: PrometheusSignal; services?: Record<string, string[]> };
  /** An `--unsafe` install: its steps ignore the rules among their own machines (the fleet guard knows). */
  unsafe?: boolean;
}

export interface RolloutInput {
  version: 1;
  rolloutId: string;
  startedBy: string;
  settings: RolloutSettings;
  phases: Plan['phases'];
  /**
   * Every region with its steps and machines in slices: inline in a small rollout's input, in the spec store
   * for a large one (docs/scale.md). Region workflows read them slice by slice either way.
   */
  regions: SlicedRegion[];
  /** Regions start at most this many machine attempts per run before continuing as new (default 500). */
  childrenPerRun?: number;
  /** Rollouts and regions continue as new past this many history events (default 8,000; tests lower it). */
  eventsPerRun?: number;
  /** Bytes of machine attempts' inputs a region starts at once (default 1 MB: domain/payload-limits.ts; tests lower it). */
  startsInFlightBytes?: number;
  /** Machines of the fleet the plan leaves out, with the reason: they appear in the report. */
  excluded: Array<{ name: string; region: string; reason: string }>;
}

export { DEFAULT_TASK_QUEUE, siteTaskQueue } from './task-queues';

/** A machine's window (null: always open) and scripts, as the rollout gives them to its workflows. */
export function scheduleFor(
  machine: Machine,
  fleet: Fleet,
  policy: Policy,
): Pick<MachineSpec, 'schedule' | 'preScript' | 'postScript' | 'scriptArgs'> {
  const name = machine.maintenanceConfiguration;
  if (name !== undefined) {
    // Own properties only: a configuration named "constructor" is the fleet's, not Object's.
    const config = Object.hasOwn(fleet.maintenanceConfigurations, name)
      ? fleet.maintenanceConfigurations[name]
      : undefined;
    const parsed = config ? parseMaintenanceConfiguration(config) : undefined;
    if (!parsed?.ok)
      throw new Error(`maintenance configuration ${machine.maintenanceConfiguration} is invalid`);
    const s = parsed.value;
    return {
      schedule: policy.windows === 'always' ? null : s,
      preScript: s.preScript,
      postScript: s.postScript,
      ...(s.scriptArgs ? { scriptArgs: s.scriptArgs } : {}),
    };
  }
  return { schedule: policy.windows === 'always' ? null : offPeakSchedule(machine.timeZone, policy.offPeak) };
}

/**
 * `scheduleFor` once per maintenance configuration or time zone: its machines share the one schedule
 * (in their specs, and in the pre-start window check).
 */
export function sharedSchedules(
  fleet: Fleet,
  policy: Policy,
): (m: Machine) => ReturnType<typeof scheduleFor> {
  const schedules = new Map<string, ReturnType<typeof scheduleFor>>();
  return (m) => {
    const key =
      m.maintenanceConfiguration !== undefined ? `c ${m.maintenanceConfiguration}` : `z ${m.timeZone}`;
    let schedule = schedules.get(key);
    if (!schedule) schedules.set(key, (schedule = scheduleFor(m, fleet, policy)));
    return schedule;
  };
}

/** The release a rollout started at `now` patches: the policy's month, else the latest one by then. */
export function rolloutRelease(policy: Policy, now: Date): ReturnType<typeof releaseSettings> {
  const month = policy.month ?? releaseMonthAt(now.getTime());
  return releaseSettings(month, policy.deadlineDays, policy.unplannedBaselineMonths);
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
    // Only what keysOf and a follower's order read (workflows/lane-follower.ts): a subscription counts for
    // standalone machines alone.
    ...(m.subscription !== undefined && m.zone === undefined && m.availabilitySet === undefined
      ? { subscription: m.subscription }
      : {}),
    ...(m.durations ? { durations: m.durations } : {}),
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
  /** The fleet guard's facts per machine; by default from this fleet, counting the machines planned. */
  leaseFacts?: Map<string, LeaseFacts>;
}): RolloutInput {
  const { fleet, plan } = args;
  const at = stepMachineIndices(fleet, plan);
  const specOf = machineSpecBuilder(args);
  const regions: SlicedRegion[] = plan.regions.map((r, ri) =>
    inlineRegion({
      region: r.region,
      phase: r.phase,
      steps: r.steps,
      machines: r.steps.flatMap((_, si) => at[ri][si].map(specOf)),
    }),
  );
  return {
    version: 1,
    rolloutId: args.rolloutId,
    startedBy: args.startedBy,
    settings: rolloutSettingsOf(args),
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

type InputSources = Pick<
  Parameters<typeof buildRolloutInput>[0],
  'fleet' | 'policy' | 'plan' | 'now' | 'leaseFacts'
>;

/**
 * The spec of the fleet's machine `i` as the rollout's workflows receive it (what `buildRolloutInput`
 * lists, and what `plan` measures against Temporal's limits: domain/payload-check.ts).
 */
export function machineSpecBuilder(args: InputSources): (i: number) => MachineSpec {
  const { fleet, policy, plan, now } = args;
  const facts = args.leaseFacts
    ? (i: number) => args.leaseFacts!.get(fleet.machines[i].name)
    : factsByIndex(fleet, policy, plan);
  const release = rolloutRelease(policy, now);
  const scheduleOf = sharedSchedules(fleet, policy);
  return (i) => {
    const m = fleet.machines[i];
    // What `{ ...machineSpecOf(m), ...scheduleOf(m), timeScale, lease }` gives, without the copies.
    const spec: MachineSpec = Object.assign(machineSpecOf(m), scheduleOf(m));
    if (policy.simulationSpeed !== 1) spec.timeScale = policy.simulationSpeed;
    spec.lease = facts(i);
    if (spec.azure) {
      // Azure reboots inside installPatches: the attempt's reboot setting travels with the resource.
      const hotpatchOnly = spec.hotpatchCapable && release.monthType === 'hotpatch';
      spec.azure = {
        ...spec.azure,
        rebootSetting: azureRebootSetting(policy.rebootSetting, hotpatchOnly),
      };
    }
    return spec;
  };
}

/** The rollout's settings, as its input carries them. */
export function rolloutSettingsOf(
  args: Pick<InputSources, 'fleet' | 'policy' | 'plan' | 'now'>,
): RolloutSettings {
  const { fleet, policy, plan } = args;
  return {
    ...rolloutRelease(policy, args.now),
    maxAttempts: policy.maxAttempts,
    rebootSetting: policy.rebootSetting,
    postScriptAfterFailure: policy.postScriptAfterFailure,
    siteWorkerNoticeSeconds: policy.siteWorkerNoticeSeconds,
    selection: selectionOf(policy),
    errorBudget: policy.errorBudget,
    approvals: policy.approvals,
    ...(policy.hooks ? { hooks: policy.hooks } : {}),
    ...(policy.notifications ? { notifications: policy.notifications } : {}),
    ...bakeAndHealthOf(policy, plan, fleet),
  };
}

/**
 * Per region and step of the plan, the fleet indices of its machines. The plan lists every machine in
 * fleet order and each step's machines in fleet order too, so one pass over the plan finds them; a plan
 * that does not line up with the fleet (made elsewhere) is looked up by name.
 */
export function stepMachineIndices(fleet: Fleet, plan: Plan): number[][][] {
  const at = plan.regions.map((r) => r.steps.map(() => [] as number[]));
  const regionOf = new Map(plan.regions.map((r, k) => [r.region, k]));
  const aligned = plan.machines.length === fleet.machines.length;
  if (aligned)
    plan.machines.forEach((p, i) => {
      const r = p.step === undefined ? undefined : regionOf.get(p.region);
      if (r !== undefined) at[r][p.step!]?.push(i);
    });
  const matches = (list: number[], names: readonly string[]) =>
    list.length === names.length && list.every((i, k) => fleet.machines[i].name === names[k]);
  if (aligned && plan.regions.every((r, k) => r.steps.every((s, j) => matches(at[k][j], s.machines))))
    return at;
  const byName = new Map(fleet.machines.map((m, i) => [m.name, i]));
  return plan.regions.map((r) => r.steps.map((s) => s.machines.map((name) => byName.get(name)!)));
}

/** The fleet guard's facts of the fleet's machines, counting those the plan does not exclude. */
function factsByIndex(fleet: Fleet, policy: Policy, plan: Plan): (i: number) => LeaseFacts {
  if (
    plan.machines.length === fleet.machines.length &&
    plan.machines.every((p, i) => p.name === fleet.machines[i].name)
  ) {
    const list = leaseFactsByIndex(fleet, policy, (_, i) => !plan.machines[i].excluded);
    return (i) => list[i];
  }
  const excluded = new Set(plan.machines.filter((m) => m.excluded).map((m) => m.name));
  const byName = leaseFactsOf(fleet, policy, (m) => !excluded.has(m.name));
  return (i) => byName.get(fleet.machines[i].name)!;
}

/** Each phase's bake time, and the health signals with the services of each region (from its machines' tags). */
function bakeAndHealthOf(
  policy: Policy,
  plan: Plan,
  fleet: Fleet,
): Pick<RolloutSettings, 'bakeMinutes' | 'health'> {
  const bake = policy.bakeMinutes;
  const bakeMinutes = plan.phases.map((p) => (Array.isArray(bake) ? (bake[p.index] ?? 0) : bake));
  const out: Pick<RolloutSettings, 'bakeMinutes' | 'health'> = bakeMinutes.some((m) => m > 0)
    ? { bakeMinutes }
    : {};
  if (!policy.health) return out;
  const tag = policy.serviceCapacity?.tag;
  const services = new Map<string, Set<string>>();
  if (tag)
    for (const m of fleet.machines) {
      const service = m.tags && Object.hasOwn(m.tags, tag) ? m.tags[tag] : undefined;
      if (!service) continue;
      services.set(m.region, (services.get(m.region) ?? new Set()).add(service));
    }
  const byRegion = Object.fromEntries([...services].map(([r, s]) => [r, [...s].sort()]));
  return { ...out, health: { prometheus: policy.health.prometheus, services: byRegion } };
}
