/**
 * Planner benchmark: `node dist/scripts/bench-planner.js` (after `npx tsc -p tsconfig.build.json`).
 * Each fleet size is planned in a fresh child process, so peak memory figures do not mix, and the first
 * plan is reported (cold code, as an operator's `offpeak plan` pays it) beside the best of three; then the
 * estimate / lower bound ratio is printed for the example fleet and a few synthetic fleet shapes.
 */
import { fork } from 'child_process';
import os from 'os';
import { existsSync } from 'fs';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { loadFleet, loadPolicy } from '../client/input';
import type { Fleet, Machine, PatchMode } from '../domain/fleet';
import { type Policy, policySchema } from '../domain/policy';
import { forecastRollout, planRollout } from '../domain/planner';
import type { Plan } from '../domain/plan';
import { seededRandom } from '../activities/drivers/simulated/catalog';

/**
 * Fleet sizes of the speed section; `BENCH_PLANNER_SIZES=1000000` runs one, `BENCH_PLANNER_SIZES=none` skips
 * the section (the forecast/bound ratios of the example fleet and the shapes are printed either way).
 */
const SIZES = sizesFrom(process.env.BENCH_PLANNER_SIZES) ?? [10_000, 100_000, 1_000_000];

function sizesFrom(value: string | undefined): number[] | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'none') return [];
  const sizes = value.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`BENCH_PLANNER_SIZES: expected sizes such as 10000,1000000 or none, got "${value}"`);
  return sizes;
}

const REGIONS = [
  'eastus',
  'westus',
  'eastus2',
  'centralus',
  'westus2',
  'westcentralus',
  'westus3',
  'southcentralus',
  'northcentralus',
  'canadacentral',
  'canadaeast',
  'brazilsouth',
  'northeurope',
  'westeurope',
  'uksouth',
  'ukwest',
  'francecentral',
  'francesouth',
  'germanywestcentral',
  'germanynorth',
  'swedencentral',
  'norwayeast',
  'switzerlandnorth',
  'polandcentral',
  'italynorth',
  'japaneast',
  'japanwest',
  'koreacentral',
  'koreasouth',
  'eastasia',
  'southeastasia',
  'australiaeast',
  'australiasoutheast',
  'centralindia',
  'southindia',
  'uaenorth',
  'southafricanorth',
  'israelcentral',
  'qatarcentral',
  'mexicocentral',
];

/** Each region's machines keep their off-peak hours in the region's own time zone. */
const ZONE_OF_REGION: Record<string, string> = {
  eastus: 'America/New_York',
  eastus2: 'America/New_York',
  canadacentral: 'America/Toronto',
  canadaeast: 'America/Toronto',
  westus: 'America/Los_Angeles',
  westus2: 'America/Los_Angeles',
  westus3: 'America/Phoenix',
  westcentralus: 'America/Denver',
  centralus: 'America/Chicago',
  southcentralus: 'America/Chicago',
  northcentralus: 'America/Chicago',
  mexicocentral: 'America/Mexico_City',
  brazilsouth: 'America/Sao_Paulo',
  northeurope: 'Europe/Dublin',
  westeurope: 'Europe/Amsterdam',
  uksouth: 'Europe/London',
  ukwest: 'Europe/London',
  francecentral: 'Europe/Paris',
  francesouth: 'Europe/Paris',
  germanywestcentral: 'Europe/Berlin',
  germanynorth: 'Europe/Berlin',
  swedencentral: 'Europe/Stockholm',
  norwayeast: 'Europe/Oslo',
  switzerlandnorth: 'Europe/Zurich',
  polandcentral: 'Europe/Warsaw',
  italynorth: 'Europe/Rome',
  japaneast: 'Asia/Tokyo',
  japanwest: 'Asia/Tokyo',
  koreacentral: 'Asia/Seoul',
  koreasouth: 'Asia/Seoul',
  eastasia: 'Asia/Hong_Kong',
  southeastasia: 'Asia/Singapore',
  australiaeast: 'Australia/Sydney',
  australiasoutheast: 'Australia/Melbourne',
  centralindia: 'Asia/Kolkata',
  southindia: 'Asia/Kolkata',
  uaenorth: 'Asia/Dubai',
  southafricanorth: 'Africa/Johannesburg',
  israelcentral: 'Asia/Jerusalem',
  qatarcentral: 'Asia/Qatar',
};

/** The forecast's assumptions: November 2026's release (Patch Tuesday 2026-11-10) and its 30-day deadline. */
const FORECAST = {
  startAt: Date.parse('2026-11-10T00:00:00Z'),
  deadline: Date.parse('2026-12-10T23:59:59Z'),
  approvalMinutes: 0,
};

/** Forecast finish and bound, as durations from the start (minutes). */
function forecastMinutes(
  fleet: Fleet,
  policy: Policy,
  plan: Plan,
  laneModel: 'steps' | 'pipelined' = 'pipelined',
): { finish: number; bound: number; late: number } {
  const f = forecastRollout(fleet, policy, plan, { ...FORECAST, laneModel }).forecast;
  return {
    finish: (Date.parse(f.finishAt) - FORECAST.startAt) / 60_000,
    bound: (Date.parse(f.lowerBoundFinishAt) - FORECAST.startAt) / 60_000,
    late: f.late.length,
  };
}

/** Deterministic PRNG (the simulator's mulberry32), so every run benchmarks the same fleets. */
const random = seededRandom;

export interface Shape {
  /** Shares of clusters by kind; they need not add up to 1. */
  zonal: number;
  sets: number;
  standalone: number;
  /** Services per 1,000 machines; a service spans several clusters, often in several regions. */
  servicesPerThousand: number;
}

export const REALISTIC: Shape = { zonal: 0.45, sets: 0.35, standalone: 0.2, servicesPerThousand: 4 };

/**
 * A synthetic fleet: clusters (a service's machines of one kind in one region) until `size` machines.
 * Regions are skewed (a few big ones, a long tail); zonal clusters spread over zones 1..3; availability
 * sets have 10..100 machines over 5 update domains; standalone groups 5..50 machines. 90% of machines are
 * AutomaticByPlatform; half give their own durations.
 */
const sharedDurations = new Map<number, NonNullable<Machine['durations']>>();
function durationsOf(installMinutes: number, rebootMinutes: number): NonNullable<Machine['durations']> {
  const key = installMinutes * 100 + rebootMinutes;
  let d = sharedDurations.get(key);
  if (!d) sharedDurations.set(key, (d = { installMinutes, rebootMinutes }));
  return d;
}

export function syntheticFleet(size: number, shape: Shape = REALISTIC, seed = 42): Fleet {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const services = Math.max(1, Math.round((size / 1000) * shape.servicesPerThousand));
  const machines: Machine[] = [];
  const kinds = shape.zonal + shape.sets + shape.standalone;
  let cluster = 0;
  while (machines.length < size) {
    const region = REGIONS[Math.floor(REGIONS.length * rnd() * rnd())];
    const service = `svc-${Math.floor(rnd() * services)}`;
    const roll = rnd() * kinds;
    const kind = roll < shape.zonal ? 'zonal' : roll < shape.zonal + shape.sets ? 'set' : 'standalone';
    const count = Math.min(
      size - machines.length,
      kind === 'zonal'
        ? 20 + Math.floor(rnd() * 180)
        : kind === 'set'
          ? 10 + Math.floor(rnd() * 90)
          : 5 + Math.floor(rnd() * 45),
    );
    const windows = rnd() < 0.3;
    // A cluster's machines share its tag and set values, and like durations share one object: the
    // planner only reads them, and the benchmark then measures the planner rather than the generator.
    const tags = { service, cluster: `c${cluster}` };
    const availabilitySet = `as-${cluster}`;
    const timeZone = ZONE_OF_REGION[region] ?? 'UTC';
    for (let k = 0; k < count; k++) {
      const mode = rnd();
      const patchMode: PatchMode =
        mode < 0.9
          ? 'AutomaticByPlatform'
          : mode < 0.95
            ? 'AutomaticByOS'
            : mode < 0.98
              ? 'ImageDefault'
              : 'Manual';
      const zone = kind === 'zonal' ? pick(['1', '2', '3'] as const) : undefined;
      const durations =
        rnd() < 0.5 ? durationsOf(5 + Math.floor(rnd() * 55), Math.floor(rnd() * 15)) : undefined;
      // Every field set at once (undefined when absent), so all machines share one object layout.
      const machine: Machine = {
        name: `vm-${machines.length}`,
        region,
        zone,
        availabilitySet: kind === 'set' ? availabilitySet : undefined,
        updateDomain: kind === 'set' ? k % 5 : undefined,
        os: windows ? 'Windows' : 'Linux',
        patchMode,
        timeZone,
        driver: 'simulated',
        tags,
        durations,
      };
      machines.push(machine);
    }
    cluster++;
  }
  return { machines, regionPairs: {}, maintenanceConfigurations: {} };
}

/** The fleet shapes of the ratio table (20,000 machines each), with the policy each is planned under. */
export const SHAPES: [string, Shape, Record<string, unknown>][] = [
  ['realistic mix', REALISTIC, { serviceCapacity: { tag: 'service', minAvailable: '75%' } }],
  ['standalone only, budget 20%', { zonal: 0, sets: 0, standalone: 1, servicesPerThousand: 4 }, {}],
  ['zonal only, budget 20%', { zonal: 1, sets: 0, standalone: 0, servicesPerThousand: 4 }, {}],
  ['availability sets only', { zonal: 0, sets: 1, standalone: 0, servicesPerThousand: 4 }, {}],
  [
    'tight services (minAvailable 90%)',
    REALISTIC,
    { serviceCapacity: { tag: 'service', minAvailable: '90%' } },
  ],
  [
    'one service per cluster, 50%',
    { ...REALISTIC, servicesPerThousand: 1000 },
    { serviceCapacity: { tag: 'cluster', minAvailable: '50%' } },
  ],
];

export const POLICY: Policy = policySchema.parse({
  disruptionBudget: '20%',
  serviceCapacity: { tag: 'service', minAvailable: '75%' },
});

interface Measure {
  size: number;
  planMs: number;
  planCpuMs: number;
  /** The fastest of three plans of the same fleet (the first included): the machine's noise removed. */
  bestPlanMs: number;
  /** Peak RSS after generating the fleet and planning it, before the forecast. */
  peakRssMb: number;
  forecastMs: number;
  forecastPeakRssMb: number;
  forecastMinutes: number;
  forecastBoundMinutes: number;
  late: number;
  /** The same forecast in the step model (before pipelined steps; domain/planner/forecast.ts `laneModel`). */
  stepsMs: number;
  stepsRatio: number;
  heapAfterMb: number;
  estimate: number;
  lowerBound: number;
  phases: number;
  steps: number;
}

function child(size: number): void {
  const fleet = syntheticFleet(size);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = planRollout(fleet, POLICY);
  const planMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // CPU time of the whole process (the garbage collector's threads included): less disturbed than the
  // wall clock by other work on a shared machine.
  const planCpuMs = (cpu.user + cpu.system) / 1000;
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const plan = result.value;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const heapAfterMb = process.memoryUsage().heapUsed / 2 ** 20;
  const forecastStarted = performance.now();
  const forecast = forecastMinutes(fleet, POLICY, plan);
  const forecastMs = performance.now() - forecastStarted;
  const forecastPeakRssMb = process.resourceUsage().maxRSS / 1024;
  const stepsStarted = performance.now();
  const steps = forecastMinutes(fleet, POLICY, plan, 'steps');
  const stepsMs = performance.now() - stepsStarted;
  let bestPlanMs = planMs;
  for (let run = 0; run < 2; run++) {
    const again = performance.now();
    planRollout(fleet, POLICY);
    bestPlanMs = Math.min(bestPlanMs, performance.now() - again);
  }
  const measure: Measure = {
    size,
    planMs,
    planCpuMs,
    bestPlanMs,
    peakRssMb,
    forecastMs,
    forecastPeakRssMb,
    forecastMinutes: forecast.finish,
    forecastBoundMinutes: forecast.bound,
    late: forecast.late,
    stepsMs,
    stepsRatio: steps.finish / steps.bound,
    heapAfterMb,
    estimate: plan.estimateMinutes,
    lowerBound: plan.lowerBoundMinutes,
    phases: plan.phases.length,
    steps: plan.regions.reduce((sum, r) => sum + r.steps.length, 0),
  };
  process.send!(measure);
}

function inChild(size: number): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const worker = fork(__filename, ['--child', String(size)], { stdio: 'inherit' });
    let measure: Measure | undefined;
    worker.on('message', (m) => (measure = m as Measure));
    worker.on('error', reject);
    worker.on('exit', (code) =>
      measure ? resolve(measure) : reject(new Error(`child for ${size} exited with ${code}`)),
    );
  });
}

/** One fleet's estimate and bound, their ratio, and the forecast's ratio to its bound. */
function ratioRow(name: string, fleet: Fleet, policy: Policy, widths: number[]): string {
  const result = planRollout(fleet, policy);
  if (!result.ok) return row([name, 'rejected', result.problems[0].message, ''], widths);
  const { estimateMinutes: e, lowerBoundMinutes: b } = result.value;
  return row(
    [
      name,
      e.toFixed(0),
      b.toFixed(0),
      (e / b).toFixed(3),
      forecastRatio(fleet, policy, result.value),
      forecastRatio(fleet, policy, result.value, 'steps'),
    ],
    widths,
  );
}

/** The forecast's duration over its bound's, with the late machines when there are any. */
function forecastRatio(fleet: Fleet, policy: Policy, plan: Plan, laneModel?: 'steps'): string {
  const f = forecastMinutes(fleet, policy, plan, laneModel);
  return `${(f.finish / f.bound).toFixed(3)}${f.late ? ` (${f.late} late)` : ''}`;
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
    .join('  ');
}

async function main(): Promise<void> {
  console.log(
    `Planner benchmark (node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}); ` +
      'policy: disruptionBudget 20%, service minAvailable 75%\n',
  );
  const widths = [12, 9, 8, 9, 12, 9, 14, 7, 8, 10, 12, 12, 14];
  console.log(
    row(
      [
        'machines',
        'first ms',
        'CPU ms',
        'best of 3',
        'peak RSS MB',
        'heap MB',
        'ns/(n·log2 n)',
        'phases',
        'steps',
        'est/bound',
        'forecast ms',
        'with RSS MB',
        'forecast/bound',
      ],
      widths,
    ),
  );
  let million: Measure | undefined;
  if (SIZES.length === 0) console.log('(speed section skipped: BENCH_PLANNER_SIZES=none)');
  for (const size of SIZES) {
    const m = await inChild(size);
    if (size === 1_000_000) million = m;
    const perNLogN = (m.planMs * 1e6) / (size * Math.log2(size));
    console.log(
      row(
        [
          size.toLocaleString('en-US'),
          m.planMs.toFixed(0),
          m.planCpuMs.toFixed(0),
          m.bestPlanMs.toFixed(0),
          m.peakRssMb.toFixed(0),
          m.heapAfterMb.toFixed(0),
          perNLogN.toFixed(1),
          m.phases,
          m.steps,
          (m.estimate / m.lowerBound).toFixed(3),
          m.forecastMs.toFixed(0),
          m.forecastPeakRssMb.toFixed(0),
          (m.forecastMinutes / m.forecastBoundMinutes).toFixed(3),
        ],
        widths,
      ),
    );
  }
  console.log(
    '\n(first ms: the first plan in a fresh process, cold code included, as `offpeak plan` pays it; CPU ms its process\n' +
      " CPU time (the garbage collector's threads included); best of 3: the fastest of three plans of the same fleet, the\n" +
      ' first included; peak RSS covers generating the fleet (about 155 MB of heap at 1M) and planning it once;\n' +
      ' heap MB is what stays live after planning, the fleet included;\n' +
      ' forecast ms and "with RSS MB" add the calendar forecast from 2026-11-10 00:00 UTC, off-peak 22:00-06:00\n' +
      " in each region's time zone; forecast/bound compares both as durations from the start)\n",
  );
  if (million) {
    // Issue 14's goal for the planner: the first plan of 1M machines under 1 s and 400 MB, the forecast under 3 s.
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `Goal at 1,000,000: first plan ${million.planMs.toFixed(0)} ms < 1,000 (${met(million.planMs < 1000)}), ` +
        `best ${million.bestPlanMs.toFixed(0)} ms; peak RSS ${million.peakRssMb.toFixed(0)} MB < 400 ` +
        `(${met(million.peakRssMb < 400)}); forecast ${million.forecastMs.toFixed(0)} ms < 3,000 ` +
        `(${met(million.forecastMs < 3000)})`,
    );
    console.log(
      `The step model at 1,000,000 (before pipelined steps, for comparison): forecast ` +
        `${million.stepsMs.toFixed(0)} ms, forecast/bound ${million.stepsRatio.toFixed(3)}\n`,
    );
  }

  const shapeWidths = [36, 14, 14, 10, 16, 16];
  // dist/scripts/ -> the repository's examples/, or the working directory's when built elsewhere.
  const besideDist = join(__dirname, '..', '..', 'examples');
  const examples = existsSync(besideDist) ? besideDist : join(process.cwd(), 'examples');
  console.log(
    '(forecast/bound: pipelined steps, as the workflows run them; steps: the step model before them, each step\n' +
      ' after the one before has every machine done: docs/planner.md, "Pipelined steps")\n',
  );
  console.log(
    row(
      ['examples/fleet.yaml', 'estimate min', 'bound min', 'ratio', 'forecast/bound', 'steps'],
      shapeWidths,
    ),
  );
  for (const policy of [undefined, 'policy-demo.yaml']) {
    const name = policy ? `with ${policy}` : 'with the default policy';
    const fleet = loadFleet(join(examples, 'fleet.yaml'));
    console.log(ratioRow(name, fleet, loadPolicy(policy && join(examples, policy)), shapeWidths));
  }
  console.log('');
  console.log(
    row(
      [
        'shape (20,000 machines)',
        'estimate min',
        'bound min',
        'ratio',
        'forecast/bound',
        'steps',
        'seeds 1-12,42',
        'steps',
      ],
      [...shapeWidths, 20, 20],
    ),
  );
  for (const [name, shape, input] of SHAPES) {
    const policy = policySchema.parse({ disruptionBudget: '20%', ...input });
    // Seed 7 in full, then the forecast/bound of fleets of the same shape from more seeds (7 among them).
    const ratios = (laneModel: 'steps' | 'pipelined') =>
      OTHER_SEEDS.map((seed) => {
        const fleet = syntheticFleet(20_000, shape, seed);
        const result = planRollout(fleet, policy);
        if (!result.ok) return undefined;
        const f = forecastMinutes(fleet, policy, result.value, laneModel);
        return f.finish / f.bound;
      }).filter((r): r is number => r !== undefined);
    // min-max, and how many of the fleets planned come within 10% of their bound (issue 14's goal).
    const spread = (others: number[]) =>
      others.length
        ? `${Math.min(...others).toFixed(3)}-${Math.max(...others).toFixed(3)}` +
          ` (${others.filter((r) => r <= 1.1).length}/${others.length})`
        : 'rejected';
    const line = ratioRow(name, syntheticFleet(20_000, shape, 7), policy, shapeWidths);
    console.log(
      `${line}  ${spread(ratios('pipelined')).padStart(20)}  ${spread(ratios('steps')).padStart(20)}`,
    );
  }
}

/**
 * Seeds of further fleets per shape: the forecast's ratio to its bound on fleets the planner was not tuned
 * on. Twelve, and 42 (the seed of the speed section's fleets): seeds 1-5 alone hid the worst cases
 * (realistic seed 42 is 1.406 at 20,000 machines, standalone seed 8 1.282).
 */
const OTHER_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 42];

if (require.main !== module) {
  // Imported (for syntheticFleet): run nothing.
} else if (process.argv[2] === '--child') child(Number(process.argv[3]));
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
