import type { Fleet } from '../domain/fleet';
import type { Plan } from '../domain/plan';
import { planRollout } from '../domain/planner';
import type { Policy } from '../domain/policy';
import { buildRolloutInput, type RolloutInput } from '../domain/rollout-spec';
import { UsageError } from './errors';

/** Plans a fleet, or says why not as bad input (exit 2). */
export function planOrThrow(fleet: Fleet, policy: Policy): Plan {
  const planned = planRollout(fleet, policy);
  if (!planned.ok)
    throw new UsageError(planned.problems.map((p) => ({ path: `policy: ${p.path}`, message: p.message })));
  return planned.value;
}

export function newRolloutId(now: Date): string {
  return `rollout-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
}

export const ROLLOUT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Everything `rollout start` does before it contacts the server: the rollout's input, or bad input. */
export function prepareRollout(args: {
  rolloutId: string;
  startedBy: string;
  fleet: Fleet;
  policy: Policy;
  now: Date;
}): RolloutInput {
  if (!ROLLOUT_ID_PATTERN.test(args.rolloutId))
    throw UsageError.of(
      '--id',
      'must start with a letter or digit and hold only letters, digits, ".", "_" or "-" (at most 100)',
    );
  const plan = planOrThrow(args.fleet, args.policy);
  return buildRolloutInput({ ...args, plan });
}
