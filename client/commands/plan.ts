import type { Command } from 'commander';
import { planRollout, formatPlanTable } from '../../domain/planner';
import type { Plan } from '../../domain/plan';
import type { Fleet } from '../../domain/fleet';
import type { Policy } from '../../domain/policy';
import { newRolloutId, prepareRolloutInput, type PreStart } from '../../domain/pre-start';
import type { RolloutInput } from '../../domain/rollout-spec';
import { UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { printJson } from '../output';
import { outputOption, whoAmI } from './options';

/** Where a pre-start problem sits, as the user wrote it: the options, or the files (by their prefix). */
const OPTION_OF: Record<string, string> = { rolloutId: '--id', startedBy: '--by' };

/** Everything `rollout start` checks and builds before contacting the server; `plan` runs it too. */
export function prepareOrThrow(args: PreStart): { plan: Plan; input: RolloutInput } {
  const prepared = prepareRolloutInput(args);
  if (!prepared.ok)
    throw new UsageError(
      prepared.problems.map((p) =>
        Object.hasOwn(OPTION_OF, p.path) ? { ...p, path: OPTION_OF[p.path] } : p,
      ),
    );
  return prepared.value;
}

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
      const now = new Date();
      const { plan } = prepareOrThrow({
        rolloutId: newRolloutId(now),
        startedBy: whoAmI(),
        fleet: loadFleet(opts.fleet),
        policy: loadPolicy(opts.policy),
        now,
      });
      if (opts.output === 'json') printJson(plan);
      else process.stdout.write(`${formatPlanTable(plan)}\n`);
    });
}
