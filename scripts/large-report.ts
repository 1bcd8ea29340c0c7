/**
 * A synthetic rollout report of any size, shaped like a real one (phases of regions, steps of zones and
 * update domains, retries, failures of every kind, attempts that installed nothing), and how Chromium
 * renders its HTML page. Used by `npm run bench` (file size and render time at 10,000 machines) and by
 * the browser test (the page fits 1,280 px, failures first, steps open on demand).
 */
import type { Browser } from 'playwright-core';
import { OUTCOME, type AttemptOutcome } from '../domain/outcomes';
import type { MachineReport, RolloutReport } from '../workflows/messages';

const REGIONS = ['westcentralus', 'eastus', 'westus', 'northeurope', 'westeurope', 'southeastasia'];
/** Phase of each region: a canary, then two, then the rest. */
const PHASE_OF = [0, 1, 1, 2, 2, 2];
const STEP_MACHINES = 50;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 10, 22);
const FAILURES: AttemptOutcome[] = [
  OUTCOME.InstallFailed,
  OUTCOME.Unhealthy,
  OUTCOME.DidNotComeBack,
  OUTCOME.PreScriptFailed,
  OUTCOME.Errored,
];

const iso = (t: number) => new Date(t).toISOString();

/** `machines` machines over six regions in three phases; one in `failEvery` fails, one in 40 is retried. */
export function syntheticReport(machines: number, failEvery = 100): RolloutReport {
  const perRegion = Math.ceil(machines / REGIONS.length);
  const list: MachineReport[] = [];
  for (let i = 0; i < machines; i++) {
    const r = Math.floor(i / perRegion);
    const k = i - r * perRegion;
    const step = Math.floor(k / STEP_MACHINES);
    const zone = String((step % 3) + 1);
    const phase = PHASE_OF[r];
    const start = T0 + phase * 24 * HOUR + step * 0.25 * HOUR + (k % STEP_MACHINES) * 20_000;
    const fails = i % failEvery === 7;
    const retried = !fails && i % 40 === 3;
    const untimed = !fails && !retried && i % 97 === 5;
    const outcome = fails ? FAILURES[Math.floor(i / failEvery) % FAILURES.length] : OUTCOME.Succeeded;
    const attempts: MachineReport['attempts'] = untimed
      ? [{ attempt: 1, outcome, detail: 'nothing to install' }]
      : [
          ...(retried
            ? [
                {
                  attempt: 1,
                  outcome: OUTCOME.Pending,
                  startedAt: iso(start),
                  finishedAt: iso(start + 0.4 * HOUR),
                  detail: '1 patch(es) pending: the window ran out',
                },
              ]
            : []),
          {
            attempt: retried ? 2 : 1,
            outcome,
            startedAt: iso(start + (retried ? 12 * HOUR : 0)),
            finishedAt: iso(start + (retried ? 12 * HOUR : 0) + 0.3 * HOUR),
            ...(fails ? { detail: `${outcome}: synthetic failure of machine ${i}` } : {}),
          },
        ];
    list.push({
      name: `vm-${REGIONS[r]}-${String(k).padStart(5, '0')}`,
      region: REGIONS[r],
      zone,
      phase,
      step: { index: step, label: `zone ${zone} batch ${step + 1}` },
      outcome,
      ...(fails ? { detail: attempts.at(-1)?.detail } : {}),
      rebooted: !untimed,
      lastAssessedAt: iso(start),
      installed: untimed ? 0 : fails ? 1 : 3,
      failed: fails ? 1 : 0,
      pending: 0,
      excluded: 0,
      notSelected: 1,
      patches: untimed
        ? []
        : [
            { patchId: 'KB5031234', state: fails ? 'Failed' : 'Installed' },
            { patchId: 'KB5031356', state: 'Installed' },
            { patchId: 'KB5030000', state: 'NotSelected' },
          ],
      attempts,
    });
  }
  const regionsOf = (p: number) => REGIONS.filter((_, i) => PHASE_OF[i] === p);
  const failed = list.filter((m) => m.outcome !== OUTCOME.Succeeded).length;
  return {
    rolloutId: `synthetic-${machines}`,
    status: 'Completed',
    startedBy: 'bench',
    month: '2026-11',
    monthType: 'baseline',
    deadline: iso(T0 + 14 * 24 * HOUR),
    errors: { count: failed, allowed: failed },
    planned: machines,
    succeeded: machines - failed,
    attempts: list.reduce((n, m) => n + m.attempts.length, 0),
    phases: [0, 1, 2].map((index) => ({
      index,
      regions: regionsOf(index),
      status: 'Succeeded',
      startedAt: iso(T0 + index * 24 * HOUR - 0.2 * HOUR),
      finishedAt: iso(T0 + index * 24 * HOUR + 20 * HOUR),
    })),
    regions: REGIONS.map((region, r) => {
      const of = list.filter((m) => m.region === region);
      const succeeded = of.filter((m) => m.outcome === OUTCOME.Succeeded).length;
      const notSucceeded = of.length - succeeded;
      return {
        region,
        phase: PHASE_OF[r],
        total: of.length,
        done: of.length,
        succeeded,
        notSucceeded,
        errors: notSucceeded,
      };
    }),
    gates: [1, 2].map((phase) => ({
      name: `phase-${phase}`,
      phase,
      decision: 'approved' as const,
      by: 'alice',
      at: iso(T0 + phase * 24 * HOUR - 0.5 * HOUR),
    })),
    machines: list,
  };
}

export interface PageMeasure {
  /** From navigation until the first frame after the load event (parsed, laid out and painted), in the page's clock. */
  loadMs: number;
  /** The document's width at a 1,280 px window (scrollWidth), and the window's (clientWidth). */
  scrollWidth: number;
  clientWidth: number;
  /** Opening a closed step until its machines are drawn (the next frame), in the page's clock. */
  openStepMs: number;
  /** Machines drawn in the opened step. */
  openedMachines: number;
}

type PageGlobals = {
  document: {
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelector(s: string): { open: boolean; querySelectorAll(s: string): { length: number } } | null;
  };
  performance: { now(): number };
  requestAnimationFrame(f: () => void): void;
};

/** Loads an HTML report (a file URL) in a 1,280 px window and measures it. */
export async function measurePage(browser: Browser, url: string): Promise<PageMeasure> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(url, { waitUntil: 'load' });
    return await page.evaluate(
      () =>
        new Promise<PageMeasure>((resolve) => {
          const g = globalThis as unknown as PageGlobals;
          const frame = (then: () => void) => g.requestAnimationFrame(() => g.requestAnimationFrame(then));
          frame(() => {
            const loadMs = g.performance.now();
            const { scrollWidth, clientWidth } = g.document.documentElement;
            const step = g.document.querySelector('details.tl-step:not([open])');
            const t = g.performance.now();
            if (step) step.open = true;
            frame(() =>
              resolve({
                loadMs,
                scrollWidth,
                clientWidth,
                openStepMs: g.performance.now() - t,
                openedMachines: step?.querySelectorAll('.tl-row.m').length ?? 0,
              }),
            );
          });
        }),
    );
  } finally {
    await page.close();
  }
}

/** Chromium's flags for a headless run in a container (Debian's package, no sandbox). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const CHROMIUM = '/usr/bin/chromium';
