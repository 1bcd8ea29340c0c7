import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { stringify } from 'yaml';
import { parseInventoryScope } from '../../domain/azure-inventory-query';
import { parseFleet } from '../../domain/fleet';
import { type AzureImport, importAzureResourceGraph } from '../../domain/import-azure';
import { OperationError, UsageError } from '../errors';
import { readDocument } from '../input';
import { note } from '../output';
import { summaryOf } from '../command-index';

interface ImportOptions {
  from: 'azure-resource-graph' | 'azure';
  out?: string;
  output: string;
  subscription: string[];
  resourceGroup?: string;
  tag: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description(summaryOf('fleet'));
  fleet
    .command('import')
    .argument('[file]', 'with --from azure-resource-graph: JSON as `az graph query ... -o json` writes it')
    .description('Convert an inventory into an Offpeak fleet file (validated before it is written)')
    .addOption(
      new Option(
        '--from <source>',
        'azure: read Azure live through Resource Graph; azure-resource-graph: a file of its rows',
      )
        .choices(['azure', 'azure-resource-graph'])
        .makeOptionMandatory(),
    )
    .option('--subscription <id>', 'with --from azure: a subscription to read (repeatable)', collect, [])
    .option('--resource-group <name>', 'with --from azure: only this resource group')
    .option(
      '--tag <key=value>',
      'with --from azure: only machines with this tag (repeatable: all must match)',
      collect,
      [],
    )
    .option('--out <file>', 'write the fleet here (default: stdout)')
    .addOption(
      new Option('-o, --output <format>', 'fleet file format').choices(['yaml', 'json']).default('yaml'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples (docs/operations.md):',
        '  $ offpeak fleet import --from azure --subscription 0f0e... --tag env=prod --out fleet.yaml',
        '  $ az graph query -q "$(cat vms.kql)" --first 1000 -o json > vms.json',
        '  $ offpeak fleet import --from azure-resource-graph vms.json --out fleet.yaml',
        '',
        'The live import signs in as the worker does (DefaultAzureCredential; OFFPEAK_AZURE_ENDPOINT and',
        'OFFPEAK_AZURE_SCOPE for another cloud) and needs Reader on the subscriptions.',
      ].join('\n'),
    )
    .action(async (file: string | undefined, opts: ImportOptions) => {
      const { label, converted } =
        opts.from === 'azure' ? await liveImport(file, opts) : fileImport(file, opts);
      if (converted.problems.length)
        throw new UsageError(
          converted.problems.map((p) => ({ path: `${label}: ${p.path}`, message: p.message })),
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

const LIVE_ONLY = ['subscription', 'resourceGroup', 'tag'] as const;

function fileImport(
  file: string | undefined,
  opts: ImportOptions,
): { label: string; converted: AzureImport } {
  if (file === undefined) throw UsageError.of('FILE', 'name the file of Resource Graph rows');
  for (const o of LIVE_ONLY)
    if (opts[o] !== undefined && (!Array.isArray(opts[o]) || opts[o].length > 0))
      throw UsageError.of(
        `--${o === 'resourceGroup' ? 'resource-group' : o}`,
        'is only valid with --from azure',
      );
  return { label: file, converted: importAzureResourceGraph(readDocument(file, 'FILE')) };
}

async function liveImport(
  file: string | undefined,
  opts: ImportOptions,
): Promise<{ label: string; converted: AzureImport }> {
  if (file !== undefined)
    throw UsageError.of(
      'FILE',
      'the live import reads Azure, not a file: drop it, or use --from azure-resource-graph',
    );
  const scope = parseInventoryScope({
    subscriptions: opts.subscription,
    resourceGroup: opts.resourceGroup,
    tags: opts.tag,
  });
  if (!scope.ok) throw new UsageError(scope.problems);
  // Loaded here: the Azure SDK is not needed by any other command.
  const { azureConnectionFromEnv, azureEnvProblems } =
    await import('../../activities/drivers/azure/from-env');
  const { InventoryError, readAzureInventory } = await import('../../activities/drivers/azure/inventory');
  const envProblems = azureEnvProblems();
  if (envProblems.length) throw new UsageError(envProblems);
  const inventory = await readAzureInventory({ ...azureConnectionFromEnv(), inventory: scope.value }).catch(
    (err: unknown) => {
      throw err instanceof InventoryError ? new OperationError(err.message) : err;
    },
  );
  note(
    `Read ${inventory.rows.length} machine(s) from Azure Resource Graph (${inventory.pages} page(s), ${scope.value.subscriptions.length} subscription(s)); ${inventory.instanceViews} instance view(s) for update domains`,
  );
  const converted = importAzureResourceGraph(inventory.rows);
  return {
    label: 'Azure Resource Graph',
    converted: { ...converted, warnings: [...inventory.warnings, ...converted.warnings] },
  };
}
