/**
 * What an operator's `offpeak plan --output json` pays on a large fleet file, stage by stage:
 * `node dist/scripts/bench-operator.js [sizes...]` (default 100,000 and 1,000,000 machines). The
 * bench's synthetic fleet is written as a JSON file first (not timed); then a fresh process runs the
 * stages of client/commands/plan.ts on it, each timed, and reports its peak RSS. Command-line parsing
 * and module loading are not included (`offpeak plan` of the example fleet takes about 0.45 s in all:
 * README, "The command's start-up").
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPolicy, readDocument } from '../client/input';
import { checkOrThrow } from '../client/prepare';
import { UsageError } from '../client/errors';
import { jsonChunks } from '../client/json-chunks';
import { releaseSettings } from '../domain/calendar';
import { parseFleet } from '../domain/fleet';
import { forecastRollout } from '../domain/planner';
import { simulatedMarker, simulatedNames } from '../domain/simulated';
import { syntheticFleet } from './bench-planner';

const STAGES = ['read', 'validate', 'plan', 'forecast', 'output'] as const;
type Stage = (typeof STAGES)[number];

interface Measure {
  size: number;
  ms: Record<Stage, number>;
  peakRssMb: number;
  outputMb: number;
}

/** The stages of `offpeak plan --output json` (client/commands/plan.ts), timed one by one. */
function child(fleetPath: string, policyPath: string, size: number): void {
  const ms = {} as Record<Stage, number>;
  const timed = <T>(stage: Stage, run: () => T): T => {
    const started = performance.now();
    const value = run();
    ms[stage] = performance.now() - started;
    return value;
  };
  // Held only until it is validated, as in `loadFleet`.
  let document: unknown = timed('read', () => readDocument(fleetPath, '--fleet'));
  const { fleet, policy } = timed('validate', () => {
    const parsed = parseFleet(document);
    document = undefined;
    if (!parsed.ok) throw new UsageError(parsed.problems);
    return { fleet: parsed.value, policy: loadPolicy(policyPath) };
  });
  const now = new Date('2026-11-10T00:00:00Z');
  const plan = timed('plan', () =>
    checkOrThrow({ rolloutId: 'bench', startedBy: 'bench', fleet, policy, now }),
  );
  const detail = timed('forecast', () => {
    const release = releaseSettings(policy.month!, policy.deadlineDays, policy.unplannedBaselineMonths);
    return forecastRollout(fleet, policy, plan, {
      startAt: Date.parse(`${release.releaseDate}T00:00:00Z`),
      deadline: release.deadline,
      approvalMinutes: 0,
      monthType: release.monthType,
    });
  });
  const outputMb = timed('output', () => {
    const planned = new Set(plan.machines.filter((m) => !m.excluded).map((m) => m.name));
    const simulated = simulatedMarker(
      simulatedNames(fleet.machines.filter((m) => planned.has(m.name))),
      planned.size,
    );
    // In pieces, as `writeJson` writes them (client/output.ts).
    const document = { ...plan, ...(simulated ? { simulated } : {}), forecast: detail.forecast };
    const fd = openSync('/dev/null', 'w');
    let bytes = 0;
    for (const chunk of jsonChunks(document)) bytes += writeSync(fd, chunk);
    bytes += writeSync(fd, '\n');
    closeSync(fd);
    return bytes / 1e6;
  });
  const measure: Measure = { size, ms, peakRssMb: process.resourceUsage().maxRSS / 1024, outputMb };
  // Run by hand (`--child FLEET POLICY SIZE`, e.g. under --cpu-prof), it prints what it measured.
  if (process.send) process.send(measure);
  else console.log(JSON.stringify(measure));
}

function inChild(fleetPath: string, policyPath: string, size: number): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const worker = fork(__filename, ['--child', fleetPath, policyPath, String(size)], { stdio: 'inherit' });
    let measure: Measure | undefined;
    worker.on('message', (m) => (measure = m as Measure));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      measure ? resolve(measure) : reject(new Error(`child for ${size} exited with ${code}`)),
    );
  });
}

async function main(sizes: number[]): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'offpeak-bench-operator-'));
  try {
    const policyPath = join(dir, 'policy.json');
    // The planner bench's policy, for November 2026's release.
    writeFileSync(
      policyPath,
      JSON.stringify({
        disruptionBudget: '20%',
        serviceCapacity: { tag: 'service', minAvailable: '75%' },
        month: '2026-11',
      }),
    );
    const widths = [12, 9, 10, 9, 10, 9, 9, 13, 11];
    const cells = (values: (string | number)[]) =>
      values
        .map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i])))
        .join('  ');
    console.log(
      `offpeak plan --output json on a JSON fleet file (load average ${os.loadavg()[0].toFixed(1)})\n`,
    );
    console.log(
      cells([
        'machines',
        'read ms',
        'validate',
        'plan ms',
        'forecast',
        'output',
        'total',
        'peak RSS MB',
        'JSON MB',
      ]),
    );
    for (const size of sizes) {
      const fleetPath = join(dir, `fleet-${size}.json`);
      writeFileSync(fleetPath, JSON.stringify(syntheticFleet(size)));
      const m = await inChild(fleetPath, policyPath, size);
      rmSync(fleetPath);
      const total = STAGES.reduce((sum, s) => sum + m.ms[s], 0);
      console.log(
        cells([
          size.toLocaleString('en-US'),
          ...STAGES.map((s) => m.ms[s].toFixed(0)),
          total.toFixed(0),
          m.peakRssMb.toFixed(0),
          m.outputMb.toFixed(0),
        ]),
      );
    }
    console.log(
      '\n(read: the file and JSON.parse; validate: the fleet and policy rules; plan: the plan and\n' +
        " `rollout start`'s checks; forecast: the calendar forecast; output: the JSON printed)\n",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main !== module) {
  // Imported: run nothing.
} else if (process.argv[2] === '--child') child(process.argv[3], process.argv[4], Number(process.argv[5]));
else {
  const sizes = process.argv.slice(2).map(Number);
  main(sizes.length ? sizes : [100_000, 1_000_000]).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
