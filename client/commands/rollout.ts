import { writeFileSync } from 'node:fs';
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
import type { GateRecord } from '../../workflows/rollout-state';
import { workflowUiUrl } from '../../servers/connection';
import { OperationError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { note, printJson } from '../output';
import { simulatedMarkerOf, simulatedNotice } from '../../domain/simulated';
import { progressLines, summaryTable } from '../progress';
import { renderRolloutHtml } from '../report-html';
import { connectClient, newRolloutId, prepareRollout, rolloutReport, startRollout } from '../temporal';
import { outputOption, whoAmI } from './options';

const FINAL = new Set(['Completed', 'Rejected', 'Aborted']);

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
      const fleet = loadFleet(opts.fleet);
      const input = prepareRollout({
        rolloutId: opts.id ?? newRolloutId(now),
        startedBy: opts.by ?? whoAmI(),
        fleet,
        policy: loadPolicy(opts.policy),
        now,
      });
      const simulated = simulatedMarkerOf(fleet, input);
      const { client, target } = await connectClient();
      const started = await startRollout(client, input, { simulated });
      const notice = simulatedNotice(simulated);
      if (notice) note(notice);
      note(`${started.alreadyStarted ? 'Already running' : 'Started'}: ${started.workflowId}`);
      const url = workflowUiUrl(target.uiUrl, target.namespace, started.workflowId);
      if (url) note(`Temporal UI: ${url}`);
      process.stdout.write(`${input.rolloutId}\n`);
      if (opts.wait) {
        await client.workflow.getHandle(started.workflowId).result();
        const report = await rolloutReport(client, input.rolloutId, { machines: true });
        for (const line of report.notes ?? []) note(`Note: ${line}`);
        note(summaryTable(report));
        if (report.status !== 'Completed')
          throw new OperationError(`rollout ended ${report.status}: ${report.reason ?? ''}`);
      }
    });

  const signalCommand = (
    name: string,
    description: string,
    configure: (c: Command) => Command,
    send: (handle: WorkflowHandle, opts: Record<string, string | boolean | undefined>) => Promise<void>,
  ) =>
    configure(rollout.command(`${name} <id>`).description(description)).action(
      async (id: string, opts: Record<string, string | boolean | undefined>) => {
        const { client } = await connectClient();
        const report = await rolloutReport(client, id); // a clear error for an unknown ID before signalling
        if (FINAL.has(report.status))
          throw new OperationError(`rollout ${id} has already ended (${report.status}); nothing to ${name}`);
        try {
          await send(client.workflow.getHandle(rolloutWorkflowId(id)), opts);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new OperationError(`rollout ${id} ended before the ${name} arrived`);
          throw err;
        }
        note(`${name}: sent to ${rolloutWorkflowId(id)}; see \`offpeak rollout status ${id}\``);
      },
    );

  for (const decision of ['approve', 'reject'] as const)
    signalCommand(
      decision,
      `${decision === 'approve' ? 'Approve' : 'Reject'} a gate (e.g. phase-1)`,
      (c) =>
        c
          .requiredOption('--gate <gate>', 'gate name, e.g. phase-1')
          .option('--by <name>', 'who decides (default: $USER)')
          .option('--comment <text>', 'comment recorded with the decision'),
      async (h, o) => {
        const before = (await h.query(statusQuery)).gates.length;
        const by = String(o.by ?? whoAmI());
        await h.signal(gateDecisionSignal, {
          gate: String(o.gate),
          decision,
          by,
          comment: o.comment as string | undefined,
        });
        // The rollout records every decision, refused ones with the reason: report which it was.
        const recorded = await decisionRecorded(h, before, by);
        if (recorded?.decision === 'refused')
          throw new OperationError(`${decision} refused: ${recorded.comment ?? ''}`);
      },
    );
  signalCommand(
    'pause',
    'Pause: no new step starts; running machines finish',
    (c) => c.option('--by <name>').option('--reason <text>'),
    (h, o) => h.signal(pauseSignal, { by: String(o.by ?? whoAmI()), reason: o.reason as string | undefined }),
  );
  signalCommand(
    'resume',
    'Resume a paused rollout; a halted one needs --override',
    (c) =>
      c
        .option('--by <name>')
        .option('--override', 'resume past a halt (recorded)')
        .option('--comment <text>'),
    async (h, o) => {
      const status = await h.query(statusQuery);
      const by = String(o.by ?? whoAmI());
      await h.signal(resumeSignal, {
        by,
        override: Boolean(o.override),
        comment: o.comment as string | undefined,
      });
      if (status.status !== 'Halted') return;
      // Resuming a halt is a decision the rollout records (refused without --override or by an outsider).
      const recorded = await decisionRecorded(h, status.gates.length, by);
      if (recorded?.decision === 'refused')
        throw new OperationError(`resume refused: ${recorded.comment ?? ''}`);
    },
  );
  signalCommand(
    'cancel',
    'Abort the rollout: machines not yet started are skipped',
    (c) => c.option('--by <name>').option('--reason <text>'),
    (h, o) =>
      h.signal(cancelSignal, { by: String(o.by ?? whoAmI()), reason: o.reason as string | undefined }),
  );

  rollout
    .command('status <id>')
    .description('Progress per phase and region, the current gate and the errors')
    .addOption(outputOption(['table', 'json']))
    .action(async (id: string, opts: { output: string }) => {
      const { client } = await connectClient();
      const report = await rolloutReport(client, id);
      if (opts.output === 'json') printJson({ ...report, machines: undefined });
      else process.stdout.write(`${progressLines(report).join('\n')}\n`);
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
      const report = await rolloutReport(client, id, { machines: true });
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
        const report = await rolloutReport(client, id);
        note(progressLines(report).join('\n'));
        if (FINAL.has(report.status)) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
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
