import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createActivities } from '../../activities';
import { prepareRollout } from '../../client/prepare';
import { startRollout } from '../../client/temporal';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import type { DevServer } from '../../servers/dev-server';
import { simulatedDrivers } from '../../worker/worker';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';
import { rolloutReport } from '../../client/report';
import { renderRolloutHtml } from '../../client/report-html';
import { CHROMIUM, CHROMIUM_ARGS, measurePage, syntheticReport } from '../../scripts/large-report';
import { gateDecisionSignal, statusQuery } from '../../workflows/messages';
import type { RolloutReport } from '../../workflows/messages';
import { fleetOf, policyOf, tempDir } from '../support/rollouts';
import { waitUntil } from '../support/workflow-harness';
import { testDevServer, testWorkflowBundle } from '../support/servers';

/**
 * The Temporal UI and the HTML report, checked in a real browser: Debian's Chromium driven by
 * playwright-core (no browser download). A small rollout runs to completion on a real dev server; then
 * the UI must show it, its region and machine children and their summaries, and the report must render
 * one bar per attempt with a hostile gate comment left inert. Screenshots go to test-results/.
 */

jest.setTimeout(180_000);

const root = join(__dirname, '..', '..');
const results = join(root, 'test-results');
const ROLLOUT = 'e2e-browser';
const HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">canary ok';

const fleet = {
  machines: [
    { name: 'e1', region: 'eastus', zone: '1' },
    { name: 'e2', region: 'eastus', zone: '2' },
    { name: 'w1', region: 'westus', availabilitySet: 'web', updateDomain: 0 },
    { name: 'w2', region: 'westus', availabilitySet: 'web', updateDomain: 1 },
    { name: 'w3', region: 'westus', simulation: { pendingPatches: 1 } },
  ].map((m) => ({ os: 'Linux', patchMode: 'AutomaticByPlatform', ...m })),
};
const policy = { windows: 'always', approvals: { beforePhases: [1], approvers: ['alice'] } };
/** A second rollout whose canary's install fails: it halts (and stays halted) on its first error. */
const HALTED = 'e2e-browser-halt';
const haltingFleet = {
  machines: [
    { name: 'h1', region: 'eastus', zone: '1', simulation: { failInstall: true } },
    { name: 'h2', region: 'eastus', zone: '2' },
  ].map((m) => ({ os: 'Linux', patchMode: 'AutomaticByPlatform', ...m })),
};

let server: DevServer;
let browser: Browser;
let report: RolloutReport;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: this test drives a real browser and is never skipped. ` +
        'Install it with `apt-get install -y chromium` (Debian).',
    );
  mkdirSync(results, { recursive: true });
  server = await testDevServer();
  report = await runRollout(server);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Runs the rollout with an in-process worker, approving its gate with a hostile comment. */
async function runRollout(dev: DevServer): Promise<RolloutReport> {
  const input = prepareRollout({
    rolloutId: ROLLOUT,
    startedBy: 'tester',
    fleet: fleetOf(fleet),
    policy: policyOf(policy),
    now: new Date(),
  });
  const nativeConnection = await NativeConnection.connect({ address: dev.address });
  const connection = await Connection.connect({ address: dev.address });
  const client = new Client({ connection, namespace: dev.namespace });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: dev.namespace,
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowBundle: testWorkflowBundle(),
      activities: createActivities(simulatedDrivers(tempDir('browser'), 0)),
    });
    return await worker.runUntil(async () => {
      await startRollout(client, input);
      const handle = client.workflow.getHandle(rolloutWorkflowId(ROLLOUT));
      // Synchronise on the rollout's own state: approve once the gate is open.
      while ((await handle.query(statusQuery)).openGate !== 'phase-1') await delay(200); // poll pacing only
      await handle.signal(gateDecisionSignal, {
        gate: 'phase-1',
        decision: 'approve',
        by: 'alice',
        comment: HOSTILE,
      });
      await handle.result();
      // The second rollout: started once the first is done, left halted on its canary's failure.
      await startRollout(
        client,
        prepareRollout({
          rolloutId: HALTED,
          startedBy: 'tester',
          fleet: fleetOf(haltingFleet),
          policy: policyOf({ windows: 'always', errorBudget: 0, maxAttempts: 1 }),
          now: new Date(),
        }),
      );
      const halted = client.workflow.getHandle(rolloutWorkflowId(HALTED));
      while ((await halted.query(statusQuery)).status !== 'Halted') await delay(200); // poll pacing only
      return rolloutReport(client, ROLLOUT, { patches: true });
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30_000);
  return page;
}

const workflowUrl = (id: string) =>
  `${server.uiUrl}/namespaces/${server.namespace}/workflows/${encodeURIComponent(id)}`;

/** The workflow IDs the dev server's visibility lists for `query`. */
async function listedIds(query: string): Promise<string[]> {
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: server.namespace });
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    return ids;
  } finally {
    await connection.close();
  }
}

test('the rollout finished as the report says', () => {
  expect(report.status).toBe('Completed');
  const attempts = Object.fromEntries(report.machines.map((m) => [m.name, m.attempts.map((a) => a.outcome)]));
  expect(attempts).toEqual({
    e1: ['Succeeded'],
    e2: ['Succeeded'],
    w1: ['Succeeded'],
    w2: ['Succeeded'],
    w3: ['Pending', 'Succeeded'],
  });
});

test('the Temporal UI shows the rollout by its workflow ID, its region and machine children, and their summaries', async () => {
  const page = await newPage();
  const rolloutId = rolloutWorkflowId(ROLLOUT);
  const regions = report.phases.flatMap((p) => p.regions);
  try {
    // The rollout, found by its workflow ID alone (the UI opens its latest run) ...
    await page.goto(workflowUrl(rolloutId));
    await page.getByTestId('workflow-id-heading').getByText(rolloutId, { exact: true }).waitFor();
    await page
      .getByText(/^completed$/i)
      .first()
      .waitFor();
    // ... whose timeline shows its region children by their static summaries.
    for (const r of regions)
      await page
        .getByText(new RegExp(`^${r}: phase \\d, \\d machine\\(s\\) in \\d step\\(s\\), \\d lane\\(s\\)$`))
        .first()
        .waitFor();
    await page.screenshot({ path: join(results, 'ui-rollout.png'), fullPage: true });

    // Its own static summary, rendered by the UI in a sandboxed frame.
    await page.getByRole('tab', { name: /User Metadata/ }).click();
    await page
      .frameLocator('#user-metadata-summary')
      .getByText(`Offpeak rollout ${ROLLOUT}: 5 machine(s) in 2 phase(s)`)
      .waitFor();
    // Beside it, its plan (phases, regions, gates) and the commands that follow it.
    const details = page.frameLocator('#user-metadata-details');
    await details.getByText(/Phase 1 \(gate: needs an approval\): 3 machine\(s\) in westus \(3\)/).waitFor();
    await details.getByText(`offpeak rollout watch ${ROLLOUT}`).waitFor();
    await page.screenshot({ path: join(results, 'ui-user-metadata.png'), fullPage: true });

    // Relationships: regions and, expanded, every machine attempt.
    await page.getByRole('tab', { name: /Relationships/ }).click();
    await page.getByText('Expand All').click();
    const children = [
      ...regions.map((r) => regionWorkflowId(ROLLOUT, r)),
      ...report.machines.flatMap((m) =>
        m.attempts.map((a) => machineWorkflowId(ROLLOUT, m.region, m.name, a.attempt)),
      ),
    ];
    for (const id of children) await page.getByRole('link', { name: id, exact: true }).first().waitFor();
    await page.screenshot({ path: join(results, 'ui-relationships.png'), fullPage: true });

    // A region's timeline shows its machine children by their static summaries. The timeline draws only
    // the rows in view, and a region's steps (leases, reports) make it long: a tall window shows them all.
    await page.setViewportSize({ width: 1400, height: 4000 });
    await page.goto(workflowUrl(regionWorkflowId(ROLLOUT, 'westus')));
    await page
      .getByTestId('workflow-id-heading')
      .getByText(regionWorkflowId(ROLLOUT, 'westus'), { exact: true })
      .waitFor();
    for (const summary of ['w1: attempt 1 (', 'w2: attempt 1 (', 'w3: attempt 1 (', 'w3: attempt 2 ('])
      await page.getByText(summary).first().waitFor();
    await page.screenshot({ path: join(results, 'ui-region.png'), fullPage: true });

    // The workflows list, filtered by Offpeak's search attribute, lists the whole tree. The UI shows what
    // the server's visibility answers when the page loads, so the page loads once visibility lists it all
    // (once, under a loaded CI run, the list page showed no rollout within 30 s).
    const query = `OffpeakRollout = "${ROLLOUT}"`;
    const ids = [rolloutId, ...children];
    await waitUntil(
      () => listedIds(query),
      (listed) => ids.every((id) => listed.includes(id)),
      `visibility to list the rollout's tree for ${query}`,
    );
    await page.goto(
      `${server.uiUrl}/namespaces/${server.namespace}/workflows?query=${encodeURIComponent(query)}`,
    );
    try {
      for (const id of ids) await page.getByRole('link', { name: id, exact: true }).waitFor();
    } catch (err) {
      // What the page showed instead, for the next failure to say why.
      await page.screenshot({ path: join(results, 'ui-list-failed.png'), fullPage: true });
      const shown = (await page.locator('body').innerText()).slice(0, 2000);
      throw new Error(`${(err as Error).message}\nThe page showed:\n${shown}`, { cause: err });
    }
    await page.screenshot({ path: join(results, 'ui-list.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test("the Temporal UI's list shows a halted rollout and its failed machine attempt without opening them", async () => {
  // The columns an operator adds once (docs/operations.md): Offpeak's search attributes beside the status.
  // The UI keeps them in local storage; this sets what its column picker would.
  const columns = ['Status', 'Workflow ID', 'OffpeakKind', 'OffpeakOutcome', 'OffpeakPhase', 'Start'];
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript(
    ([ns, labels]) =>
      (
        globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
      ).localStorage.setItem(
        'namespace-workflow-table-columns',
        JSON.stringify({ [ns]: labels.map((label) => ({ label })) }),
      ),
    [server.namespace, columns] as const,
  );
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    const query = `OffpeakRollout = "${HALTED}" AND OffpeakKind != "region"`;
    await page.goto(
      `${server.uiUrl}/namespaces/${server.namespace}/workflows?query=${encodeURIComponent(query)}`,
    );
    const row = (id: string) =>
      page.getByRole('row').filter({ has: page.getByRole('link', { name: id, exact: true }) });
    // The rollout: still running, and its outcome column says Halted.
    await expect(
      row(rolloutWorkflowId(HALTED)).getByText('Halted', { exact: true }).waitFor(),
    ).resolves.toBeUndefined();
    // Its failed machine attempt: completed as a workflow, InstallFailed in its outcome column.
    const failed = machineWorkflowId(HALTED, 'eastus', 'h1', 1);
    await expect(row(failed).getByText('InstallFailed', { exact: true }).waitFor()).resolves.toBeUndefined();
    await page.screenshot({ path: join(results, 'ui-list-failures.png'), fullPage: true });

    // The rollout's event history has an upsert of OffpeakPhase (and OffpeakOutcome) per phase and status.
    await page.goto(workflowUrl(rolloutWorkflowId(HALTED)));
    await page
      .getByTestId('workflow-id-heading')
      .getByText(rolloutWorkflowId(HALTED), { exact: true })
      .waitFor();
    await page.getByRole('tab', { name: /Event History/ }).click();
    await page
      .getByText(/Upsert ?Workflow ?Search ?Attributes/i)
      .first()
      .waitFor();
    await page.screenshot({ path: join(results, 'ui-history-phases.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test("with its worker gone, status and the table report name the halted rollout's failed machine and its reason", async () => {
  const status = await runCli(['rollout', 'status', HALTED]);
  expect(status.code).toBe(0);
  expect(status.stderr).toMatch(/^Note: .*; showing what the server keeps\./);
  // The memo's summary, with the failed machine the rollout names and the reason as the workflow gives it.
  expect(status.stdout).toContain(`last kept status: Rollout ${HALTED}: Halted`);
  expect(status.stdout).toMatch(
    /\n {4}failed machines \(the first 10 of each phase\):\n {6}h1 {2}InstallFailed +eastus, phase 0\n/,
  );
  const json = JSON.parse((await runCli(['rollout', 'status', HALTED, '-o', 'json'])).stdout) as {
    status: string;
    reason: string;
    failed: Array<{ name: string; outcome: string; region: string; phase: number }>;
    phases: Array<{ index: number; total: number; done: number; errors: number }>;
  };
  expect(json.status).toBe('Halted');
  expect(json.reason).toBeTruthy();
  expect(status.stdout).toContain(json.reason);
  expect(json.failed).toEqual([{ name: 'h1', outcome: 'InstallFailed', region: 'eastus', phase: 0 }]);
  expect(json.phases[0]).toMatchObject({ index: 0, total: 2, errors: 1 });

  const table = await runCli(['rollout', 'report', HALTED]);
  expect(table.code).toBe(0);
  expect(table.stderr).toContain('the status is the one the rollout kept at its last step or phase');
  expect(table.stdout).toContain(`Rollout ${HALTED}: Halted`);
  expect(table.stdout).toMatch(/^Failed machines \(1\):$/m);
  expect(table.stdout).toMatch(/^h1\s+eastus\s+0\s+\S.*InstallFailed\s+1/m);
  // The failed attempt's disruptive span: install start and the end, both timestamps.
  expect(table.stdout).toMatch(/^h1\s+1\s+InstallFailed\s+20\d\d-\S+Z\s+20\d\d-\S+Z/m);
});

test('`offpeak rollout report --html` writes a page that renders offline with one bar per attempt', async () => {
  const file = join(results, 'report.html');
  const cli = await runCli(['rollout', 'report', ROLLOUT, '--html', file, '--output', 'json']);
  expect(cli.code).toBe(0);
  expect(cli.stderr).toContain(`Wrote the HTML report to ${file}`);
  expect((JSON.parse(cli.stdout) as RolloutReport).rolloutId).toBe(ROLLOUT);

  const page = await newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    await page.goto(`file://${file}`);
    await page.locator('.tl').waitFor();
    const expected = report.machines.flatMap((m) => m.attempts.map((a) => `${m.name}#${a.attempt}`)).sort();
    const drawn = await page
      .locator('[data-attempt]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-attempt')));
    expect(drawn.sort()).toEqual(expected);
    // The page fits a 1,280 px window: nothing runs off the right edge.
    await page.setViewportSize({ width: 1280, height: 1000 });
    expect(await documentWidths(page)).toEqual({ scrollWidth: 1280, clientWidth: 1280 });
    // A step's machines are shown on demand: hidden until its summary is clicked (no script needed).
    const steps = page.locator('details.tl-step:not([open])');
    const closed = await steps.count();
    expect(closed).toBeGreaterThan(0);
    const firstStep = await steps.first().getAttribute('data-step');
    const firstBar = page.locator(`details[data-step="${firstStep}"] [data-attempt]`).first();
    expect(await firstBar.isVisible()).toBe(false);
    for (let i = 0; i < closed; i++) await steps.first().locator('summary').click();
    expect(await firstBar.isVisible()).toBe(true);
    // Each bar is visible and coloured by its outcome.
    const boxes = await page.locator('.tl [data-attempt]').evaluateAll((els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        const style = (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(e);
        const outcome = /o-(\w+)/.exec(e.getAttribute('class') ?? '')?.[1];
        return { outcome, fill: style.backgroundColor, w: r.width, h: r.height };
      }),
    );
    for (const b of boxes) expect(b.w * b.h).toBeGreaterThan(0);
    const fills = new Map(boxes.map((b) => [b.outcome, b.fill]));
    expect(new Set(fills.values()).size).toBe(fills.size);
    expect(await documentWidths(page)).toEqual({ scrollWidth: 1280, clientWidth: 1280 });

    // The hostile comment is text in the gates table, and nothing of it ran.
    await expect(page.locator('tr[data-gate="phase-1"] td.comment').innerText()).resolves.toBe(HOSTILE);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(requests).toEqual([`file://${file}`]);
    await page.screenshot({ path: join(results, 'report.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('a 10,000-machine report fits 1,280 px, names its failures first and opens a step on demand', async () => {
  const big = syntheticReport(10_000);
  const file = join(results, 'report-10000.html');
  writeFileSync(file, renderRolloutHtml(big));
  const measured = await measurePage(browser, `file://${file}`);
  expect(measured.scrollWidth).toBe(measured.clientWidth);
  expect(measured.clientWidth).toBe(1280);
  expect(measured.openedMachines).toBeGreaterThan(0);
  const page = await newPage();
  try {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(`file://${file}`);
    // The failed machines are the page's first section, before the timeline.
    const sections = await page.locator('main > section').evaluateAll((els) => els.map((e) => e.id));
    expect(sections.slice(0, 2)).toEqual(['failures', 'timeline']);
    const failed = big.machines.filter((m) => m.outcome !== 'Succeeded').map((m) => m.name);
    const named = await page
      .locator('tr[data-failed]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-failed')));
    expect(named.sort()).toEqual([...failed].sort());
    await page.screenshot({ path: join(results, 'report-10000.png') });
  } finally {
    await page.close();
  }
});

async function documentWidths(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => {
    const d = (
      globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
    ).document.documentElement;
    return { scrollWidth: d.scrollWidth, clientWidth: d.clientWidth };
  });
}

/** The real CLI (the package's bin, built by `npm test`) against the test's dev server. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
      cwd: root,
      env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
