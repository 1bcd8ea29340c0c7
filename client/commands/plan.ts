import type { Command } from 'commander';
import { planRollout, formatPlanTable } from '../../domain/planner';
import type { Plan } from '../../domain/plan';
import type { Fleet } from '../../domain/fleet';
import type { Policy } from '../../domain/policy';
import { UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { printJson } from '../output';
import { outputOption } from './options';
import { simulatedMarker, simulatedNames, simulatedNotice } from '../../domain/simulated';

export function planOrThrow(fleet: Fleet, policy: Policy): Plan {
  const planned = planRollout(fleet, policy);
  if (!planned.ok)
    throw new UsageError(planned.problems.map((p) => ({ path: `policy: ${p.path}`, message: p.message })));
  return planned.value;
}

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
      const fleet = loadFleet(opts.fleet);
      const plan = planOrThrow(fleet, loadPolicy(opts.policy));
      const planned = new Set(plan.machines.filter((m) => !m.excluded).map((m) => m.name));
      const names = simulatedNames(fleet.machines.filter((m) => planned.has(m.name)));
      const simulated = simulatedMarker(names, planned.size);
      if (opts.output === 'json') printJson(simulated ? { ...plan, simulated } : plan);
      else {
        process.stdout.write(`${formatPlanTable(plan)}\n`);
        const notice = simulatedNotice(simulated, planned.size);
        if (notice) process.stdout.write(`${notice}\n`);
      }
    });
}
