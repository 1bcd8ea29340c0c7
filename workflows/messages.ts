import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AttemptOutcome, RolloutStatus } from '../domain/outcomes';
import type { MachineSettings } from '../domain/machine-settings';
import type { MachineSpec, RolloutInput, RolloutSettings } from '../domain/rollout-spec';
import type { SpecSliceRef } from '../domain/spec-slices';
import type { SignedProof } from '../domain/signed-decision';
import type { RetryMarks } from './region-marks';
import type { FailedMachine, GateRecord, PhaseReport, RegionTally, RolloutSummary } from './results';
import type { RegionStatus } from './results';

export type * from './results';
export * from './guard-contracts';

export type {
  AttemptOutcome,
  GateDecision,
  MachineState,
  PhaseStatus,
  RolloutStatus,
} from '../domain/outcomes';

/**
 * Offpeak's contracts: every workflow's input, every message between workflows and from operators, every
 * signal, query and update definition, the search attributes; and, through `results.ts` (re-exported here),
 * every result, report and status type. Workflow files import their types from here, never from each
 * other, so no import circle can form.
 */

// ---- Search attributes ----------------------------------------------------------------------------------

/**
 * Offpeak's search attributes, so `temporal workflow list --query` finds any rollout, region or
 * machine, e.g. `OffpeakRollout = "r-2026-11" AND OffpeakOutcome = "Unhealthy"`.
 */
export const SA = {
  kind: defineSearchAttributeKey('OffpeakKind', SearchAttributeType.KEYWORD),
  rollout: defineSearchAttributeKey('OffpeakRollout', SearchAttributeType.KEYWORD),
  region: defineSearchAttributeKey('OffpeakRegion', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('OffpeakPhase', SearchAttributeType.INT),
  machine: defineSearchAttributeKey('OffpeakMachine', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('OffpeakOutcome', SearchAttributeType.KEYWORD),
};

/** Rollouts and regions continue as new past this many history events (Temporal's guidance: well under 10,000). */
export const EVENTS_PER_RUN = 8000;
/** A region starts at most this many attempts per run beyond its lanes' first steps (docs/scale.md). */
export const CHILDREN_PER_RUN = 500;

// ---- Machine attempt ------------------------------------------------------------------------------------

export interface MachineAttemptInput {
  rolloutId: string;
  machine: MachineSpec;
  attempt: number;
  /** Only the settings a machine needs (`MACHINE_SETTINGS`, domain/machine-settings.ts): its input stays small. */
  settings: MachineSettings;
  /** A retry waits for the window after the previous attempt's one (Azure: "retried in the next window"). */
  notBefore?: number;
}

/** The memo key of a machine attempt's record. */
export const ATTEMPT_MEMO_KEY = 'offpeak';
/**
 * The memo key of a rollout's latest summary, updated per step and phase: what `status` shows when no
 * worker answers a query, and what a failed or terminated rollout leaves behind. (Its `offpeak` key is
 * what started it: an install's or a schedule's record.)
 */
export const STATUS_MEMO_KEY = 'offpeakStatus';

// ---- Region <-> rollout: one request and one reply --------------------------------------------------------

export interface RegionInput {
  rolloutId: string;
  /** The rollout workflow that receives this region's reports. */
  parentWorkflowId: string;
  region: string;
  phase: number;
  machineCount: number;
  slices: SpecSliceRef[];
  /** Per lane, its first slice (spec-slices.ts); absent: one lane. */
  laneStarts?: number[];
  settings: RolloutSettings;
  childrenPerRun?: number;
  eventsPerRun?: number;
  /** Bytes of machine attempts' inputs a region starts at once (default `STARTS_IN_FLIGHT_BYTES`; tests lower it). */
  startsInFlightBytes?: number;
  /** The rollout's reply as the region starts: a hold set before it started holds its first step. */
  reply?: StepReply;
  /** The region's position, carried across continue-as-new: cursors and retry marks only. */
  cursor?: RegionCursor;
}

/** One lane's position: its round, and the slice and step (within the slice) it is at or before. */
export interface LaneCursor {
  round: number;
  slice: number;
  step: number;
  /** Retried in this round; marked during it for the next. */
  due: RetryMarks;
  next: RetryMarks;
  /** Round 1: machines that ran as their step's follower before a hold stopped the rest (region-lane.ts). */
  begun: RetryMarks;
}

export interface RegionCursor {
  /** Per lane; a lane continues as new only between its steps. */
  lanes: LaneCursor[];
  /** Reports sent so far (the last one's `seq`). */
  sent: number;
  /** The rollout's last reply. */
  reply: StepReply;
  /** Machines reported at least once. */
  done: number;
  /** Retried machines whose earlier attempt already counted as an error (sticky). */
  erred: RetryMarks;
}

/** One machine's attempt as a region reports it to the rollout: what the error budget needs, no more. */
export interface StepResult {
  name: string;
  attempt: number;
  outcome: AttemptOutcome;
  /** An earlier attempt of this machine already counted as an error. */
  erredBefore?: boolean;
}

/** Region to rollout: a step ended (its results), or the region did (`end`). */
export interface StepReport {
  region: string;
  /** Numbers this region's reports from 1; the rollout's reply acknowledges it. */
  seq: number;
  step: string;
  results: StepResult[];
  /** The region's last report: it ended, or failed and says why. */
  end?: { failure?: string };
}

/** Rollout to region: the answer to a report, and to every running region when the hold changes. */
export interface StepReply {
  /** The last report (its `seq`) the rollout has judged. */
  ack: number;
  /** Why the region must not start another step (paused, halted); null lets it go on. */
  hold: string | null;
  /** Finish now: machines not yet started are reported Skipped. */
  stop: boolean;
}

export const stepReportSignal = defineSignal<[StepReport]>('stepReport');
export const stepReplySignal = defineSignal<[StepReply]>('stepReply');
export const regionStatusQuery = defineQuery<RegionStatus>('regionStatus');

/** What a rollout that continues as new carries into its next run. */
export interface RolloutCarry {
  status: RolloutStatus;
  reason?: string;
  waitingFor?: string;
  paused?: string;
  stopped: boolean;
  forgivenErrors: number;
  /** Errors of the running phase forgiven by an override (its own budget counts beyond them). */
  phaseForgiven: number;
  /** The bake of a promoted phase in progress: which phase, from and until when (epoch ms). */
  bake?: { phase: number; since: number; until: number };
  gates: GateRecord[];
  refusalsDropped: number;
  /** Nonces of verified signatures still within their time window: each is accepted once. */
  nonces?: Array<{ nonce: string; at: string }>;
  phases: PhaseReport[];
  tallies: RegionTally[];
  failed: FailedMachine[];
  /** The phase whose regions are running. */
  phase: number;
  /**
   * Per running region: the last report judged, the last reply sent, whether it ended, whether its workflow
   * has started (answered only then).
   */
  channels: Array<{ region: string; seq: number; sent: StepReply; ended: boolean; started?: boolean }>;
  /** Regions whose last step waits for the health signals' answer. */
  signalsDue?: string[];
}

export type RolloutWorkflowInput = RolloutInput & { continued?: RolloutCarry };

// ---- Rollout: operator commands -------------------------------------------------------------------------

/** Every operator command answers at once: accepted, or refused and why. */
export interface Decision {
  accepted: boolean;
  reason?: string;
}

/** What every operator request may carry: a signature (required when approvers have keys) and the caller's client identity. */
export interface Attribution {
  /** The sshsig over the decision's statement (domain/signed-decision.ts). */
  signed?: SignedProof;
  /** The Temporal client identity the CLI connected with, as it reports it (recorded beside the decision). */
  identity?: string;
}
export interface GateRequest extends Attribution {
  gate: string;
  by: string;
  comment?: string;
}
export interface PauseRequest extends Attribution {
  by: string;
  reason?: string;
}
export interface ResumeRequest extends Attribution {
  by: string;
  /** Resuming a halt needs an override, recorded as a decision. */
  override?: boolean;
  comment?: string;
}
export type CancelRequest = PauseRequest;

export const approveUpdate = defineUpdate<Decision, [GateRequest]>('approve');
export const rejectUpdate = defineUpdate<Decision, [GateRequest]>('reject');
export const pauseUpdate = defineUpdate<Decision, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<Decision, [ResumeRequest]>('resume');
export const cancelUpdate = defineUpdate<Decision, [CancelRequest]>('cancel');
/** An approval or rejection by signal (the Temporal UI, `temporal workflow signal`): the same rules, recorded the same way. */
export const gateDecisionSignal =
  defineSignal<[GateRequest & { decision: 'approve' | 'reject' }]>('gateDecision');
export const statusQuery = defineQuery<RolloutSummary>('status');

// ---- On-demand assessment and scheduled rollouts ----------------------------------------------------------

export interface AssessInput {
  machine: MachineSpec;
  requestedBy: string;
}

/**
 * What an `offpeak schedule` starts every month. The plan was made (and the fleet and policy validated)
 * when the schedule was created; what depends on the month is settled from the run's scheduled time: the
 * release month, its type (baseline or hotpatch), the deadline and the rollout's ID.
 */
export interface ScheduledRolloutInput {
  version: 1;
  scheduleId: string;
  /** The schedule's `Offset±k` (the release month no longer depends on it: see `releaseMonthOfRun`). */
  offsetDays: number;
  timeZone: string;
  deadlineDays: number;
  unplannedBaselineMonths: string[];
  /** A rollout planned at creation; `rolloutId` and the month-dependent settings are replaced per run. */
  template: RolloutInput;
}
