import { NativeConnection, Worker, type NativeConnectionOptions } from '@temporalio/worker';
import { createActivities, type Drivers } from '../activities';
import { SimulatedDriver } from '../activities/drivers/simulated';
import type { PatchDriver } from '../activities/drivers/driver';
import { SshDriver, type SshDriverOptions } from '../activities/drivers/ssh';
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
 * (the simulator) for the others. One ssh driver per machine and settings.
 */
export function fleetDrivers(
  fallback: Drivers,
  options: SshDriverOptions = {},
  azure?: () => PatchDriver,
): Drivers {
  const ssh = new Map<string, SshDriver>();
  let azureDriver: PatchDriver | undefined;
  return {
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
  });
}

export async function connectWorker(options: NativeConnectionOptions): Promise<NativeConnection> {
  return NativeConnection.connect(options);
}
