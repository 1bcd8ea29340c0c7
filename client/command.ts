import { Command, Option } from 'commander';

/**
 * Commander's Command with one change of order: an unknown option is reported before a missing required
 * one, so `--flet x` says "unknown option '--flet'" (with its suggestion) rather than "required option
 * '--fleet' not specified". Commander checks required options first; its parse result is kept here so
 * the check can look at what was not recognised. Subcommands are of this class too (`createCommand`).
 */
export class OffpeakCommand extends Command {
  private unknownArgs: string[] = [];

  override createCommand(name?: string): OffpeakCommand {
    return new OffpeakCommand(name);
  }

  override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
    const parsed = super.parseOptions(argv);
    this.unknownArgs = parsed.unknown;
    return parsed;
  }

  // Commander calls this (untyped) method for the first required option left without a value.
  missingMandatoryOptionValue(option: Option): never {
    const self = this as unknown as { unknownOption(flag: string): never };
    const unknown = this.unknownArgs[0];
    if (unknown?.startsWith('-')) self.unknownOption(unknown);
    const base = Command.prototype as unknown as { missingMandatoryOptionValue(o: Option): never };
    return base.missingMandatoryOptionValue.call(this, option);
  }
}

/** The closing "Examples:" block of a command's help: every command shows at least one. */
export function withExamples<C extends Command>(command: C, ...examples: string[]): C {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`);
}
