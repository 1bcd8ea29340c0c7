import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { FAILURE } from '../domain/failures';
import { operatorRequestProblem } from '../domain/operator-messages';
import { authenticator } from './authenticate';
import {
  approveUpdate,
  cancelUpdate,
  gateDecisionSignal,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  type GateRequest,
} from './messages';
import type { RolloutState } from './rollout-state';

/**
 * The rollout's operator commands: approve, reject, pause, resume and cancel as Updates (and the UI's
 * gateDecision signal). Validators refuse only malformed or oversized requests; decisions that approvers'
 * keys must sign are authenticated first (an activity, when keys are configured); every decision is the
 * state's. `handle` makes each decision visible and answers the regions.
 */
export function handleOperatorCommands(state: RolloutState, handle: <T>(decide: () => T) => T): void {
  const now = () => new Date(Date.now()).toISOString();
  const auth = authenticator(state.input);
  const validator = {
    validator: (r: unknown) => {
      const problem = operatorRequestProblem(r);
      if (problem)
        throw ApplicationFailure.create({
          type: FAILURE.InvalidRequest,
          message: problem,
          nonRetryable: true,
        });
    },
  };
  const decideGate = async (decision: 'approve' | 'reject', r: GateRequest) => {
    const a = await auth(decision, r);
    return handle(() => state.decideGate(decision, r, now(), a));
  };

  setHandler(approveUpdate, (r) => decideGate('approve', r), validator);
  setHandler(rejectUpdate, (r) => decideGate('reject', r), validator);
  setHandler(pauseUpdate, (r) => handle(() => state.pause(r)), validator);
  setHandler(
    resumeUpdate,
    async (r) => {
      const a = r.override ? await auth('override', r) : undefined;
      return handle(() => state.resume(r, now(), a));
    },
    validator,
  );
  setHandler(
    cancelUpdate,
    async (r) => {
      const a = await auth('cancel', r);
      return handle(() => state.cancel(r, now(), a));
    },
    validator,
  );
  setHandler(gateDecisionSignal, async ({ decision, ...r }) => {
    if (!operatorRequestProblem(r)) await decideGate(decision, r);
  });
}
