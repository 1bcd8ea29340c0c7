import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { OffpeakCommand } from './command';
import { registerAssess } from './commands/assess';
import { registerCompliance } from './commands/compliance';
import { registerDemo } from './commands/demo';
import { registerDevServer } from './commands/dev-server';
import { registerFleet } from './commands/fleet';
import { registerInstall } from './commands/install';
import { registerLeases } from './commands/leases';
import { registerPlan } from './commands/plan';
import { registerRollout } from './commands/rollout';
import { registerSchedule } from './commands/schedule';
import { registerWorker } from './commands/worker';
import { EXIT, NotFoundError, OperationError, UsageError } from './errors';
import { projectRoot, ServerBinaryError } from '../servers/binaries';

export function buildProgram(): Command {
  const program = new OffpeakCommand('offpeak')
    .description('Availability-first patch orchestration on Temporal')
    .version(packageVersion(), '-V, --version', 'print the version of offpeak')
    .helpOption('-h, --help', 'show help for the command')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .allowUnknownOption(false)
    .exitOverride();
  registerPlan(program);
  registerRollout(program);
  registerSchedule(program);
  registerAssess(program);
  registerInstall(program);
  registerLeases(program);
  registerCompliance(program);
  registerFleet(program);
  registerWorker(program);
  registerDevServer(program);
  registerDemo(program);
  return program;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * The one place where failures become exit codes: 0 ok, 1 operation failed or not found, 2 bad input.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok; // --help, --version
      return EXIT.badInput; // commander already printed the problem
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.badInput;
    }
    if (err instanceof NotFoundError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.failed;
    }
    if (err instanceof OperationError || err instanceof ServerBinaryError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

/** Resolves once everything written to `stream` has left the process (or the reader went away). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    // The callback of a write runs after every earlier write has been handed to the OS.
    stream.write('', () => resolve());
  });
}

/**
 * The CLI's only exit: runs `main`, lets stdout and stderr drain, then exits with the mapped code.
 * `process.exit` right away would cut output a pipe has not taken yet (anything past its 64 KiB).
 * The exit itself stays explicit: open connections and timers must not keep a finished command alive.
 */
export async function run(argv: string[]): Promise<never> {
  // A reader that stops early (`| head`) is not an error of ours: end quietly instead of an EPIPE trace.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  const code = await main(argv).catch(() => EXIT.failed);
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

if (require.main === module) void run(process.argv);
