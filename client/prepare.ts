import type { Fleet } from '../domain/fleet';
import type { Plan } from '../domain/plan';
import { planRollout } from '../domain/planner';
import type { Policy } from '../domain/policy';
import { prepareRolloutInput, type PreStart } from '../domain/pre-start';
import type { RolloutInput } from '../domain/rollout-spec';
import { UsageError } from './errors';

export { newRolloutId, ROLLOUT_ID_PATTERN } from '../domain/pre-start';

/** Plans a fleet, or says why not as bad input (exit 2). */
export function planOrThrow(fleet: Fleet, policy: Policy): Plan {
  const planned = planRollout(fleet, policy);
  if (!planned.ok)
    throw new UsageError(planned.problems.map((p) => ({ path: `policy: ${p.path}`, message: p.message })));
  return planned.value;
}

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

/** The rollout's input, checked exactly as `offpeak plan` checks it (domain/pre-start.ts). */
export function prepareRollout(args: PreStart): RolloutInput {
  return prepareOrThrow(args).input;
}
