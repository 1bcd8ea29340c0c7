import { ApplicationFailure, Context } from '@temporalio/activity';
import type { MachineSpec } from '../domain/rollout-spec';
import type { Assessment, InstallResult } from '../domain/patches';
import { type MaintenanceSchedule, nextWindow } from '../domain/windows';
import type { OsType } from '../domain/fleet';
import { followerFit } from '../domain/planner/attempt-model';
import { WindowTrack } from '../domain/planner/window-track';
import type { MachineTarget, PatchDriver } from './drivers/driver';
import { asActivityFailure } from './failures';
import { readSlice, SliceError, specStoreDir } from '../store/spec-store';
import { FAILURE } from '../domain/failures';
import { verifyDecision, type DecisionToVerify } from '../domain/decision-verification';
import type { DecisionVerdict } from '../domain/signed-decision';
import type { SpecSlice, StoredSliceRef } from '../domain/spec-slices';
import { createWebhookActivities } from './signals/webhooks';
import type { HealthSignalRequest, HealthSignalSource, HealthSignalVerdict } from '../domain/health-signals';
import { DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import type { LeaseRequest } from '../domain/lease-book';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { FLEET_GUARD_ID, requestLeaseSignal } from '../workflows/guard-contracts';

export interface Drivers {
  /** The driver for a machine; the simulator by default, the ssh driver for machines with `ssh` settings. */
  forMachine(machine: Pick<MachineSpec, 'name'> & Partial<Pick<MachineSpec, 'ssh' | 'azure'>>): PatchDriver;
  /** Where the rollout's health signals come from (Prometheus); without one, every check is unreachable. */
  healthSignals?: HealthSignalSource;
}

export interface Operation {
  id: string;
  attempt: number;
}

function target(machine: MachineSpec, operation: Operation): MachineTarget {
  return {
    name: machine.name,
    os: machine.os,
    image: machine.image,
    simulation: machine.simulation,
    ...(machine.timeScale !== undefined ? { timeScale: machine.timeScale } : {}),
    ...(machine.azure ? { azure: machine.azure } : {}),
    operation,
  };
}

/**
 * Heartbeats while a driver call runs (every machine step, quick or long), so a dead worker is noticed
 * within the heartbeat timeout rather than the step's start-to-close timeout.
 * Every beat repeats the latest details: they are what a retry resumes from (an Azure operation).
 */
async function withHeartbeat<T>(call: (beat: (details?: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let latest: unknown = ctx.info.heartbeatDetails;
  const timer = setInterval(() => ctx.heartbeat(latest), 1000);
  try {
    return await call((details) => {
      latest = details;
      ctx.heartbeat(details);
    });
  } finally {
    clearInterval(timer);
  }
}

/** One side effect each, over injected drivers. Every "what next" decision stays in workflow code. */
export function createActivities(drivers: Drivers) {
  const driverOf = (m: MachineSpec) => drivers.forMachine(m);
  return {
    /** Reads one slice of a large rollout's spec from the spec store, checking its hash (docs/scale.md). */
    async loadSpecSlice(ref: StoredSliceRef): Promise<SpecSlice> {
      try {
        return readSlice(specStoreDir(), ref);
      } catch (err) {
        // A bad slice never reads (another rollout's store, a changed file); an unreadable one may later.
        if (err instanceof SliceError)
          throw ApplicationFailure.create({
            type: FAILURE.BadSlice,
            message: err.message,
            nonRetryable: err.kind === 'bad',
          });
        throw err;
      }
    },

    /** Verifies an operator's signed decision against the approvers' keys (the verdict is recorded in history). */
    async verifyDecision(request: DecisionToVerify): Promise<DecisionVerdict> {
      return verifyDecision(request);
    },

    /** Answers on a site's task queue: a worker polls it (workflows/machine-steps.ts, `awaitSiteWorker`). */
    async siteWorkerReady(): Promise<true> {
      return true;
    },

    /**
     * Asks the fleet guard for a step's lease, starting the guard if none runs (signal-with-start); the
     * guard answers the holder by signal. Asking again with the same lease ID is asking once.
     */
    async requestLease(request: LeaseRequest): Promise<void> {
      const { client } = Context.current();
      try {
        await client.workflow.signalWithStart('fleetGuardWorkflow', {
          workflowId: FLEET_GUARD_ID,
          taskQueue: DEFAULT_TASK_QUEUE,
          args: [{}],
          signal: requestLeaseSignal,
          signalArgs: [request],
          staticSummary: 'Offpeak fleet guard: disruption leases for every run',
        });
      } catch (err) {
        // Two holders starting the guard at once: the loser is told "already started" (the time-skipping
        // server does this; CI saw it). The guard runs, so the request goes to it; waiting for a retry
        // instead held one lane back a whole backoff.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        await client.workflow.getHandle(FLEET_GUARD_ID).signal(requestLeaseSignal, request);
      }
    },

    /**
     * The holders (workflow IDs) that are gone: ended (terminated, cancelled, failed, timed out,
     * completed) or not found, or running with a workflow task no worker picked up for `staleMs` by
     * `now` (the guard's clock, which is the server's).
     */
    async holdersGone(workflowIds: string[], staleMs: number, now: number): Promise<string[]> {
      const { client } = Context.current();
      const gone: string[] = [];
      for (const id of workflowIds) {
        try {
          const d = await client.workflow.getHandle(id).describe();
          const task = d.raw.pendingWorkflowTask;
          const scheduled = task?.scheduledTime?.seconds
            ? Number(task.scheduledTime.seconds) * 1000
            : undefined;
          const unpicked = task && !task.startedTime && scheduled !== undefined && now - scheduled > staleMs;
          if (d.status.name !== 'RUNNING' || unpicked) gone.push(id);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) gone.push(id);
          else throw err;
        }
      }
      return gone;
    },

    /** Computes the machine's next window in its own time zone, outside the workflow sandbox. */
    async findWindow(
      schedule: MaintenanceSchedule,
      after: number,
    ): Promise<{ start: number; end: number } | null> {
      return nextWindow(schedule, after) ?? null;
    },

    /**
     * Whether a lane's follower may start a machine now: its attempt runs whole in its windows, as the
     * forecast decides it (domain/planner/attempt-model.ts), outside the workflow sandbox.
     */
    async followerFit(
      schedule: MaintenanceSchedule,
      at: number,
      expected: { os: OsType; installMinutes: number; rebootMinutes: number },
      deadline: number,
    ): Promise<{ fits: boolean; recheckAt: number | null }> {
      const { os, installMinutes, rebootMinutes } = expected;
      const model = {
        track: new WindowTrack(schedule, at),
        os,
        installMs: installMinutes * 60_000,
        rebootMs: rebootMinutes * 60_000,
      };
      const { fits, recheckAt } = followerFit(model, at, deadline);
      return { fits, recheckAt: Number.isFinite(recheckAt) ? recheckAt : null };
    },

    async assess(machine: MachineSpec, op: Operation): Promise<Assessment> {
      // A remote assessment (Azure's takes minutes) may outlast this step's start-to-close timeout: the
      // driver saves its operation in the heartbeat details and the step's next try resumes it.
      const ctx = Context.current();
      const end = ctx.info.currentAttemptScheduledTimestampMs + ctx.info.startToCloseTimeoutMs;
      return asActivityFailure(() =>
        withHeartbeat((beat) =>
          driverOf(machine).assess(target(machine, op), {
            checkpoint: { saved: ctx.info.heartbeatDetails, save: beat },
            budgetMs: Math.max(1_000, end - Date.now() - 10_000),
          }),
        ),
      );
    },

    async runScript(
      machine: MachineSpec,
      op: Operation,
      kind: 'pre' | 'post',
      script: string,
    ): Promise<void> {
      const result = await asActivityFailure(() =>
        withHeartbeat(() =>
          driverOf(machine).runScript(target(machine, op), {
            kind,
            script,
            args: machine.scriptArgs?.[kind] ?? [],
            timeoutMs: 20 * 60_000,
          }),
        ),
      );
      if (result.exitCode !== 0) {
        throw ApplicationFailure.create({
          type: FAILURE.ScriptFailed,
          nonRetryable: true,
          message: `${kind}-script ${script} exited ${result.exitCode}: ${result.output.slice(-500)}`,
        });
      }
    },

    async install(
      machine: MachineSpec,
      op: Operation,
      patchIds: string[],
      deadline: number,
    ): Promise<InstallResult> {
      return asActivityFailure(() =>
        withHeartbeat((beat) =>
          driverOf(machine).install(target(machine, op), {
            patchIds,
            deadline,
            onProgress: (installed) => beat({ installed }),
            checkpoint: { saved: Context.current().info.heartbeatDetails, save: beat },
          }),
        ),
      );
    },

    async bootId(machine: MachineSpec, op: Operation): Promise<string> {
      return asActivityFailure(() => withHeartbeat(() => driverOf(machine).bootId(target(machine, op))));
    },

    async reboot(
      machine: MachineSpec,
      op: Operation,
      expectedBootId: string,
    ): Promise<{ rebooted: boolean }> {
      return asActivityFailure(() =>
        withHeartbeat(() => driverOf(machine).reboot(target(machine, op), { expectedBootId })),
      );
    },

    async waitForBoot(machine: MachineSpec, op: Operation, previousBootId: string): Promise<string> {
      const { bootId } = await asActivityFailure(() =>
        withHeartbeat(() =>
          driverOf(machine).waitForBoot(target(machine, op), { previousBootId, timeoutMs: 15 * 60_000 }),
        ),
      );
      return bootId;
    },

    async healthCheck(machine: MachineSpec, op: Operation): Promise<{ healthy: boolean; detail: string }> {
      return asActivityFailure(() => withHeartbeat(() => driverOf(machine).health(target(machine, op))));
    },

    /** The rollout's hooks and notifications (activities/signals/webhooks.ts). */
    ...createWebhookActivities(),
    /**
     * Asks the operator's monitoring whether the rollout's health signals fire for the request's regions and
     * services. A read only: the rollout decides what the verdict means (firing halts, unreachable waits).
     */
    async checkHealthSignals(request: HealthSignalRequest): Promise<HealthSignalVerdict> {
      const source = drivers.healthSignals;
      if (!source) return { status: 'unreachable', reason: 'no Prometheus client in this worker' };
      return source.check(request);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
