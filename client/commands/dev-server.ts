import type { Command } from 'commander';
import { defaultDbFile, startDevServer } from '../../servers/dev-server';
import { note } from '../output';
import { summaryOf } from '../command-index';

export function registerDevServer(program: Command): void {
  program
    .command('dev-server')
    .description(summaryOf('dev-server'))
    .option('--port <port>', 'gRPC port', '7233')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak dev-server\n  $ offpeak dev-server --port 7234 --ui-port 8234   # then TEMPORAL_ADDRESS=127.0.0.1:7234',
    )
    .action(async (opts: { port: string; uiPort: string }) => {
      const server = await startDevServer({
        port: Number(opts.port),
        uiPort: Number(opts.uiPort),
        dbFile: defaultDbFile(),
        log: note,
      });
      if (server.reused) return;
      note('Ctrl-C stops it; its state survives a restart.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.stop();
    });
}
