import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { workflowUiUrl } from '../../servers/connection';
import { rolloutWorkflowId } from '../../workflows/ids';
import { withExamples } from '../command';
import { OperationError, UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { note, printJson } from '../output';
import { simulatedMarkerOf, simulatedNotice } from '../../domain/simulated';
import { statusJson, summaryTable } from '../progress';
import { renderRolloutHtml } from '../report-html';
import { keptSummary, rolloutView } from '../rollout-view';
import { FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS } from '../../domain/outcomes';
import { newRolloutId, prepareRollout } from '../prepare';
import { rolloutReport } from '../report';
import { connectClient, noWorkerWarning, startRollout } from '../temporal';
import { nextCommand, viewLines, watchRollout } from '../watch';
import { outputOption, whoAmI } from './options';
import { registerRolloutList } from './rollout-list';
import { registerSteering } from './rollout-steer';
import { summaryOf } from '../command-index';

const ID_ARGUMENT = 'the rollout ID (as `rollout start --id` set it; `offpeak rollout list` shows them)';

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description(summaryOf('rollout'));

  withExamples(
    rollout
      .command('start')
      .description(
        'Plan a fleet and start its rollout on Temporal (needs a running worker: `offpeak worker`)',
      )
      .requiredOption('--fleet <file>', 'fleet file (YAML or JSON)')
      .option('--policy <file>', 'policy file (YAML or JSON)')
      .option(
        '--id <id>',
        'rollout ID (default: rollout-<UTC timestamp>); starting the same ID twice is a no-op',
      )
      .option('--by <name>', 'who starts it (default: $USER)')
      .option('--wait', 'wait for the rollout to end and print its summary'),
    'offpeak rollout start --fleet examples/fleet.yaml --policy examples/policy-demo.yaml --id nov-2026',
    'offpeak rollout start --fleet fleet.yaml --id nov-2026 --wait',
  ).action(async (opts: { fleet: string; policy?: string; id?: string; by?: string; wait?: boolean }) => {
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
    const warning = await noWorkerWarning(client);
    if (warning) note(warning);
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

  registerSteering(rollout, ID_ARGUMENT);
  registerRolloutList(rollout);

  withExamples(
    rollout
      .command('status')
      .argument('<id>', ID_ARGUMENT)
      .description(
        "Progress per phase and region, the current gate and the errors; without a worker, the server's view",
      )
      .addOption(outputOption(['table', 'json'])),
    'offpeak rollout status nov-2026',
    'offpeak rollout status nov-2026 -o json | jq .status',
  ).action(async (id: string, opts: { output: string }) => {
    const { client } = await connectClient();
    const view = await rolloutView(client, id);
    if (view.fallback) note(`Note: ${view.fallback}; showing what the server keeps.`);
    if (opts.output === 'json') {
      // The same shape either way: the workflow's answer, or the summary it last kept in its memo.
      const kept = view.report ?? keptSummary(view.server);
      printJson(
        kept
          ? {
              ...statusJson(kept, view.failed, view),
              waiting: view.waiting ?? [],
              ...(view.fallback ? { fallback: view.fallback, server: view.server } : {}),
            }
          : {
              rolloutId: id,
              status: view.server.memoStatus?.status ?? null,
              fallback: view.fallback,
              server: view.server,
            },
      );
    } else process.stdout.write(`${viewLines(id, view).join('\n')}\n`);
  });

  withExamples(
    rollout
      .command('report')
      .argument('<id>', ID_ARGUMENT)
      .description('The full report: phases, gates, machines and their attempts')
      .addOption(outputOption(['table', 'json']))
      .option('--html <file>', 'also write a self-contained HTML page: timeline, gates, compliance charts'),
    'offpeak rollout report nov-2026 --output json > report.json',
    'offpeak rollout report nov-2026 --html nov-2026.html',
  ).action(async (id: string, opts: { output: string; html?: string }) => {
    const { client } = await connectClient();
    // Patch lists are read only for the outputs that show them (one attempt result per patched machine).
    const report = await rolloutReport(client, id, { patches: Boolean(opts.html) || opts.output === 'json' });
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

  withExamples(
    rollout
      .command('watch')
      .argument('<id>', ID_ARGUMENT)
      .description(
        'Live progress until the rollout ends or waits for a person; survives worker and server restarts',
      )
      .option('--interval <seconds>', 'seconds between polls', '2'),
    'offpeak rollout watch nov-2026',
    'offpeak rollout watch nov-2026 | tee watch.log   # plain lines when piped',
  ).action(async (id: string, opts: { interval: string }) => {
    const interval = Number(opts.interval);
    if (!(interval > 0)) throw UsageError.of('--interval', `"${opts.interval}" must be a positive number`);
    const { client, target } = await connectClient();
    const view = await watchRollout(client, id, {
      tty: Boolean(process.stdout.isTTY),
      write: (text) => process.stdout.write(text),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      intervalMs: interval * 1000,
    });
    // The last frame shows where it stands; an ended rollout also gets its closing summary.
    if (view.report && FINAL_ROLLOUT_STATUSES.has(view.report.status))
      process.stdout.write(`\n${summaryTable(await rolloutReport(client, id))}\n`);
    const url = workflowUiUrl(target.uiUrl, target.namespace, rolloutWorkflowId(id));
    if (url) process.stdout.write(`\nTemporal UI: ${url}\n`);
    process.stdout.write(`Next: ${nextCommand(view.report, id)}\n`);
  });
}
