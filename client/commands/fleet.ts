import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { stringify } from 'yaml';
import { parseFleet } from '../../domain/fleet';
import { importAzureResourceGraph } from '../../domain/import-azure';
import { OperationError, UsageError } from '../errors';
import { readDocument } from '../input';
import { note } from '../output';

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('Fleet files');
  fleet
    .command('import')
    .argument('<file>', 'the inventory: JSON as `az graph query ... -o json` writes it')
    .description('Convert an inventory into an Offpeak fleet file (validated before it is written)')
    .addOption(
      new Option('--from <source>', 'inventory format')
        .choices(['azure-resource-graph'])
        .makeOptionMandatory(),
    )
    .option('--out <file>', 'write the fleet here (default: stdout)')
    .addOption(
      new Option('-o, --output <format>', 'fleet file format').choices(['yaml', 'json']).default('yaml'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples (the query is in docs/operations.md):',
        '  $ az graph query -q "$(cat vms.kql)" --first 1000 -o json > vms.json',
        '  $ offpeak fleet import --from azure-resource-graph vms.json --out fleet.yaml',
      ].join('\n'),
    )
    .action((file: string, opts: { from: string; out?: string; output: string }) => {
      const converted = importAzureResourceGraph(readDocument(file, 'FILE'));
      if (converted.problems.length)
        throw new UsageError(
          converted.problems.map((p) => ({ path: `${file}: ${p.path}`, message: p.message })),
        );
      const parsed = parseFleet(converted.fleet);
      if (!parsed.ok)
        throw new UsageError(
          parsed.problems.map((p) => ({ path: `imported fleet: ${p.path}`, message: p.message })),
        );
      for (const w of converted.warnings) note(`warning: ${w}`);
      const text =
        opts.output === 'json' ? `${JSON.stringify(converted.fleet, null, 2)}\n` : stringify(converted.fleet);
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      try {
        writeFileSync(opts.out, text);
      } catch (err) {
        throw new OperationError(`cannot write ${opts.out}: ${(err as Error).message}`);
      }
      note(`Wrote ${parsed.value.machines.length} machine(s) to ${opts.out}`);
    });
}
