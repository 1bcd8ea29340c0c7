/**
 * `npm run bench`: benchmarks, not tests.
 * 1. The planner (time and peak memory for 10k, 100k, 1M machines): scripts/bench-planner.ts; and what
 *    `offpeak plan --output json` pays on a JSON fleet file of 100k and 1M, stage by stage: scripts/bench-operator.ts.
 * 2. Payload sizes of a rollout of 100,000 machines, sliced (docs/scale.md): scripts/scale-sizes.ts.
 * 3. The fleet guard's lease book: 100,000 machines, 1,000 concurrent requests: scripts/bench-guard.ts;
 *    and the guard through its workflow on a dev server (scripts/bench-guard-workflow.ts): 1,000
 *    concurrent requests of 10 machines, and 1,000 of 100 (100,000 machines in flight: the guard
 *    continues as new carrying them compactly, about 0.6 MB; about a minute on 2 cores).
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
  process.stdout.write(
    "\n== Planner: the operator's whole `offpeak plan`, from the fleet file to the JSON ==\n",
  );
  execFileSync(process.execPath, [join(__dirname, 'bench-operator.js')], { stdio: 'inherit' });
  process.stdout.write('\n== Fleet guard: lease book at 100,000 machines, 1,000 concurrent requests ==\n');
  execFileSync(process.execPath, [join(__dirname, 'bench-guard.js')], { stdio: 'inherit' });
  for (const [requests, perRequest] of [
    [1000, 10],
    [1000, 100],
  ]) {
    process.stdout.write(
      `\n== Fleet guard through its workflow: ${requests} concurrent requests of ${perRequest} machines ==\n`,
    );
    execFileSync(process.execPath, [join(__dirname, 'bench-guard-workflow.js')], {
      stdio: 'inherit',
      env: {
        ...process.env,
        OFFPEAK_BENCH_GUARD_REQUESTS: String(requests),
        OFFPEAK_BENCH_GUARD_PER_REQUEST: String(perRequest),
      },
    });
  }
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
