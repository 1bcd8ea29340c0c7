/**
 * `npm run soak`: the crash test (test/e2e/crash.test.ts) with 50 worker kills and a random seed, printed
 * first so that a failing run can be replayed (`CRASH_SEED=<seed> npm run soak`). Not part of `npm test`.
 * The simulated durations grow with the kills (time scale 0.001 a kill), so the rollout outlasts them.
 *
 *   npm run soak                      # 50 kills, a random seed
 *   CRASH_KILLS=20 CRASH_SEED=7 npm run soak
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const kills = Number(process.env.CRASH_KILLS ?? 50);
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const timeScale = Number(process.env.CRASH_TIME_SCALE ?? (kills / 1000).toFixed(3));
if (!Number.isInteger(kills) || kills < 1)
  throw new Error(`CRASH_KILLS must be a positive count, not ${kills}`);
if (!Number.isInteger(seed)) throw new Error(`CRASH_SEED must be an integer, not ${seed}`);

process.stdout.write(
  `soak: ${kills} worker kills, seed ${seed}, time scale ${timeScale}\n` +
    `replay: CRASH_SEED=${seed} CRASH_KILLS=${kills} npm run soak\n`,
);
const run = spawnSync(
  process.execPath,
  // The path alone selects the test (an option such as --selectProjects would take it as a project name).
  [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), 'test/e2e/crash.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      CRASH_KILLS: String(kills),
      CRASH_SEED: String(seed),
      CRASH_TIME_SCALE: String(timeScale),
    },
  },
);
process.stdout.write(`soak: seed ${seed}, ${kills} kills: ${run.status === 0 ? 'passed' : 'FAILED'}\n`);
process.exit(run.status ?? 1);
