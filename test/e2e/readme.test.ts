import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevServer } from '../../servers/dev-server';
import type { RolloutReport } from '../../workflows/messages';
import { devServerForFile } from '../support/server-hooks';

/**
 * The README's "typical month by hand", line by line as written, through the real CLI (built by
 * `npm test`): the example fleet, the demo policy (its simulationSpeed makes the month take minutes),
 * a gate approved by alice. Only the first line differs: this test's own dev server, on free ports,
 * stands in for `npx offpeak dev-server &` (port 7233 may be taken on a shared machine).
 */
jest.setTimeout(600_000);

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'offpeak.js');

function typicalMonth(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('A typical month by hand');
  const block = readme.slice(
    readme.indexOf('```sh\n', start) + 6,
    readme.indexOf('```', readme.indexOf('```sh\n', start) + 6),
  );
  return block.split('\n').filter((l) => l.trim());
}

let server: DevServer;
devServerForFile((s) => (server = s));

test("the README's typical month runs as written", async () => {
  const lines = typicalMonth();
  expect(lines[0]).toMatch(/^npx offpeak dev-server &/);
  expect(lines[1]).toMatch(/^npx offpeak worker &/);
  const dir = mkdtempSync(join(tmpdir(), 'offpeak-readme-'));
  symlinkSync(join(root, 'examples'), join(dir, 'examples'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    OFFPEAK_HOME: join(dir, '.offpeak'),
  };
  const sh = (line: string) => line.replace(/^npx offpeak /, `"${process.execPath}" "${bin}" `);

  const worker = spawn('sh', ['-c', `exec ${sh(lines[1].replace(/&.*$/, ''))}`], { cwd: dir, env });
  let workerErr = '';
  const polling = new Promise<void>((resolve) =>
    worker.stderr.on('data', (d) => {
      workerErr += d;
      if (workerErr.includes('Worker polling')) resolve();
    }),
  );
  const workerDone = new Promise((resolve) => worker.on('close', resolve));
  try {
    await polling;
    for (const line of lines.slice(2)) {
      const run = spawnSync('sh', ['-c', sh(line)], { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (run.status !== 0) throw new Error(`${line}\nexit ${run.status}\n${run.stdout}\n${run.stderr}`);
    }
  } finally {
    worker.kill('SIGTERM');
    await workerDone;
  }
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RolloutReport;
  expect(report.rolloutId).toBe('nov-2026');
  expect(report.status).toBe('Completed');
  expect(report.gates).toEqual([
    expect.objectContaining({
      name: 'phase-1',
      decision: 'approved',
      by: 'alice',
      comment: 'canary healthy',
    }),
  ]);
  expect(report.machines.filter((m) => m.outcome === 'Succeeded').length).toBeGreaterThan(100);
});
