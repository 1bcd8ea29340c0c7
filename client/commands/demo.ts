import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { createInterface } from 'node:readline/promises';
import { readLedger } from '../../activities/drivers/simulated';
import { simulatedMarkerOf } from '../../domain/simulated';
import { approverName } from '../../domain/gates';
import { offpeakHome, projectRoot } from '../../servers/binaries';
import { resolveTemporal, workflowUiUrl } from '../../servers/connection';
import { connectWorker, createWorker, simulatedDrivers } from '../../worker/worker';
import { createLogger, installRuntimeLogger } from '../../worker/logger';
import { rolloutWorkflowId } from '../../workflows/ids';
import { FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS } from '../../domain/outcomes';
import {
  approveUpdate,
  rejectUpdate,
  type RolloutReport,
  type RolloutSummary,
} from '../../workflows/messages';
import { loadFleet, loadPolicy } from '../input';
import { note } from '../output';
import { progressLines, summaryTable } from '../progress';
import { connectClient, startRollout } from '../temporal';
import { newRolloutId, prepareRollout } from '../prepare';
import { rolloutReport, rolloutSummary } from '../report';
import { OperationError } from '../errors';
import { whoAmI } from './options';
import { machineCountOf } from '../../domain/spec-slices';
import { summaryOf } from '../command-index';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(summaryOf('demo'))
    .option('--fleet <file>', 'fleet file', join(projectRoot(), 'examples', 'fleet.yaml'))
    .option('--policy <file>', 'policy file', join(projectRoot(), 'examples', 'policy-demo.yaml'))
    .option('--interactive', 'ask before approving each gate instead of approving automatically')
    .option('--time-scale <n>', 'simulated durations multiplied by this', '0.01')
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak demo\n  $ offpeak demo --interactive   # you approve each gate',
    )
    .action(async (opts: { fleet: string; policy: string; interactive?: boolean; timeScale: string }) => {
      const fleet = loadFleet(opts.fleet);
      const policy = loadPolicy(opts.policy);
      const now = new Date();
      const input = prepareRollout({
        rolloutId: `demo-${newRolloutId(now).slice('rollout-'.length)}`,
        startedBy: whoAmI(),
        fleet,
        policy,
        now,
      });

      // The worker's log (pino JSON) goes to a file, so the terminal shows the progress; failures of the
      // fleet's deliberately faulty machines are logged there as warnings.
      const logFile = join(offpeakHome(), 'logs', `${input.rolloutId}.log`);
      mkdirSync(dirname(logFile), { recursive: true });
      const logger = createLogger({
        level: process.env.OFFPEAK_LOG_LEVEL ?? 'info',
        destination: pino.destination({ dest: logFile, sync: false }),
      });
      installRuntimeLogger(logger);
      note(`Worker log: ${logFile}`);
      const target = await resolveTemporal({ embedded: true, log: note });
      const stateDir = join(offpeakHome(), 'simulator', input.rolloutId);
      const connection = await connectWorker(target.connectionOptions);
      const worker = await createWorker({
        connection,
        namespace: target.namespace,
        drivers: simulatedDrivers(stateDir, Number(opts.timeScale)),
      });
      const { client } = await connectClient(target);
      const workflowId = rolloutWorkflowId(input.rolloutId);
      const url = workflowUiUrl(target.uiUrl, target.namespace, workflowId);

      let summary: RolloutSummary | undefined;
      await worker.runUntil(async () => {
        await startRollout(client, input, { simulated: simulatedMarkerOf(fleet, input) });
        note(
          `Started rollout ${input.rolloutId}: ${machineCountOf(input)} machines in ${input.phases.length} phases.`,
        );
        if (url) note(`Temporal UI: ${url}`);
        const answered = new Set<string>();
        for (;;) {
          summary = await rolloutSummary(client, input.rolloutId);
          if (process.stderr.isTTY) process.stderr.write('\x1b[2J\x1b[H');
          note(progressLines(summary).join('\n'));
          if (FINAL_ROLLOUT_STATUSES.has(summary.status)) break;
          if (summary.openGate && !answered.has(summary.openGate)) {
            answered.add(summary.openGate);
            await decideGate(
              client.workflow.getHandle(workflowId),
              summary.openGate,
              policy.approvals.approvers.map(approverName),
              opts.interactive,
            );
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
      if (!summary) throw new OperationError('the demo rollout did not report');
      const report = await rolloutReport(client, input.rolloutId);
      await connection.close();

      note('');
      note(summaryTable(report));
      note('');
      note(await ledgerCheck(report, stateDir));
      if (url)
        note(
          `\nInspect it in the Temporal UI: ${url}\n(after the demo, \`npx offpeak dev-server\` brings the UI back with this rollout)`,
        );
      await target.devServer?.stop();
      if (report.status !== ROLLOUT_STATUS.Completed)
        throw new OperationError(`the demo rollout ended ${report.status}: ${report.reason ?? ''}`);
    });
}

async function decideGate(
  handle: WorkflowHandle,
  gate: string,
  approvers: string[],
  interactive?: boolean,
): Promise<void> {
  const by = approvers[0] ?? 'demo';
  let approve = true;
  if (interactive) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Approve gate ${gate} as ${by}? [Y/n] `);
    rl.close();
    approve = !/^n/i.test(answer.trim());
  } else {
    note(
      `Gate ${gate}: approved automatically as "${by}" (run the demo with --interactive to decide yourself).`,
    );
  }
  const decision = await handle.executeUpdate(approve ? approveUpdate : rejectUpdate, {
    args: [{ gate, by, comment: interactive ? 'decided in the demo' : 'auto-approved by the demo' }],
  });
  if (!decision.accepted) throw new OperationError(`gate ${gate}: ${decision.reason ?? 'refused'}`);
}

/** The evidence: the simulated driver's ledger must agree with the rollout's report. */
async function ledgerCheck(report: RolloutReport, stateDir: string): Promise<string> {
  // Only this rollout's operations: a worker on a shared dev server may also run other rollouts' steps.
  const ledger = (await readLedger(stateDir)).filter((e) => e.operation === report.rolloutId);
  const installedBy = new Set(ledger.filter((e) => e.kind === 'install').map((e) => e.machine));
  const rebootsBy = new Map<string, number>();
  for (const e of ledger)
    if (e.kind === 'reboot') rebootsBy.set(e.machine, (rebootsBy.get(e.machine) ?? 0) + 1);
  const reportRebooted = report.machines.filter((m) => m.rebooted).map((m) => m.name);
  const reportInstalled = report.machines.filter((m) => m.installed > 0).map((m) => m.name);
  const agree =
    reportRebooted.length === rebootsBy.size &&
    reportRebooted.every((n) => rebootsBy.has(n)) &&
    reportInstalled.every((n) => installedBy.has(n));
  const twice = [...rebootsBy.entries()].filter(
    ([name, n]) => n > (report.machines.find((m) => m.name === name)?.attempts.length ?? 1),
  );
  return agree && twice.length === 0
    ? `Ledger agrees with the report: ${installedBy.size} machines patched, ${rebootsBy.size} rebooted, none twice in one attempt.`
    : `LEDGER DISAGREES with the report: ledger patched ${installedBy.size}, rebooted ${rebootsBy.size}; report rebooted ${reportRebooted.length}.`;
}
