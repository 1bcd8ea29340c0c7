import type { Fleet } from '../domain/fleet';
import type { Plan } from '../domain/plan';
import { planRollout } from '../domain/planner';
import type { Policy } from '../domain/policy';
import { checkRolloutStart, prepareRolloutInput, type PreStart } from '../domain/pre-start';
import type { Parsed } from '../domain/problems';
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

/** The value, or its problems as bad input (exit 2), each where the user wrote it. */
function orThrow<T>(parsed: Parsed<T>): T {
  if (parsed.ok) return parsed.value;
  throw new UsageError(
    parsed.problems.map((p) => (Object.hasOwn(OPTION_OF, p.path) ? { ...p, path: OPTION_OF[p.path] } : p)),
  );
}

/** Everything `rollout start` checks and builds before contacting the server. */
export function prepareOrThrow(args: PreStart): { plan: Plan; input: RolloutInput } {
  return orThrow(prepareRolloutInput(args));
}

/** The plan, after every check of `prepareOrThrow` (what `offpeak plan` runs), without the input. */
export function checkOrThrow(args: PreStart): Plan {
  return orThrow(checkRolloutStart(args));
}

/** The rollout's input, checked exactly as `offpeak plan` checks it (domain/pre-start.ts). */
export function prepareRollout(args: PreStart): RolloutInput {
  return prepareOrThrow(args).input;
}
