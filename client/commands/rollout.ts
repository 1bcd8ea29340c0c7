import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { operatorRequestProblem } from '../../domain/operator-messages';
import { FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS } from '../../domain/outcomes';
import { rolloutWorkflowId } from '../../workflows/ids';
import {
  approveUpdate,
  cancelUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  type Decision,
} from '../../workflows/messages';
import { workflowUiUrl } from '../../servers/connection';
import { OperationError, UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { note, printJson } from '../output';
import { newRolloutId, prepareRollout } from '../prepare';
import { progressLines, summaryTable } from '../progress';
import { rolloutReport, rolloutSummary } from '../report';
import { renderRolloutHtml } from '../report-html';
import { connectClient, startRollout } from '../temporal';
import { outputOption, whoAmI } from './options';

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('Start, steer and inspect rollouts');

  rollout
    .command('start')
    .description('Plan a fleet and start its rollout on Temporal (needs a running worker: `offpeak worker`)')
    .requiredOption('--fleet <file>', 'fleet file (YAML or JSON)')
    .option('--policy <file>', 'policy file (YAML or JSON)')
    .option(
      '--id <id>',
      'rollout ID (default: rollout-<UTC timestamp>); starting the same ID twice is a no-op',
    )
    .option('--by <name>', 'who starts it (default: $USER)')
    .option('--wait', 'wait for the rollout to end and print its summary')
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak rollout start --fleet examples/fleet.yaml --policy examples/policy-demo.yaml --id nov-2026',
    )
    .action(async (opts: { fleet: string; policy?: string; id?: string; by?: string; wait?: boolean }) => {
      const now = new Date();
      const input = prepareRollout({
        rolloutId: opts.id ?? newRolloutId(now),
        startedBy: opts.by ?? whoAmI(),
        fleet: loadFleet(opts.fleet),
        policy: loadPolicy(opts.policy),
        now,
      });
      const { client, target } = await connectClient();
      const started = await startRollout(client, input);
      note(`${started.alreadyStarted ? 'Already running' : 'Started'}: ${started.workflowId}`);
      const url = workflowUiUrl(target.uiUrl, target.namespace, started.workflowId);
      if (url) note(`Temporal UI: ${url}`);
      process.stdout.write(`${input.rolloutId}\n`);
      if (opts.wait) {
        await client.workflow.getHandle(started.workflowId).result();
        const report = await rolloutReport(client, input.rolloutId);
        for (const line of report.notes ?? []) note(`Note: ${line}`);
        note(summaryTable(report));
        if (report.status !== ROLLOUT_STATUS.Completed)
          throw new OperationError(`rollout ended ${report.status}: ${report.reason ?? ''}`);
      }
    });

  /**
   * An operator command: an Update the rollout answers at once, accepted or refused with the reason. The
   * request is checked as the rollout's validator checks it (domain/operator-messages.ts) before anything
   * is contacted.
   */
  const operatorCommand = <Req>(
    name: string,
    description: string,
    configure: (c: Command) => Command,
    update: UpdateDefinition<Decision, [Req]>,
    request: (opts: Record<string, string | boolean | undefined>) => Req,
  ) =>
    configure(rollout.command(`${name} <id>`).description(description)).action(
      async (id: string, opts: Record<string, string | boolean | undefined>) => {
        const req = request(opts);
        const problem = operatorRequestProblem(req);
        if (problem)
          throw UsageError.of(problem.split(':')[0], problem.slice(problem.indexOf(':') + 1).trim());
        const { client } = await connectClient();
        const summary = await rolloutSummary(client, id); // a clear error for an unknown ID first
        if (FINAL_ROLLOUT_STATUSES.has(summary.status))
          throw new OperationError(`rollout ${id} has already ended (${summary.status}); nothing to ${name}`);
        let decision: Decision;
        try {
          decision = await client.workflow
            .getHandle(rolloutWorkflowId(id))
            .executeUpdate(update, { args: [req] });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new OperationError(`rollout ${id} ended before the ${name} arrived`);
          // The rollout's validator refused a malformed request: nothing was recorded.
          if (err instanceof WorkflowUpdateFailedError)
            throw UsageError.of(name, (err.cause as Error | undefined)?.message ?? err.message);
          throw err;
        }
        if (!decision.accepted) throw new OperationError(`${name} refused: ${decision.reason ?? ''}`);
        note(`${name}: accepted by ${rolloutWorkflowId(id)}; see \`offpeak rollout status ${id}\``);
      },
    );
  const byOption = (c: Command) => c.option('--by <name>', 'who decides (default: $USER)');
  const text = (o: Record<string, string | boolean | undefined>, key: string) =>
    o[key] === undefined ? undefined : String(o[key]);
  const by = (o: Record<string, string | boolean | undefined>) => String(o.by ?? whoAmI());

  for (const [decision, update] of [
    ['approve', approveUpdate],
    ['reject', rejectUpdate],
  ] as const)
    operatorCommand(
      decision,
      `${decision === 'approve' ? 'Approve' : 'Reject'} a gate (e.g. phase-1)`,
      (c) =>
        byOption(c)
          .requiredOption('--gate <gate>', 'gate name, e.g. phase-1')
          .option('--comment <text>', 'comment recorded with the decision'),
      update,
      (o) => ({ gate: String(o.gate), by: by(o), comment: text(o, 'comment') }),
    );
  operatorCommand(
    'pause',
    'Pause: no new step starts; running machines finish',
    (c) => byOption(c).option('--reason <text>', 'why, recorded with the pause'),
    pauseUpdate,
    (o) => ({ by: by(o), reason: text(o, 'reason') }),
  );
  operatorCommand(
    'resume',
    'Resume a paused rollout; a halted one needs --override',
    (c) =>
      byOption(c)
        .option('--override', 'resume past a halt (recorded; the errors so far are forgiven)')
        .option('--comment <text>', 'comment recorded with the override'),
    resumeUpdate,
    (o) => ({ by: by(o), override: Boolean(o.override), comment: text(o, 'comment') }),
  );
  operatorCommand(
    'cancel',
    'Cancel the rollout: machines not yet started are skipped; it ends Canceled',
    (c) => byOption(c).option('--reason <text>', 'why, recorded with the cancel'),
    cancelUpdate,
    (o) => ({ by: by(o), reason: text(o, 'reason') }),
  );

  rollout
    .command('status <id>')
    .description('Progress per phase and region, the current gate and the errors')
    .addOption(outputOption(['table', 'json']))
    .action(async (id: string, opts: { output: string }) => {
      const { client } = await connectClient();
      const summary = await rolloutSummary(client, id);
      if (opts.output === 'json') printJson(summary);
      else process.stdout.write(`${progressLines(summary).join('\n')}\n`);
    });

  rollout
    .command('report <id>')
    .description('The full report: phases, gates, machines and their attempts')
    .addOption(outputOption(['table', 'json']))
    .option('--html <file>', 'also write a self-contained HTML page: timeline, gates, compliance charts')
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak rollout report nov-2026 --output json > report.json\n  $ offpeak rollout report nov-2026 --html nov-2026.html',
    )
    .action(async (id: string, opts: { output: string; html?: string }) => {
      const { client } = await connectClient();
      // Patch lists are read only for the outputs that show them (one attempt result per patched machine).
      const report = await rolloutReport(client, id, {
        patches: Boolean(opts.html) || opts.output === 'json',
      });
      // What could not be read (a slice missing from this machine's spec store, lagging visibility).
      for (const line of report.notes ?? []) note(`Note: ${line}`);
      if (opts.html) {
        try {
          writeFileSync(opts.html, renderRolloutHtml(report));
        } catch (err) {
          throw new OperationError(`cannot write ${opts.html}: ${(err as Error).message}`);
        }
        note(`Wrote the HTML report to ${opts.html}`);
      }
      if (opts.output === 'json') printJson(report);
      else process.stdout.write(`${summaryTable(report)}\n`);
    });

  rollout
    .command('watch <id>')
    .description('Live progress until the rollout ends')
    .action(async (id: string) => {
      const { client } = await connectClient();
      for (;;) {
        const summary = await rolloutSummary(client, id);
        note(progressLines(summary).join('\n'));
        if (FINAL_ROLLOUT_STATUSES.has(summary.status)) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
}
