/**
 * Part of `npm run bench` (also alone: `node dist/scripts/bench-reports.js`):
 * 1. The HTML report of a 10,000-machine rollout: its size, the time to render it, and in Chromium (Debian's,
 *    headless) the time until it is drawn, the time to open a step, and whether it fits 1,280 px.
 * 2. `rollout status` of a 100,000-machine rollout with no worker: a real rollout staged and started on a
 *    fresh dev server, run by a worker until it waits at its first gate, the worker stopped; then the status
 *    as the CLI reads it (the memo, no query), timed in process and as the CLI, and the memo's size.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as pause } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { chromium } from 'playwright-core';
import { createActivities } from '../activities';
import { renderRolloutHtml } from '../client/report-html';
import { rolloutView } from '../client/rollout-view';
import { LIVE_POLLER_MS, startRollout, workflowPollers } from '../client/temporal';
import { DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import { machineCountOf } from '../domain/spec-slices';
import { projectRoot } from '../servers/binaries';
import { startDevServerOnFreePorts } from '../servers/dev-server';
import { simulatedDrivers } from '../worker/worker';
import { rolloutWorkflowId } from '../workflows/ids';
import { STATUS_MEMO_KEY } from '../workflows/messages';
import { CHROMIUM, CHROMIUM_ARGS, measurePage, syntheticReport } from './large-report';
import { syntheticRollout } from './scale-sizes';

const REPORT_MACHINES = Number(process.env.OFFPEAK_BENCH_REPORT_MACHINES ?? 10_000);
const STATUS_MACHINES = Number(process.env.OFFPEAK_BENCH_STATUS_MACHINES ?? 100_000);
const out = (line: string) => process.stdout.write(`${line}\n`);
const ms = (n: number) => `${n.toFixed(0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function htmlReport(dir: string): Promise<void> {
  out(`== HTML report at ${REPORT_MACHINES.toLocaleString('en')} machines ==`);
  const report = syntheticReport(REPORT_MACHINES);
  const t0 = performance.now();
  const page = renderRolloutHtml(report);
  const renderMs = performance.now() - t0;
  const file = join(dir, 'report.html');
  writeFileSync(file, page);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    await measurePage(browser, `file://${file}`); // warm-up: the first page of a fresh browser is slower
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await measurePage(browser, `file://${file}`));
    const failed = report.machines.filter((m) => m.outcome !== 'Succeeded').length;
    out(`machines ${report.machines.length}, attempts ${report.attempts}, failed ${failed}`);
    out(
      `file size: ${(statSync(file).size / 1e6).toFixed(2)} MB; rendered (renderRolloutHtml) in ${ms(renderMs)}`,
    );
    out(
      `Chromium, 1,280 px window: drawn after ${ms(median(runs.map((r) => r.loadMs)))} (median of 3; ` +
        `${runs.map((r) => ms(r.loadMs)).join(', ')}); a step of ${runs[0].openedMachines} machines opens in ` +
        `${ms(median(runs.map((r) => r.openStepMs)))}`,
    );
    const fits = runs.every((r) => r.scrollWidth <= r.clientWidth);
    out(
      `width: scrollWidth ${runs[0].scrollWidth} of clientWidth ${runs[0].clientWidth} (${fits ? 'fits' : 'OVERFLOWS'})`,
    );
  } finally {
    await browser.close();
  }
}

async function statusWithoutWorker(dir: string): Promise<void> {
  out(`\n== rollout status at ${STATUS_MACHINES.toLocaleString('en')} machines, no worker ==`);
  process.env.OFFPEAK_SPEC_STORE = join(dir, 'specs');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServerOnFreePorts();
  try {
    const base = syntheticRollout(STATUS_MACHINES);
    const input = {
      ...base,
      rolloutId: 'bench-status',
      // The rollout waits at a gate before its first phase: it keeps its status in its memo, and no
      // machine runs meanwhile.
      settings: { ...base.settings, approvals: { ...base.settings.approvals, beforePhases: [0] } },
    };
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: native,
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowsPath: require.resolve('../workflows'),
      activities: createActivities(simulatedDrivers(join(dir, 'state'), 0)),
    });
    const handle = client.workflow.getHandle(rolloutWorkflowId(input.rolloutId));
    await worker.runUntil(async () => {
      await startRollout(client, input);
      for (;;) {
        const memo = (await handle.describe()).memo?.[STATUS_MEMO_KEY] as { status?: string } | undefined;
        if (memo?.status === 'WaitingForApproval') return;
        await pause(200); // pacing of the bench's own poll
      }
    });
    await native.close();
    // The server lists a stopped worker for minutes; status takes it as gone once it has not polled for 90 s.
    const stopped = performance.now();
    while ((await workflowPollers(client, DEFAULT_TASK_QUEUE, LIVE_POLLER_MS)) !== 0) await pause(2000);
    out(
      `worker stopped; the server stopped counting it after ${((performance.now() - stopped) / 1000).toFixed(0)} s`,
    );

    const times: number[] = [];
    let view;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      view = await rolloutView(client, input.rolloutId);
      times.push(performance.now() - t);
    }
    const d = await handle.describe();
    const memoBytes = d.raw.workflowExecutionInfo?.memo?.fields?.[STATUS_MEMO_KEY]?.data?.length ?? 0;
    out(
      `machines ${machineCountOf(input)}, regions ${input.regions.length}; status ${view?.server.memoStatus?.status} ` +
        `from the memo (${view?.fallback})`,
    );
    out(
      `status in process (describe, pollers, memo): median ${ms(median(times))}, max ${ms(Math.max(...times))} ` +
        `of 20 (goal: under 200 ms)`,
    );
    out(`memo ${STATUS_MEMO_KEY}: ${memoBytes} bytes (counts per region and phase, never per machine)`);
    const cli = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      execFileSync(
        process.execPath,
        [join(projectRoot(), 'bin', 'offpeak.js'), 'rollout', 'status', input.rolloutId, '-o', 'json'],
        { env: { ...process.env, TEMPORAL_ADDRESS: server.address }, stdio: ['ignore', 'ignore', 'ignore'] },
      );
      cli.push(performance.now() - t);
    }
    out(`\`offpeak rollout status\` as a command (Node start-up included): median ${ms(median(cli))} of 3`);
    await connection.close();
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'offpeak-bench-reports-'));
  try {
    await htmlReport(dir);
    await statusWithoutWorker(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
