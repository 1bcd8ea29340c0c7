import type {
  AttemptOutcome,
  GateDecision,
  MachineState,
  PhaseStatus,
  RolloutStatus,
} from '../domain/outcomes';
import type { AvailablePatch, PatchCounts, PatchOutcome } from '../domain/patches';
import type { MachineSpec } from '../domain/rollout-spec';

/**
 * What Offpeak's workflows return and keep: attempt results and memos, region counts, the rollout's summary
 * and report, assessment and schedule results. Part of the contracts (messages.ts re-exports every type).
 */

export interface MachineAttemptResult {
  name: string;
  attempt: number;
  outcome: AttemptOutcome;
  /** The disruptive span: install start until the post-reboot health check. */
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
  counts: PatchCounts;
  patches: PatchOutcome[];
  rebooted: boolean;
  assessedAt?: string;
  /** End of the window this attempt ran in (epoch ms), when it had one. */
  windowEnd?: number;
  /**
   * The post-script run after a failure that followed a successful pre-script (the saga): its own outcome,
   * beside the attempt's, which stays the first failure.
   */
  postScriptAfterFailure?: { outcome: AttemptOutcome; detail?: string };
}

/**
 * What an attempt leaves in its memo (key `offpeak`), visible in listings: how `offpeak rollout report`
 * assembles a rollout's machines without reading every attempt's result. No patch lists (the report reads
 * those from results).
 */

export type MachineAttemptMemo = Pick<
  MachineAttemptResult,
  'attempt' | 'outcome' | 'startedAt' | 'finishedAt' | 'detail' | 'counts' | 'rebooted' | 'assessedAt'
> &
  Pick<MachineSpec, 'region' | 'zone' | 'availabilitySet' | 'updateDomain'> & {
    /** While the attempt waits for something outside it, what: `no worker on task queue offpeak-site-dublin`. */
    waiting?: string;
  };

/**
 * What a rollout keeps of a region's machines: counts, never a record per machine, so that it can continue
 * as new with a small input at any fleet size (docs/scale.md).
 */
export interface RegionTally {
  region: string;
  phase: number;
  /** Planned machines. */
  total: number;
  /** Machines reported at least once (Skipped included). */
  done: number;
  /** Attempts that ran (every result but Skipped): each is a machine workflow `rollout report` reads. */
  attempts: number;
  /** Machines whose latest attempt succeeded. */
  succeeded: number;
  /** Machines that ever counted as an error: what the error budget counts. */
  errors: number;
  /** Errors not since patched by a retry: what a phase's gate counts. */
  failing: number;
}

// ---- Rollout: reports ----------------------------------------------------------------------------------

export interface GateRecord {
  name: string;
  phase: number;
  decision: GateDecision;
  by: string;
  at: string;
  comment?: string;
  /** The fingerprint of the key that signed the decision (approvers with keys). */
  key?: string;
  /** The Temporal client identity the decision came from, as the client reported it. */
  identity?: string;
}

export interface PhaseReport {
  index: number;
  regions: string[];
  status: PhaseStatus;
  startedAt?: string;
  finishedAt?: string;
}

/** A region's counts, as the rollout keeps them. */
export interface RegionReport {
  region: string;
  phase: number;
  /** Planned machines. */
  total: number;
  /** Machines reported at least once (Skipped included). */
  done: number;
  succeeded: number;
  /** Done machines whose latest attempt did not succeed. */
  notSucceeded: number;
  /** Machines that counted as an error. */
  errors: number;
}

/** A machine whose error counts (and that has not succeeded since): what halts and status name. */
export interface FailedMachine {
  name: string;
  region: string;
  phase: number;
  /** Its latest attempt's outcome. */
  outcome: AttemptOutcome;
}

/**
 * What the rollout says of itself (its status query, its memo and its result): counts, and the names of
 * its failed machines only (at most ten per phase).
 */
export interface RolloutSummary {
  rolloutId: string;
  status: RolloutStatus;
  reason?: string;
  waitingFor?: string;
  /** The gate waiting for a decision, if any. */
  openGate?: string;
  startedBy: string;
  month: string;
  monthType: 'baseline' | 'hotpatch';
  deadline: string;
  errors: { count: number; allowed: number };
  /** The running phase's own budget: its errors and how many it allows (`phaseErrorAllowance`). */
  phaseErrors?: { phase: number; count: number; allowed: number };
  /** Failed machines, the first ten per phase, with their latest outcome (absent from older memos). */
  failed?: FailedMachine[];
  /** A promoted phase baking before the next starts: `Baking phase 1 until 03:40Z`. */
  baking?: string;
  planned: number;
  succeeded: number;
  /** Attempts that ran (every result but Skipped), each a machine workflow: how a report knows it read them all. */
  attempts: number;
  phases: PhaseReport[];
  regions: RegionReport[];
  gates: GateRecord[];
  /** Refused decisions beyond the ones `gates` keeps. */
  refusalsDropped?: number;
}

export interface MachineReport extends PatchCounts {
  name: string;
  region: string;
  zone?: string;
  availabilitySet?: string;
  updateDomain?: number;
  phase?: number;
  /** The plan's step this machine is patched in (its index in the region, its label), when its slice was read. */
  /** The plan's step: its index in the region, its lane (absent in plans before lanes) and label. */
  step?: { index: number; lane?: number; label: string };
  outcome: MachineState;
  detail?: string;
  rebooted: boolean;
  lastAssessedAt?: string;
  patches: PatchOutcome[];
  attempts: Array<{
    attempt: number;
    outcome: AttemptOutcome;
    startedAt?: string;
    finishedAt?: string;
    detail?: string;
  }>;
}

/** The full report, assembled by the CLI: the summary and every machine (client/report.ts). */
export interface RolloutReport extends RolloutSummary {
  machines: MachineReport[];
  /** What could not be read while assembling it. */
  notes?: string[];
}

/** The result is the record: `offpeak compliance` finds it by `OffpeakKind = "assessment"` and `OffpeakMachine`. */
export interface AssessmentResult {
  machine: string;
  outcome: Extract<AttemptOutcome, 'Succeeded' | 'Unreachable'>;
  assessedAt: string;
  rebootPending?: boolean;
  counts: { critical: number; security: number; other: number };
  patches: AvailablePatch[];
  requestedBy: string;
}

export interface ScheduledRolloutResult {
  rolloutId: string;
  month: string;
  /** A rollout of this schedule and month already ran (a second trigger in one month is a no-op). */
  alreadyStarted: boolean;
  report?: RolloutSummary;
}

/** A region's answer to `regionStatus`. */
export interface RegionStatus {
  /** The first running lane's round and step (within its slice); every lane's in `lanes`. */
  round: number;
  step: number;
  lanes: Array<{ round: number; step: number }>;
  hold: string | null;
  /** What the region waits for from the fleet guard, if it waits. */
  waitingFor: string | null;
  done: number;
  total: number;
}
