import type { Command } from 'commander';
import { join } from 'node:path';
import { offpeakHome } from '../../servers/binaries';
import { resolveTemporal } from '../../servers/connection';
import { GracefulShutdownPeriodExpiredError } from '@temporalio/worker';
import { azureDriverFromEnv, azureEnvProblems } from '../../activities/drivers/azure/from-env';
import {
  announcingSimulated,
  connectWorker,
  createWorker,
  fleetDrivers,
  SHUTDOWN,
  simulatedDrivers,
} from '../../worker/worker';
import { createLogger, installRuntimeLogger } from '../../worker/logger';
import { DEFAULT_TASK_QUEUE, siteTaskQueue } from '../../domain/rollout-spec';
import { OperationError, UsageError } from '../errors';
import { note } from '../output';
import { summaryOf } from '../command-index';

interface WorkerCommandOptions {
  site?: string;
  simState: string;
  timeScale: string;
  metricsPort?: string;
  metricsHost: string;
}

function metricsAddressOf(opts: WorkerCommandOptions): string | undefined {
  if (opts.metricsPort === undefined || opts.metricsPort === '') return undefined;
  const port = Number(opts.metricsPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw UsageError.of('--metrics-port', `must be a port number (1-65535), not "${opts.metricsPort}"`);
  return opts.metricsHost.includes(':') ? `[${opts.metricsHost}]:${port}` : `${opts.metricsHost}:${port}`;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(summaryOf('worker'))
    .option(
      '--site <site>',
      'run only the activities of machines with this `site` (a worker next to the machines)',
    )
    .option(
      '--sim-state <dir>',
      'simulated driver state and ledger',
      join(offpeakHome(), 'simulator', 'worker'),
    )
    .option(
      '--time-scale <n>',
      "simulated durations multiplied by this (a policy's simulationSpeed replaces it for its rollout)",
      '1',
    )
    .option(
      '--metrics-port <port>',
      "serve Prometheus metrics (Temporal's and Offpeak's) on this port, at /metrics",
      process.env.OFFPEAK_METRICS_PORT,
    )
    .option(
      '--metrics-host <host>',
      'the address the metrics port listens on (0.0.0.0: every interface, for a Prometheus elsewhere)',
      '127.0.0.1',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak worker\n  $ offpeak worker --site dublin-dc1\n  $ offpeak worker --metrics-port 9464',
    )
    .action(async (opts: WorkerCommandOptions) => {
      const metricsAddress = metricsAddressOf(opts);
      const azureProblems = azureEnvProblems();
      if (azureProblems.length) throw new UsageError(azureProblems);
      const azure = azureDriverFromEnv();
      const logger = createLogger();
      installRuntimeLogger(logger, { metricsAddress });
      const target = await resolveTemporal({ embedded: true, log: note });
      // Ctrl-C while the server is unreachable stops the retrying (the SDK's handlers only stop a worker).
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort).once('SIGTERM', abort);
      const connection = await connectWorker(target.connectionOptions, {
        log: note,
        signal: stop.signal,
      }).catch((err: unknown) => {
        if (!stop.signal.aborted) throw err;
        throw new OperationError('stopped before Temporal was reachable');
      });
      process.off('SIGINT', abort).off('SIGTERM', abort);
      const worker = await createWorker({
        connection,
        namespace: target.namespace,
        taskQueue: opts.site ? siteTaskQueue(opts.site) : DEFAULT_TASK_QUEUE,
        workflows: !opts.site,
        // Machines with `driver: ssh` are patched over SSH, `driver: azure` through Azure's API; the
        // others (`driver: simulated`) by the simulator, which patches nothing.
        drivers: fleetDrivers(
          announcingSimulated(simulatedDrivers(opts.simState, Number(opts.timeScale)), (machine) =>
            logger.warn({ machine }, 'SIMULATED: driver "simulated" patches nothing on this machine'),
          ),
          {},
          () => azure,
        ),
      });
      note(
        `Worker polling ${opts.site ? siteTaskQueue(opts.site) : DEFAULT_TASK_QUEUE} on ${target.connectionOptions.address}; Ctrl-C stops it.`,
      );
      if (metricsAddress) note(`Prometheus metrics on http://${metricsAddress}/metrics`);
      // The SDK's runtime stops the worker on these signals; this says what happens meanwhile.
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.once(signal, () =>
          note(
            `${signal}: stopping. Running activities have ${SHUTDOWN.graceMs / 1000} s to finish, then are cancelled ` +
              `(Temporal retries them); the worker exits within ${SHUTDOWN.forceMs / 1000} s.`,
          ),
        );
      try {
        await worker.run();
      } catch (err) {
        if (!(err instanceof GracefulShutdownPeriodExpiredError)) throw err;
        note(`Activities did not stop within ${SHUTDOWN.forceMs / 1000} s; exiting anyway.`);
      }
      note('Worker stopped.');
      await connection.close();
      await target.devServer?.stop();
    });
}
