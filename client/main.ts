import { Command, CommanderError } from 'commander';
import { registerAssess } from './commands/assess';
import { registerCompliance } from './commands/compliance';
import { registerDemo } from './commands/demo';
import { registerDevServer } from './commands/dev-server';
import { registerFleet } from './commands/fleet';
import { registerInstall } from './commands/install';
import { registerPlan } from './commands/plan';
import { registerRollout } from './commands/rollout';
import { registerSchedule } from './commands/schedule';
import { registerWorker } from './commands/worker';
import { EXIT, OperationError, UsageError } from './errors';
import { ServerBinaryError } from '../servers/binaries';

export function buildProgram(): Command {
  const program = new Command('offpeak')
    .description('Availability-first patch orchestration on Temporal')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerPlan(program);
  registerRollout(program);
  registerSchedule(program);
  registerAssess(program);
  registerInstall(program);
  registerCompliance(program);
  registerFleet(program);
  registerWorker(program);
  registerDevServer(program);
  registerDemo(program);
  return program;
}

/** The one place where failures become exit codes: 0 ok, 1 operation failed, 2 bad input. */
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
    if (err instanceof OperationError || err instanceof ServerBinaryError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    () => process.exit(EXIT.failed),
  );
}
