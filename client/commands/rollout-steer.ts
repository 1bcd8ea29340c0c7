import type { Command } from 'commander';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { rolloutWorkflowId } from '../../workflows/ids';
import {
  cancelSignal,
  gateDecisionSignal,
  pauseSignal,
  resumeSignal,
  statusQuery,
} from '../../workflows/rollout';
import type { GateRecord, RolloutReport } from '../../workflows/rollout-state';
import { withExamples } from '../command';
import { OperationError } from '../errors';
import { note } from '../output';
import { rolloutView } from '../rollout-view';
import { connectClient } from '../temporal';
import { FINAL_STATUSES } from '../watch';
import { whoAmI } from './options';

type Opts = Record<string, string | boolean | undefined>;
/** Sends one operator command; `report` is the rollout's status, when a worker answered for it. */
type Send = (handle: WorkflowHandle, opts: Opts, report: RolloutReport | undefined) => Promise<void>;

const BY = 'who (default: $USER), recorded with the decision';

/** approve, reject, pause, resume, cancel: each checks that the rollout exists and still runs first. */
export function registerSteering(rollout: Command, idArgument: string): void {
  const steer = (name: string, description: string, configure: (c: Command) => Command, send: Send) =>
    configure(rollout.command(name).argument('<id>', idArgument).description(description)).action(
      async (id: string, opts: Opts) => {
        const { client } = await connectClient();
        const view = await rolloutView(client, id); // a clear error for an unknown ID before signalling
        const status = view.report?.status ?? view.server.execution;
        if (FINAL_STATUSES.has(status) || view.server.execution !== 'RUNNING')
          throw new OperationError(`rollout ${id} has already ended (${status}); nothing to ${name}`);
        try {
          await send(client.workflow.getHandle(rolloutWorkflowId(id)), opts, view.report);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new OperationError(`rollout ${id} ended before the ${name} arrived`);
          throw err;
        }
        note(`${name}: sent to ${rolloutWorkflowId(id)}; see \`offpeak rollout status ${id}\``);
        if (view.fallback)
          note(`Note: ${view.fallback}: the rollout acts on it once a worker runs (\`offpeak worker\`).`);
      },
    );

  for (const decision of ['approve', 'reject'] as const)
    steer(
      decision,
      `${decision === 'approve' ? 'Approve' : 'Reject'} a gate (e.g. phase-1)`,
      (c) =>
        withExamples(
          c
            .requiredOption('--gate <gate>', 'gate name, as `rollout status` shows it, e.g. phase-1')
            .option('--by <name>', BY)
            .option('--comment <text>', 'comment recorded with the decision'),
          `offpeak rollout ${decision} nov-2026 --gate phase-1 --comment "${decision === 'approve' ? 'canary looks healthy' : 'errors in canary'}"`,
        ),
      async (h, o, report) => {
        const by = String(o.by ?? whoAmI());
        await h.signal(gateDecisionSignal, {
          gate: String(o.gate),
          decision,
          by,
          comment: o.comment as string | undefined,
        });
        if (!report) return;
        // The rollout records every decision, refused ones with the reason: report which it was.
        const recorded = await decisionRecorded(h, report.gates.length, by);
        if (recorded?.decision === 'refused')
          throw new OperationError(`${decision} refused: ${recorded.comment ?? ''}`);
      },
    );
  steer(
    'pause',
    'Pause: no new step starts; running machines finish',
    (c) =>
      withExamples(
        c.option('--by <name>', BY).option('--reason <text>', 'why, shown in the status and the history'),
        'offpeak rollout pause nov-2026 --reason "change freeze until 18:00"',
      ),
    (h, o) => h.signal(pauseSignal, { by: String(o.by ?? whoAmI()), reason: o.reason as string | undefined }),
  );
  steer(
    'resume',
    'Resume a paused rollout; a halted one needs --override',
    (c) =>
      withExamples(
        c
          .option('--by <name>', BY)
          .option('--override', 'resume past a halt (recorded)')
          .option('--comment <text>', 'comment recorded with the resume'),
        'offpeak rollout resume nov-2026',
        'offpeak rollout resume nov-2026 --override --comment "failures were a flaky health probe"',
      ),
    async (h, o, report) => {
      const by = String(o.by ?? whoAmI());
      await h.signal(resumeSignal, {
        by,
        override: Boolean(o.override),
        comment: o.comment as string | undefined,
      });
      if (report?.status !== 'Halted') return;
      // Resuming a halt is a decision the rollout records (refused without --override or by an outsider).
      const recorded = await decisionRecorded(h, report.gates.length, by);
      if (recorded?.decision === 'refused')
        throw new OperationError(`resume refused: ${recorded.comment ?? ''}`);
    },
  );
  steer(
    'cancel',
    'Cancel the rollout: machines not yet started are skipped, running ones finish',
    (c) =>
      withExamples(
        c.option('--by <name>', BY).option('--reason <text>', 'why, shown in the status and the history'),
        'offpeak rollout cancel nov-2026 --reason "wrong fleet file"',
      ),
    (h, o) =>
      h.signal(cancelSignal, { by: String(o.by ?? whoAmI()), reason: o.reason as string | undefined }),
  );
}

/** Waits (bounded) for the rollout to record a decision by `by` after the first `before` gate records. */
async function decisionRecorded(
  handle: WorkflowHandle,
  before: number,
  by: string,
): Promise<GateRecord | undefined> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const gates = (await handle.query(statusQuery)).gates.slice(before);
    const mine = gates.find((g) => g.by === by);
    if (mine) return mine;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}
