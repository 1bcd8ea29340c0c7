/**
 * `npm run bench`: benchmarks, not tests.
 * 1. The planner (time and peak memory for 10k, 100k, 1M machines): scripts/bench-planner.ts.
 * 2. Payload sizes of a rollout of 100,000 machines, sliced (docs/scale.md): scripts/scale-sizes.ts.
 * 3. The fleet guard's lease book: 100,000 machines, 1,000 concurrent requests: scripts/bench-guard.ts.
 * 4. Rollout throughput: the same machines through Offpeak and through a bare Temporal baseline of the
 *    same shape and the same activities per machine, alternately, on one dev server: scripts/bench-throughput.ts.
 * 5. Reports: the HTML report at 10,000 machines in Chromium, and `rollout status` at 100,000 machines
 *    with no worker (scripts/bench-reports.ts).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { payloadSizes } from './scale-sizes';

async function main(): Promise<void> {
  process.stdout.write('== Planner ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-planner.js')], { stdio: 'inherit' });
  process.stdout.write('\n== Fleet guard: lease book at 100,000 machines, 1,000 concurrent requests ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-guard.js')], { stdio: 'inherit' });
  process.stdout.write('\n== Payload sizes at 100,000 machines (JSON bytes, each must stay under 1 MB) ==\n');
  for (const [what, size] of Object.entries(payloadSizes(100_000)))
    process.stdout.write(`${what.padEnd(22)} ${size}\n`);

  process.stdout.write('\n== Rollout throughput: Offpeak against a bare Temporal baseline, alternately ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-throughput.js')], { stdio: 'inherit' });
  process.stdout.write('\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-reports.js')], { stdio: 'inherit' });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
