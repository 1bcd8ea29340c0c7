import { setTimeout as sleepFor } from 'timers/promises';
import { monthType } from '../../../domain/calendar';
import { isHotpatchCapable } from '../../../domain/patch-selection';
import type { Assessment, AvailablePatch, InstallResult, PatchInstallState } from '../../../domain/patches';
import { DriverError, type MachineTarget, type PatchDriver } from '../driver';
import { hashString, monthlyPatches, requestsReboot } from './catalog';
import { faultOn, readKnobs, type SimulationKnobs } from './faults';
import { appendLedger, type LedgerEntry } from './ledger';
import { MachineStore, newBootId, type MachineState, type Stamp } from './state';

export interface SimulatedDriverOptions {
  /** Directory of the simulated hosts' state and of `ledger.jsonl`; shared by restarted workers. */
  stateDir: string;
  /** Multiplies simulated durations: 0.01 makes a 60 s install take 0.6 s; 0 makes everything instant. */
  timeScale?: number;
  /** The release month, `YYYY-MM`; default: the current month (UTC). */
  month?: string;
  /** Unplanned hotpatch baselines (as the policy's `unplannedBaselineMonths`): no hotpatch in these months. */
  unplannedBaselineMonths?: readonly string[];
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The machine's simulation seed: `simulation.seed`, else a stable hash of its name. */
export function machineSeed(target: Pick<MachineTarget, 'name' | 'simulation'>): number {
  return readKnobs(target.simulation).seed ?? hashString(target.name);
}

/**
 * A fleet that exists only on disk: a deterministic monthly patch set per machine, installs and
 * reboots that take (scaled) real time, and the `simulation` faults of the fleet file.
 *
 * - State per machine survives restarts (`<stateDir>/machines/<name>.json`, written atomically), and
 *   calls for one machine are serialised within the process, so a retry waits for the call it retries
 *   and then finds the work done.
 * - Every host change is appended to `<stateDir>/ledger.jsonl` (read it with `readLedger`).
 * - While a machine reboots, it cannot be reached: `bootId`, `assess`, `install` and `runScript` throw
 *   `DriverError('Unreachable')` and `health` reports unhealthy, until `waitForBoot` would return.
 * - Faults (`target.simulation`, counted against `target.operation.attempt`): `unreachable` makes
 *   every call but `waitForBoot` throw `Unreachable`; `failInstall` fails the patches an install
 *   would have installed; `pendingPatches` leaves them Pending with the window exceeded;
 *   `unhealthyAfterReboot` fails `health` once the machine was rebooted in the same operation.
 */
export class SimulatedDriver implements PatchDriver {
  readonly stateDir: string;
  readonly timeScale: number;
  readonly month: string;
  private readonly unplannedBaselines: string[];
  private readonly store: MachineStore;

  constructor(options: SimulatedDriverOptions) {
    const timeScale = options.timeScale ?? 1;
    if (!(timeScale >= 0) || !Number.isFinite(timeScale))
      throw new Error(`timeScale must be >= 0, got ${timeScale}`);
    const month = options.month ?? new Date().toISOString().slice(0, 7);
    if (!MONTH.test(month)) throw new Error(`month must be YYYY-MM, got "${month}"`);
    this.stateDir = options.stateDir;
    this.timeScale = timeScale;
    this.month = month;
    this.unplannedBaselines = [...(options.unplannedBaselineMonths ?? [])];
    this.store = new MachineStore(options.stateDir);
  }

  /** The machine's patches this month, installed or not. Pure: the same target always gets the same set. */
  patchesFor(target: Pick<MachineTarget, 'name' | 'os' | 'image' | 'simulation'>): AvailablePatch[] {
    return monthlyPatches({
      seed: machineSeed(target),
      os: target.os,
      image: target.image,
      month: this.month,
      hotpatchMonth:
        isHotpatchCapable(target.image) && monthType(this.month, this.unplannedBaselines) === 'hotpatch',
    });
  }

  /** The time scale of a machine's durations: its rollout's `simulationSpeed`, else the worker's. */
  scaleOf(target: Pick<MachineTarget, 'timeScale'>): number {
    const t = target.timeScale;
    return t !== undefined && Number.isFinite(t) && t >= 0 ? t : this.timeScale;
  }

  /** Simulated durations in seconds (unscaled): the fleet's knobs, else 60–300 s and 30–90 s from the seed. */
  durations(target: Pick<MachineTarget, 'name' | 'simulation'>): {
    installSeconds: number;
    rebootSeconds: number;
  } {
    const knobs = readKnobs(target.simulation);
    const h = hashString(`durations|${machineSeed(target)}`);
    return {
      installSeconds: knobs.installSeconds ?? 60 + (h % 241),
      rebootSeconds: knobs.rebootSeconds ?? 30 + ((h >>> 9) % 61),
    };
  }

  async bootId(target: MachineTarget): Promise<string> {
    this.ensureReachable(target);
    return this.store.withMachine(target.name, async (state) => {
      this.ensureUp(target, state);
      return state.bootId;
    });
  }

  async assess(target: MachineTarget): Promise<Assessment> {
    this.ensureReachable(target);
    return this.store.withMachine(target.name, async (state) => {
      this.ensureUp(target, state);
      return {
        machine: target.name,
        assessedAt: new Date().toISOString(),
        bootId: state.bootId,
        rebootPending: state.rebootPending,
        patches: this.patchesFor(target).filter((p) => !state.installed[p.patchId]),
      };
    });
  }

  /**
   * Installs `patchIds` one after another, each taking an equal share of `installSeconds`. Already
   * installed patches count as Installed and are not recorded again; ids this machine is not offered
   * this month are Failed; a patch that would not finish before `deadline` stays Pending. Each
   * installed patch is persisted and recorded before the next one starts, then `onProgress` gets the
   * number of requested patches now installed (already installed ones included).
   */
  async install(
    target: MachineTarget,
    request: { patchIds: string[]; deadline: number; onProgress?: (installed: number) => void },
  ): Promise<InstallResult> {
    const knobs = this.ensureReachable(target);
    const attempt = target.operation.attempt;
    return this.store.withMachine(target.name, async (state, save) => {
      this.ensureUp(target, state);
      const offered = new Map(this.patchesFor(target).map((p) => [p.patchId, p]));
      const ids = [...new Set(request.patchIds)];
      const outcome = new Map<string, PatchInstallState>();
      const todo: AvailablePatch[] = [];
      for (const id of ids) {
        const patch = offered.get(id);
        if (state.installed[id]) outcome.set(id, 'Installed');
        else if (!patch) outcome.set(id, 'Failed');
        else todo.push(patch);
      }
      let installed = [...outcome.values()].filter((s) => s === 'Installed').length;
      let windowExceeded = false;
      const totalMs = this.durations(target).installSeconds * 1000 * this.scaleOf(target);
      const perPatchMs = todo.length ? totalMs / todo.length : 0;

      if (todo.length && faultOn(knobs.failInstall, attempt)) {
        // The first patch fails after its share of the time; nothing changed on the host.
        await this.sleep(Math.min(perPatchMs, Math.max(0, request.deadline - Date.now())));
        for (const p of todo) outcome.set(p.patchId, 'Failed');
      } else if (todo.length && faultOn(knobs.pendingPatches, attempt)) {
        // The window "runs out" before anything is installed.
        await this.sleep(Math.min(totalMs, Math.max(0, request.deadline - Date.now())));
        for (const p of todo) outcome.set(p.patchId, 'Pending');
        windowExceeded = true;
      } else {
        for (const p of todo) {
          if (Date.now() + perPatchMs > request.deadline) {
            outcome.set(p.patchId, 'Pending');
            windowExceeded = true;
            continue;
          }
          await this.sleep(perPatchMs);
          state.installed[p.patchId] = this.stamp(target);
          if (requestsReboot(machineSeed(target), p)) state.rebootPending = true;
          await save(state);
          await this.record(target, { kind: 'install', patchIds: [p.patchId] });
          outcome.set(p.patchId, 'Installed');
          installed++;
          request.onProgress?.(installed);
        }
      }
      return {
        patches: ids.map((patchId) => ({ patchId, state: outcome.get(patchId) ?? 'Failed' })),
        rebootRequired: state.rebootPending,
        maintenanceWindowExceeded: windowExceeded,
      };
    });
  }

  /** Starts a reboot when the host still has `expectedBootId`; the new boot id exists at once, the host is back after `rebootSeconds`. */
  async reboot(target: MachineTarget, request: { expectedBootId: string }): Promise<{ rebooted: boolean }> {
    this.ensureReachable(target);
    return this.store.withMachine(target.name, async (state, save) => {
      if (state.bootId !== request.expectedBootId) return { rebooted: false };
      const bootIdBefore = state.bootId;
      const next: MachineState = {
        ...state,
        bootId: newBootId(),
        boots: state.boots + 1,
        rebootPending: false,
        rebootingUntil: Date.now() + this.durations(target).rebootSeconds * 1000 * this.scaleOf(target),
        lastReboot: this.stamp(target),
      };
      await save(next);
      await this.record(target, { kind: 'reboot', bootIdBefore, bootIdAfter: next.bootId });
      return { rebooted: true };
    });
  }

  /**
   * Waits for the reboot in progress and returns the new boot id. When the boot id is still
   * `previousBootId`, no reboot was started and none will come: DidNotComeBack at once rather than
   * after `timeoutMs`. A reboot that would outlast `timeoutMs` fails with DidNotComeBack at the timeout.
   */
  async waitForBoot(
    target: MachineTarget,
    request: { previousBootId: string; timeoutMs: number },
  ): Promise<{ bootId: string }> {
    const state = await this.store.read(target.name);
    if (state.bootId === request.previousBootId)
      throw new DriverError(
        'DidNotComeBack',
        `${target.name}: no reboot in progress (boot id ${state.bootId})`,
      );
    const remaining = (state.rebootingUntil ?? 0) - Date.now();
    if (remaining > request.timeoutMs) {
      await this.sleep(request.timeoutMs);
      throw new DriverError('DidNotComeBack', `${target.name}: not back within ${request.timeoutMs} ms`);
    }
    await this.sleep(remaining);
    return { bootId: state.bootId };
  }

  /**
   * Runs a pre/post script instantly and records it. A script that is exactly `exit N` exits with N
   * (a way to simulate a failing hook); any other script exits 0.
   */
  async runScript(
    target: MachineTarget,
    request: { kind: 'pre' | 'post'; script: string; timeoutMs: number },
  ): Promise<{ exitCode: number; output: string }> {
    this.ensureReachable(target);
    return this.store.withMachine(target.name, async (state) => {
      this.ensureUp(target, state);
      await this.record(target, { kind: 'script', script: request.script });
      const exit = /^\s*exit\s+(\d+)\s*$/.exec(request.script);
      const exitCode = exit ? Number(exit[1]) : 0;
      return { exitCode, output: `simulated ${request.kind}-script on ${target.name}: exit ${exitCode}` };
    });
  }

  /** Healthy unless rebooting, or `unhealthyAfterReboot` and the machine was rebooted in this operation. */
  async health(target: MachineTarget): Promise<{ healthy: boolean; detail: string }> {
    const knobs = this.ensureReachable(target);
    const state = await this.store.read(target.name);
    if (this.isRebooting(state)) return { healthy: false, detail: `${target.name} is rebooting` };
    if (knobs.unhealthyAfterReboot && state.lastReboot?.operation === target.operation.id)
      return { healthy: false, detail: `simulated: ${target.name} is unhealthy after its reboot` };
    const count = Object.keys(state.installed).length;
    return {
      healthy: true,
      detail: `boot ${state.bootId}, ${count} patch(es) installed${state.rebootPending ? ', reboot pending' : ''}`,
    };
  }

  private ensureReachable(target: MachineTarget): SimulationKnobs {
    const knobs = readKnobs(target.simulation);
    if (faultOn(knobs.unreachable, target.operation.attempt))
      throw new DriverError(
        'Unreachable',
        `simulated: ${target.name} is unreachable on attempt ${target.operation.attempt}`,
      );
    return knobs;
  }

  private isRebooting(state: MachineState): boolean {
    return state.rebootingUntil !== undefined && Date.now() < state.rebootingUntil;
  }

  private ensureUp(target: MachineTarget, state: MachineState): void {
    if (this.isRebooting(state)) throw new DriverError('Unreachable', `${target.name} is rebooting`);
  }

  private stamp(target: MachineTarget): Stamp {
    return {
      at: new Date().toISOString(),
      operation: target.operation.id,
      attempt: target.operation.attempt,
    };
  }

  private async record(
    target: MachineTarget,
    change: Pick<LedgerEntry, 'kind' | 'patchIds' | 'bootIdBefore' | 'bootIdAfter' | 'script'>,
  ): Promise<void> {
    await appendLedger(this.stateDir, {
      at: new Date().toISOString(),
      machine: target.name,
      operation: target.operation.id,
      attempt: target.operation.attempt,
      ...change,
    });
  }

  private async sleep(ms: number): Promise<void> {
    if (ms > 0) await sleepFor(ms);
  }
}
