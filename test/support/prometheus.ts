import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './servers';
import { tempDir } from './rollouts';
import { startHttp } from './http';
import { waitUntil } from './workflow-harness';

/**
 * A real Prometheus (Debian's `prometheus` package, installed by `npm test` as root: scripts/setup-servers.ts)
 * on a free port, scraping an exporter the test controls, with the test's alerting rules. Scrapes and rule
 * evaluations run every second, so an alert fires about two seconds after its metric turns bad; tests wait for
 * it by polling the HTTP API, never by sleeping.
 */

export const PROMETHEUS = '/usr/bin/prometheus';

/** A /metrics endpoint whose exposition the test sets, one `metric{labels} value` line per series. */
export interface Exporter {
  port: number;
  set(series: Record<string, number>): void;
  close(): Promise<void>;
}

export async function startExporter(initial: Record<string, number>): Promise<Exporter> {
  let series = initial;
  const server = await startHttp((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const lines = Object.entries(series).map(([s, v]) => `${s} ${v}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
  return { port: server.port, set: (next) => void (series = next), close: server.close };
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** Starts Prometheus with `rules` (a rule file's YAML) over the exporter; resolves once it is ready. */
export async function startPrometheus(exporter: Exporter, rules: string): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS))
    throw new Error(
      `Prometheus is missing at ${PROMETHEUS}: the health-signal tests run a real one and are never skipped. ` +
        'Install it with `apt-get install -y prometheus` (Debian), or run `npm test` as root.',
    );
  const dir = tempDir('prometheus');
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [rules.yml]',
      'scrape_configs:',
      `  - { job_name: exporter, static_configs: [{ targets: ['127.0.0.1:${exporter.port}'] }] }`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const log = join(dir, 'prometheus.log');
  const out = openSync(log, 'a');
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: dir, stdio: ['ignore', out, out] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`prometheus exited ${child.exitCode}:\n${readFileSync(log, 'utf8')}`);
        return fetch(`${url}/-/ready`).then(
          (r) => r.status,
          () => 0,
        );
      },
      (status) => status === 200,
      'Prometheus ready',
    );
  } catch (err) {
    child.kill();
    throw err;
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
