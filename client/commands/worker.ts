import type { Command } from 'commander';
import { join } from 'node:path';
import { offpeakHome } from '../../servers/binaries';
import { resolveTemporal } from '../../servers/connection';
import { connectWorker, createWorker, simulatedDrivers } from '../../worker/worker';
import { createLogger, installRuntimeLogger } from '../../worker/logger';
import { DEFAULT_TASK_QUEUE, siteTaskQueue } from '../../domain/rollout-spec';
import { note } from '../output';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run a worker: workflows and activities, or only the activities of one site')
    .option(
      '--site <site>',
      'run only the activities of machines with this `site` (a worker next to the machines)',
    )
    .option(
      '--sim-state <dir>',
      'simulated driver state and ledger',
      join(offpeakHome(), 'simulator', 'worker'),
    )
    .option('--time-scale <n>', 'simulated durations multiplied by this', '1')
    .addHelpText('after', '\nExamples:\n  $ offpeak worker\n  $ offpeak worker --site dublin-dc1')
    .action(async (opts: { site?: string; simState: string; timeScale: string }) => {
      const logger = createLogger();
      installRuntimeLogger(logger);
      const target = await resolveTemporal({ embedded: true, log: note });
      const connection = await connectWorker(target.connectionOptions);
      const worker = await createWorker({
        connection,
        namespace: target.namespace,
        taskQueue: opts.site ? siteTaskQueue(opts.site) : DEFAULT_TASK_QUEUE,
        workflows: !opts.site,
        drivers: simulatedDrivers(opts.simState, Number(opts.timeScale)),
      });
      note(
        `Worker polling ${opts.site ? siteTaskQueue(opts.site) : DEFAULT_TASK_QUEUE} on ${target.connectionOptions.address}; Ctrl-C stops it.`,
      );
      await worker.run();
      await connection.close();
      await target.devServer?.stop();
    });
}
