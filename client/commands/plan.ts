import type { Command } from 'commander';
import { formatPlanTable } from '../../domain/planner';
import { loadFleet, loadPolicy } from '../input';
import { printJson } from '../output';
import { planOrThrow } from '../prepare';
import { outputOption } from './options';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Print the availability-first plan for a fleet, without starting anything')
    .requiredOption('--fleet <file>', 'fleet file (YAML or JSON)')
    .option('--policy <file>', 'policy file (YAML or JSON)')
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak plan --fleet examples/fleet.yaml\n  $ offpeak plan --fleet examples/fleet.yaml --policy examples/policy-demo.yaml --output json',
    )
    .action((opts: { fleet: string; policy?: string; output: string }) => {
      const plan = planOrThrow(loadFleet(opts.fleet), loadPolicy(opts.policy));
      if (opts.output === 'json') printJson(plan);
      else process.stdout.write(`${formatPlanTable(plan)}\n`);
    });
}
