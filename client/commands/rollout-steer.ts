import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { operatorRequestProblem } from '../../domain/operator-messages';
import type { SignedAction } from '../../domain/signed-decision';
import { FINAL_ROLLOUT_STATUSES, type RolloutStatus } from '../../domain/outcomes';
import { rolloutWorkflowId } from '../../workflows/ids';
import {
  approveUpdate,
  cancelUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  type Attribution,
  type Decision,
} from '../../workflows/messages';
import { withExamples } from '../command';
import { OperationError, UsageError } from '../errors';
import { note } from '../output';
import { rolloutView, shortReason } from '../rollout-view';
import { signDecision } from '../sign';
import { connectClient } from '../temporal';
import { whoAmI } from './options';

type Opts = Record<string, string | boolean | undefined>;

const BY = 'who (default: $USER), recorded with the decision';
/** How long a command waits for the rollout's answer: an Update needs a worker to run it. */
const ANSWER_TIMEOUT_MS = 15_000;

/**
 * approve, reject, pause, resume, cancel: each an Update the rollout answers at once, accepted or refused
 * with the reason (recorded in its history either way). The request is checked first as the rollout's
 * validator checks it (domain/operator-messages.ts), then that the rollout exists and still runs.
 */
export function registerSteering(rollout: Command, idArgument: string): void {
  const steer = <Req extends Attribution & { by: string; gate?: string; override?: boolean }>(
    name: string,
    description: string,
    configure: (c: Command) => Command,
    update: UpdateDefinition<Decision, [Req]>,
    request: (opts: Opts) => Req,
  ) =>
    configure(rollout.command(name).argument('<id>', idArgument).description(description)).action(
      async (id: string, opts: Opts) => {
        const req = request(opts);
        const problem = operatorRequestProblem(req);
        if (problem) {
          const at = problem.indexOf(':');
          throw UsageError.of(problem.slice(0, at), problem.slice(at + 1).trim());
        }
        checkSigning(name, req, opts); // before connecting: a bad key path needs no server to be named
        const { client } = await connectClient();
        const view = await rolloutView(client, id); // a clear error for an unknown ID first
        const status = view.report?.status ?? view.server.execution;
        if (FINAL_ROLLOUT_STATUSES.has(status as RolloutStatus) || view.server.execution !== 'RUNNING')
          throw new OperationError(`rollout ${id} has already ended (${status}); nothing to ${name}`);
        const attributed = await attribute(id, name, req, opts, client.options.identity);
        let decision: Decision;
        try {
          decision = await client.connection.withDeadline(Date.now() + ANSWER_TIMEOUT_MS, () =>
            client.workflow.getHandle(rolloutWorkflowId(id)).executeUpdate(update, { args: [attributed] }),
          );
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new OperationError(`rollout ${id} ended before the ${name} arrived`);
          // The rollout's validator refused a malformed request: nothing was recorded.
          if (err instanceof WorkflowUpdateFailedError)
            throw UsageError.of(name, (err.cause as Error | undefined)?.message ?? err.message);
          // An unanswered Update is not a lost one: the server keeps it for the rollout's next workflow task
          // (unless it restarts first), so a worker that starts later still applies it. Sending it again
          // would be a second request.
          throw new OperationError(
            `${name}: the rollout did not answer (${shortReason(err, ANSWER_TIMEOUT_MS)}); Temporal may still deliver it when a worker runs the rollout, which then decides it: start a worker (\`offpeak worker\`) and check \`offpeak rollout status ${id}\` before sending it again`,
          );
        }
        if (!decision.accepted) throw new OperationError(`${name} refused: ${decision.reason ?? ''}`);
        note(`${name}: accepted by ${rolloutWorkflowId(id)}; see \`offpeak rollout status ${id}\``);
      },
    );
  const by = (o: Opts) => String(o.by ?? whoAmI());
  const SIGN = [
    '--sign-with <path>',
    'sign the decision with this OpenSSH key (a private key, or a public key whose private half ssh-agent holds); required when approvers have keys',
  ] as const;
  const text = (o: Opts, key: string) => (o[key] === undefined ? undefined : String(o[key]));

  for (const [decision, update] of [
    ['approve', approveUpdate],
    ['reject', rejectUpdate],
  ] as const)
    steer(
      decision,
      `${decision === 'approve' ? 'Approve' : 'Reject'} a gate (e.g. phase-1)`,
      (c) =>
        withExamples(
          c
            .requiredOption('--gate <gate>', 'gate name, as `rollout status` shows it, e.g. phase-1')
            .option('--by <name>', BY)
            .option('--comment <text>', 'comment recorded with the decision')
            .option(...SIGN),
          `offpeak rollout ${decision} nov-2026 --gate phase-1 --comment "${decision === 'approve' ? 'canary looks healthy' : 'errors in canary'}"`,
          `offpeak rollout ${decision} nov-2026 --gate phase-1 --by alice --sign-with ~/.ssh/id_ed25519`,
        ),
      update,
      (o) => ({ gate: String(o.gate), by: by(o), comment: text(o, 'comment') }),
    );
  steer(
    'pause',
    'Pause: no new step starts; running machines finish',
    (c) =>
      withExamples(
        c.option('--by <name>', BY).option('--reason <text>', 'why, shown in the status and the history'),
        'offpeak rollout pause nov-2026 --reason "change freeze until 18:00"',
      ),
    pauseUpdate,
    (o) => ({ by: by(o), reason: text(o, 'reason') }),
  );
  steer(
    'resume',
    'Resume a paused rollout; a halted one needs --override',
    (c) =>
      withExamples(
        c
          .option('--by <name>', BY)
          .option('--override', 'resume past a halt (recorded; the errors so far are forgiven)')
          .option('--comment <text>', 'comment recorded with the resume')
          .option(...SIGN),
        'offpeak rollout resume nov-2026',
        'offpeak rollout resume nov-2026 --override --comment "failures were a flaky health probe"',
      ),
    resumeUpdate,
    (o) => ({ by: by(o), override: Boolean(o.override), comment: text(o, 'comment') }),
  );
  steer(
    'cancel',
    'Cancel the rollout: machines not yet started are skipped, running ones finish; it ends Canceled',
    (c) =>
      withExamples(
        c
          .option('--by <name>', BY)
          .option('--reason <text>', 'why, shown in the status and the history')
          .option(...SIGN),
        'offpeak rollout cancel nov-2026 --reason "wrong fleet file"',
        'offpeak rollout cancel nov-2026 --by alice --sign-with ~/.ssh/id_ed25519',
      ),
    cancelUpdate,
    (o) => ({ by: by(o), reason: text(o, 'reason') }),
  );
}

/** Which signed action a command is, if any: pause needs no signature (stopping is always safe). */
function signedActionOf(name: string, req: { override?: boolean }): SignedAction | undefined {
  if (name === 'approve' || name === 'reject' || name === 'cancel') return name;
  if (name === 'resume' && req.override) return 'override';
  return undefined;
}

/** The signed action `--sign-with` asks for, if any; a usage error when it cannot be signed. */
function checkSigning(name: string, req: { override?: boolean }, opts: Opts): SignedAction | undefined {
  if (opts.signWith === undefined) return undefined;
  const action = signedActionOf(name, req);
  if (!action) throw UsageError.of('--sign-with', `${name} is not a decision that is signed`);
  const keyPath = String(opts.signWith);
  if (!existsSync(keyPath)) throw UsageError.of('--sign-with', `no such file: ${keyPath}`);
  return action;
}

/** Adds the caller's client identity and, with `--sign-with`, the signature over the decision. */
async function attribute<Req extends Attribution & { by: string; gate?: string; override?: boolean }>(
  rollout: string,
  name: string,
  req: Req,
  opts: Opts,
  identity: string,
): Promise<Req> {
  const out: Req = { ...req, identity };
  const action = checkSigning(name, req, opts);
  if (!action) return out;
  return {
    ...out,
    signed: await signDecision({ rollout, action, gate: req.gate, by: req.by }, String(opts.signWith)),
  };
}
