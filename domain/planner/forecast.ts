import type { Fleet } from '../fleet';
import { isHotpatchCapable } from '../patch-selection';
import type { Plan } from '../plan';
import type { Policy } from '../policy';
import { scheduleFor } from '../rollout-spec';
import { followerFit, forecastAttempt, type ModelArrays, type ModelMachine } from './attempt-model';
import { expectedDurations, expectedRebootMinutes } from './expected';
import { machineKeys, pipelinedRound, type PipelinedStep } from './pipelined-lane';
import { windowAwareBound } from './window-bound';
import { WindowTrack } from './window-track';

/** What the operator assumes about what the plan cannot know. */
export interface ForecastAssumptions {
  /** Epoch ms: when the rollout starts. */
  startAt: number;
  /** Epoch ms: the release's deadline (`releaseSettings`). */
  deadline: number;
  /** How long each approval gate waits for its decision. */
  approvalMinutes: number;
  /** The release's month type: in a hotpatch month, hotpatch-capable machines do not reboot. Default baseline. */
  monthType?: 'baseline' | 'hotpatch';
  /**
   * `pipelined` (the default, as the workflows run it: workflows/lane-follower.ts): a lane's next step of
   * the same segment follows its step into the places its machines free (pipelined-lane.ts), except under
   * health signals asked after each step. `steps`: each step starts when the step before has every machine
   * done, the model before pipelining, kept to measure what pipelining gains (`npm run bench`).
   */
  laneModel?: 'steps' | 'pipelined';
}

/** The forecast's JSON contract (README "Plan JSON"): instants are ISO-8601 UTC. */
export interface Forecast {
  startAt: string;
  finishAt: string;
  lowerBoundFinishAt: string;
  deadline: string;
  phases: Array<{ index: number; startAt: string; finishAt: string }>;
  regions: Array<{ region: string; startAt: string; finishAt: string }>;
  late: Array<{ name: string; reason: string }>;
}

export interface Span {
  startAt: number;
  finishAt: number;
}

/** The forecast, and the first round's step spans per region (for the table; not in the JSON). */
export interface ForecastDetail {
  forecast: Forecast;
  steps: Map<string, Span[]>;
}

const MINUTE_MS = 60_000;

/** A policy field other work may add (bake time between phases); absent means no bake. */
function bakeMinutesOf(policy: Policy): number {
  const bake = (policy as { bakeMinutes?: unknown }).bakeMinutes;
  return typeof bake === 'number' && bake > 0 ? bake : 0;
}

/**
 * Simulates how the workflows execute `plan` against each machine's windows (docs/planner.md,
 * section 6): phases one after another, each behind its approval gate (assumed decided after
 * `approvalMinutes`) and the policy's bake time; the regions of a phase side by side, and the lanes of a
 * region; the steps of a lane one after another, each until its last machine is done; each machine as
 * workflows/machine.ts runs an attempt; machines cut by their window retried in later rounds, up to
 * `maxAttempts`. Pure: no clock, no I/O.
 */
export function forecastRollout(
  fleet: Fleet,
  policy: Policy,
  plan: Plan,
  assumptions: ForecastAssumptions,
): ForecastDetail {
  const { startAt, deadline } = assumptions;
  const machines = fleet.machines;
  const model = modelMachines(fleet, policy, plan, startAt, assumptions.monthType === 'hotpatch');
  const tag = policy.serviceCapacity?.tag;
  // Health signals are asked after each step: the workflows then wait for every step's answer (lane-follower.ts).
  const follows = (assumptions.laneModel ?? 'pipelined') === 'pipelined' && policy.health === undefined;
  const pipelined = follows ? pipelineOf(fleet, tag) : undefined;
  const regionIndex = new Map(plan.regions.map((r, k) => [r.region, k]));
  // Machines per region and step, in fleet order (which is each step's order).
  const stepItems: number[][][] = plan.regions.map((r) => r.steps.map(() => []));
  plan.machines.forEach((pm, i) => {
    if (pm.phase !== undefined) stepItems[regionIndex.get(pm.region)!][pm.step!].push(i);
  });

  const late: Array<{ name: string; reason: string }> = [];
  const lateReason: (string | undefined)[] = new Array<string | undefined>(machines.length);
  const phases: Forecast['phases'] = [];
  const regionSpans: Span[] = plan.regions.map(() => ({ startAt, finishAt: startAt }));
  const steps = new Map<string, Span[]>();
  const gates = policy.approvals;
  const bakeMs = bakeMinutesOf(policy) * MINUTE_MS;
  const gateMs = assumptions.approvalMinutes * MINUTE_MS;
  const gated = (p: number) => gates.beforePhases === 'all' || gates.beforePhases.includes(p);
  const expires =
    gates.expireAfterMinutes !== undefined && assumptions.approvalMinutes > gates.expireAfterMinutes;

  let t = startAt;
  let halted: string | undefined;
  for (const phase of plan.phases) {
    const p = phase.index;
    if (p > 0) t += bakeMs;
    if (gated(p) && !halted) {
      if (expires)
        halted = `gate "phase-${p}" expires after ${gates.expireAfterMinutes}m, before the assumed approval`;
      else t += gateMs;
    }
    let finish = t;
    for (const region of plan.regions) {
      if (region.phase !== p) continue;
      const r = regionIndex.get(region.region)!;
      if (halted) {
        for (const items of stepItems[r]) for (const i of items) lateReason[i] = halted;
        regionSpans[r] = { startAt: t, finishAt: t };
        continue;
      }
      // Its lanes side by side, each from the region's start.
      const spans: Span[] = new Array<Span>(region.steps.length);
      let regionFinish = t;
      for (const lane of lanesOf(region.steps)) {
        const run = runLane(
          lane.map((s) => ({ items: stepItems[r][s], segment: region.steps[s] })),
          lane.map((s) => region.steps[s].label),
          t,
          model,
          deadline,
          policy.maxAttempts,
          lateReason,
          pipelined,
        );
        lane.forEach((s, k) => (spans[s] = run.steps[k]));
        if (run.finishAt > regionFinish) regionFinish = run.finishAt;
      }
      regionSpans[r] = { startAt: t, finishAt: regionFinish };
      steps.set(region.region, spans);
      if (regionFinish > finish) finish = regionFinish;
    }
    phases.push({ index: p, startAt: iso(t), finishAt: iso(finish) });
    t = finish;
  }
  for (let i = 0; i < machines.length; i++) {
    const reason = lateReason[i];
    if (reason !== undefined) late.push({ name: machines[i].name, reason });
  }

  const bound = windowAwareBound(fleet, policy, plan, stepItems, model, {
    startAt,
    phaseGapMs: (p) => (p > 0 ? bakeMs : 0) + (gated(p) ? gateMs : 0),
  });
  return {
    forecast: {
      startAt: iso(startAt),
      finishAt: iso(t),
      lowerBoundFinishAt: iso(bound),
      deadline: iso(deadline),
      phases,
      regions: plan.regions.map((r, k) => ({
        region: r.region,
        startAt: iso(regionSpans[k].startAt),
        finishAt: iso(regionSpans[k].finishAt),
      })),
      late,
    },
    steps,
  };
}

/** A region's step indices by lane, each lane's in step order. */
export function lanesOf(steps: ReadonlyArray<{ lane: number }>): number[][] {
  const lanes: number[][] = [];
  steps.forEach((step, s) => (lanes[step.lane] ??= []).push(s));
  return lanes.filter((lane) => lane !== undefined);
}

/**
 * One lane of a region as workflows/region-lane.ts runs it: round 1 walks every step of the lane; each
 * later round walks, in step order, the machines whose install a window cut. A step starts when the one
 * before is done; one reached after the deadline does not start (its machines are late). With a
 * `pipeline`, round 1 is pipelined (pipelined-lane.ts): a step's follower starts as the step's machines end.
 */
function runLane(
  steps: readonly PipelinedStep[],
  labels: readonly string[],
  startAt: number,
  model: ModelArrays,
  deadline: number,
  maxAttempts: number,
  lateReason: (string | undefined)[],
  pipeline?: Pipeline,
): { finishAt: number; steps: Span[] } {
  const next: number[][] = steps.map(() => []);
  let any = false;
  /** Machine `i` of step `s` from `at` in `round`: its end, or `at` when it does not run. */
  const attempt = (i: number, at: number, s: number, round: number): number => {
    if (at > deadline) {
      lateReason[i] ??=
        round === 1
          ? `the region reaches its step "${labels[s]}" after the deadline`
          : `the deadline passes before its retry (attempt ${round}) can start`;
      return at;
    }
    const m = model.machine(i);
    const a = forecastAttempt(m, at, model.leftMs[i], deadline, round > 1 ? model.windowEnd[i] : undefined);
    if (a.kind === 'missed') {
      lateReason[i] = round === 1 ? a.reason : `${a.reason} (attempt ${round})`;
      model.leftMs[i] = 0;
      return at;
    }
    model.leftMs[i] = a.leftMs;
    model.windowEnd[i] = a.windowEnd;
    if (a.leftMs === 0) return a.finishAt;
    if (a.cutByDeadline) {
      lateReason[i] = 'the deadline passes during its install';
      model.leftMs[i] = 0;
    } else if (round === maxAttempts)
      lateReason[i] =
        `its install (${minutesText(m.installMs)}) does not fit into ${maxAttempts} window(s): ` +
        `${minutesText(a.leftMs)} left after the last attempt`;
    else {
      next[s].push(i);
      any = true;
    }
    return a.finishAt;
  };

  let t = startAt;
  let spans: Span[] = [];
  if (pipeline) {
    const round1 = pipelinedRound(steps, startAt, {
      ...pipeline,
      minutes: (i) => model.machine(i).installMs + model.machine(i).rebootMs,
      attempt: (i, at, s) => attempt(i, at, s, 1),
      // A follower starts only machines that would run whole from now (or wait for a window): one a window
      // would cut is better left to start with its step, which the workflows retry in the next round anyway.
      fits: (i, at) => followerFit(model.machine(i), at, deadline).fits,
      deadline,
    });
    spans = round1.spans;
    t = round1.finishAt;
  }
  let due: readonly (readonly number[])[] = steps.map((step) => step.items);
  for (let round = pipeline ? 2 : 1; round <= maxAttempts; round++) {
    if (round > 1) {
      if (!any) break;
      due = next.map((list) => list.splice(0));
      any = false;
    }
    for (let s = 0; s < due.length; s++) {
      const items = due[s];
      if (items.length === 0) continue;
      const stepStart = t;
      let finish = t;
      for (const i of items) finish = Math.max(finish, attempt(i, t, s, round));
      if (round === 1) spans.push({ startAt: stepStart, finishAt: finish });
      t = finish;
    }
  }
  return { finishAt: t, steps: spans };
}

/** What a pipelined lane needs of the fleet: each machine's keys, and room for its first round's times. */
interface Pipeline {
  keys(i: number): readonly string[];
  startAt: Float64Array;
  endAt: Float64Array;
}

function pipelineOf(fleet: Fleet, tag: string | undefined): Pipeline {
  const n = fleet.machines.length;
  return {
    keys: machineKeys(fleet.machines, (m) => (tag === undefined ? undefined : m.tags?.[tag])),
    startAt: new Float64Array(n).fill(NaN),
    endAt: new Float64Array(n).fill(NaN),
  };
}

function modelMachines(
  fleet: Fleet,
  policy: Policy,
  plan: Plan,
  startAt: number,
  hotpatchMonth: boolean,
): ModelArrays {
  const n = fleet.machines.length;
  // Machines share the schedule of their configuration, or of their zone's off-peak hours.
  const byConfig = new Map<string, Profiles>();
  const byZone = new Map<string, Profiles>();
  const profileOf: ModelMachine[] = new Array<ModelMachine>(n);
  const leftMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (plan.machines[i].phase === undefined) continue;
    const m = fleet.machines[i];
    const map = m.maintenanceConfiguration !== undefined ? byConfig : byZone;
    const key = m.maintenanceConfiguration ?? m.timeZone;
    let profiles = map.get(key);
    if (!profiles)
      map.set(
        key,
        (profiles = new Profiles(new WindowTrack(scheduleFor(m, fleet, policy).schedule, startAt))),
      );
    const d = expectedDurations(m);
    const hotpatchOnly = hotpatchMonth && isHotpatchCapable(m.image);
    const profile = profiles.of(
      m.os,
      d.installMinutes,
      expectedRebootMinutes(policy.rebootSetting, d.rebootMinutes, hotpatchOnly),
    );
    profileOf[i] = profile;
    leftMs[i] = profile.installMs;
  }
  return { machine: (i) => profileOf[i], leftMs, windowEnd: new Float64Array(n) };
}

/** One track's profiles by OS, install and reboot minutes: looked up without building a key. */
class Profiles {
  private readonly byOs = {
    Linux: new Map<number, Map<number, ModelMachine>>(),
    Windows: new Map<number, Map<number, ModelMachine>>(),
  };

  constructor(private readonly track: WindowTrack) {}

  of(os: ModelMachine['os'], installMinutes: number, rebootMinutes: number): ModelMachine {
    let byReboot = this.byOs[os].get(installMinutes);
    if (!byReboot) this.byOs[os].set(installMinutes, (byReboot = new Map()));
    let profile = byReboot.get(rebootMinutes);
    if (!profile) {
      profile = {
        track: this.track,
        os,
        installMs: installMinutes * MINUTE_MS,
        rebootMs: rebootMinutes * MINUTE_MS,
      };
      byReboot.set(rebootMinutes, profile);
    }
    return profile;
  }
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}

function minutesText(ms: number): string {
  const total = Math.round(ms / MINUTE_MS);
  return total < 60 ? `${total}m` : `${Math.floor(total / 60)}h ${String(total % 60).padStart(2, '0')}m`;
}
