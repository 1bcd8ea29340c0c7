import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { OffpeakCommand } from './command';
import { COMMANDS } from './command-index';
import { EXIT, NotFoundError, OperationError, UsageError } from './errors';
import { projectRoot, ServerBinaryError } from '../servers/binaries';

/**
 * The program for `argv` (as in process.argv; none: every command loaded). A command line that names a command loads that command's
 * module alone (client/command-index.ts): `offpeak plan` never loads the Temporal client, the worker or
 * the Azure SDK, which take most of a second to load. `--version` loads none, nor does the top-level
 * help (`offpeak`, `--help`, `help`): it prints the index's summaries. Any other command line
 * (`help plan`, a misspelt command that needs its suggestion) loads them all. Either way a command is the
 * same command: the same options, help and errors (test/unit/cli.test.ts compares them).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new OffpeakCommand('offpeak')
    .description('Availability-first patch orchestration on Temporal')
    .version(packageVersion(), '-V, --version', 'print the version of offpeak')
    .helpOption('-h, --help', 'show help for the command')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .allowUnknownOption(false)
    .exitOverride();
  if (!argv) return withEveryCommand(program);
  const args = argv.slice(2);
  // The version needs no command at all; the top-level help only their summaries.
  if (args.length === 1 && ['-V', '--version'].includes(args[0])) return program;
  if (args.length === 0 || (args.length === 1 && ['-h', '--help', 'help'].includes(args[0])))
    return withSummaries(program);
  const named = COMMANDS.find(({ name }) => name === args[0]);
  if (!named) return withEveryCommand(program);
  (await named.load())(program);
  return program;
}

async function withEveryCommand(program: Command): Promise<Command> {
  for (const { load } of COMMANDS) (await load())(program);
  return program;
}

/**
 * The program with each command as its index entry (client/command-index.ts) and no module loaded: it
 * prints the top-level help, and is never parsed with a command (buildProgram loads that command).
 */
function withSummaries(program: Command): Command {
  for (const { name, summary } of COMMANDS) program.command(name).description(summary);
  const terms = new Map(COMMANDS.map(({ name, term }) => [name, term]));
  return program.configureHelp({
    subcommandTerm: (cmd) => terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(new Help(), cmd),
  });
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
    await (await buildProgram(argv)).parseAsync(argv);
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
