import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { keyedApprovers } from '../domain/gates';
import type { RolloutInput } from '../domain/rollout-spec';
import { UNAUTHENTICATED, type Authentication, type SignedAction } from '../domain/signed-decision';
import type { Attribution } from './messages';

const { verifyDecision } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/**
 * How the rollout authenticates an operator's decision: when approvers have keys, the request's signature
 * is checked by an activity (node:crypto lives outside the sandbox), so the verdict is recorded in the
 * history; the rollout's state then refuses unsigned, wrong-key and replayed decisions. Without keys,
 * names are taken as given (documented as unauthenticated).
 */
export function authenticator(input: RolloutInput) {
  const approvers = keyedApprovers(input.settings.approvals);
  return async (
    action: SignedAction,
    req: Attribution & { by: string; gate?: string },
  ): Promise<Authentication> => {
    if (approvers.length === 0) return UNAUTHENTICATED;
    const { signed } = req;
    if (!signed) return { required: true };
    const verdict = await verifyDecision({
      statement: {
        rollout: input.rolloutId,
        action,
        gate: req.gate,
        by: req.by,
        at: signed.at,
        nonce: signed.nonce,
      },
      signature: signed.signature,
      approvers,
      now: Date.now(),
      startedBy: input.startedBy,
    });
    return { required: true, signed: { nonce: signed.nonce, at: signed.at, verdict } };
  };
}
