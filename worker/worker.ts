import { NativeConnection, Worker, type NativeConnectionOptions } from '@temporalio/worker';
import { createActivities, type Drivers } from '../activities';
import { SimulatedDriver } from '../activities/drivers/simulated';
import type { PatchDriver } from '../activities/drivers/driver';
import { SshDriver, type SshDriverOptions } from '../activities/drivers/ssh';
import { prometheusSource } from '../activities/signals/prometheus';
import { DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  drivers: Drivers;
  /** Run workflows too (the orchestration worker); a per-site worker runs only activities. */
  workflows?: boolean;
}

/**
 * Says once per machine, in the worker's log, that the simulator (not a real driver) acts on it: a
 * machine without `ssh` or `azure` settings is never patched silently.
 */
export function announcingSimulated(drivers: Drivers, warn: (machine: string) => void): Drivers {
  const announced = new Set<string>();
  return {
    forMachine(machine) {
      if (!announced.has(machine.name)) {
        announced.add(machine.name);
        warn(machine.name);
      }
      return drivers.forMachine(machine);
    },
  };
}

export function simulatedDrivers(stateDir: string, timeScale: number): Drivers {
  const driver = new SimulatedDriver({ stateDir, timeScale });
  return { forMachine: () => driver };
}

/**
 * Real machines: the ssh driver for every machine whose spec carries `ssh` settings (fleet
 * `driver: ssh`), the azure driver (made on first use) for those with `azure` settings, `fallback`
 * (the simulator) for the others. One ssh driver per machine and settings. Health signals from
 * Prometheus (activities/signals/prometheus.ts).
 */
export function fleetDrivers(
  fallback: Drivers,
  options: SshDriverOptions = {},
  azure?: () => PatchDriver,
): Drivers {
  const ssh = new Map<string, SshDriver>();
  let azureDriver: PatchDriver | undefined;
  return {
    // The operator's Prometheus, asked only when a policy names one (health.prometheus).
    healthSignals: fallback.healthSignals ?? prometheusSource(),
    forMachine(machine) {
      if (machine.azure) {
        if (!azure) throw new Error(`${machine.name}: this worker has no azure driver`);
        return (azureDriver ??= azure());
      }
      if (!machine.ssh) return fallback.forMachine(machine);
      const key = `${machine.name}|${JSON.stringify(machine.ssh)}`;
      let driver = ssh.get(key);
      if (!driver) ssh.set(key, (driver = new SshDriver(machine.ssh, options)));
      return driver;
    },
  };
}

export async function createWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...(options.workflows === false ? {} : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(options.drivers),
    maxConcurrentActivityTaskExecutions: 200,
    // A dead worker's cached workflows move to the shared queue after 3 s (the SDK's default: 10 s).
    stickyQueueScheduleToStartTimeout: '3 seconds',
    // Bounded: running activities are cancelled after the grace time (Temporal retries them elsewhere).
    shutdownGraceTime: SHUTDOWN.graceMs,
    shutdownForceTime: SHUTDOWN.forceMs,
  });
}

/** How long a stopping worker lets running activities finish, and when it gives up waiting. */
export const SHUTDOWN = { graceMs: 5_000, forceMs: 15_000 };

export interface ConnectRetry {
  /** One human line per failed attempt. */
  log: (line: string) => void;
  /** Attempts before giving up (default: until it connects). */
  attempts?: number;
  /** Waits between attempts; the delay doubles from 1 s up to 30 s. */
  sleep?: (ms: number) => Promise<void>;
  /** Stops retrying (SIGINT while waiting for the server): the last error is thrown. */
  signal?: AbortSignal;
}

/** The gist of a connection error: the OS's words ("Connection refused") rather than tonic's debug text. */
export function connectionProblem(err: unknown): string {
  const text = String((err as Error).message ?? err);
  const messages = [...text.matchAll(/message: "([^"]+)"/g)].map((m) => m[1]);
  return messages.at(-1) ?? text.split('\n')[0];
}

/**
 * Connects to Temporal; with `retry`, a server that is not reachable yet (still starting, restarting) is
 * tried again, one line per attempt, instead of failing with the SDK's TransportError.
 */
export async function connectWorker(
  options: NativeConnectionOptions,
  retry?: ConnectRetry,
): Promise<NativeConnection> {
  const sleep = retry?.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect(options);
    } catch (err) {
      if (!retry || attempt === retry.attempts || retry.signal?.aborted) throw err;
      const delay = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      retry.log(
        `Cannot reach Temporal at ${options.address ?? 'localhost:7233'} (attempt ${attempt}: ${connectionProblem(err)}); retrying in ${delay / 1000} s`,
      );
      await Promise.race([
        sleep(delay),
        new Promise((resolve) => retry.signal?.addEventListener('abort', resolve, { once: true })),
      ]);
      if (retry.signal?.aborted) throw err;
    }
  }
}
