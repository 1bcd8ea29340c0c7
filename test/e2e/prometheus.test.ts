import { prometheusSource } from '../../activities/signals/prometheus';
import {
  prometheusSignalSchema,
  type HealthSignalRequest,
  type HealthSignalVerdict,
} from '../../domain/health-signals';
import { startHttp } from '../support/http';
import { startExporter, startPrometheus, type Exporter, type RunningPrometheus } from '../support/prometheus';
import { freePort } from '../support/servers';
import { waitUntil } from '../support/workflow-harness';

/**
 * The Prometheus health signal against a real Prometheus: alerting rules over metrics of an exporter the
 * test controls, evaluated every second. The source (activities/signals/prometheus.ts) is asked exactly as
 * the `checkHealthSignals` activity asks it.
 */

jest.setTimeout(120_000);

const RULES = `
groups:
  - name: offpeak-test
    interval: 1s
    rules:
      - alert: HighErrorRate
        expr: offpeak_test_errors > 0
        labels: { severity: page }
      - alert: DiskFull
        expr: offpeak_test_disk_full > 0
`;

const errors = (eastus: number, disk = 0) => ({
  'offpeak_test_errors{region="eastus",service="web"}': eastus,
  'offpeak_test_errors{region="westus",service="db"}': 1,
  offpeak_test_disk_full: disk,
});

let exporter: Exporter;
let prometheus: RunningPrometheus;
const source = prometheusSource();

beforeAll(async () => {
  // westus's alert fires from the start: once it does, rules are evaluated over scraped data.
  exporter = await startExporter(errors(0));
  prometheus = await startPrometheus(exporter, RULES);
  await waitFor(ask({ alerts: ['HighErrorRate'] }, ['westus'], ['db']), 'firing', "westus's alert firing");
});

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.close();
});

function ask(signal: Record<string, unknown>, regions: string[], services: string[]): HealthSignalRequest {
  return {
    prometheus: prometheusSignalSchema.parse({ url: prometheus.url, ...signal }),
    regions,
    services,
  };
}

/** Polls the source (Prometheus's API) until its verdict has `status`. */
function waitFor(request: HealthSignalRequest, status: HealthSignalVerdict['status'], what: string) {
  return waitUntil(
    () => source.check(request),
    (v) => v.status === status,
    what,
  );
}

test('alerts: a firing alert halts with its name and labels once its metric turns bad; other regions and services stay ok', async () => {
  const eastWeb = ask({ alerts: ['HighErrorRate'] }, ['eastus'], ['web']);
  // westus's alert fires, and concerns neither eastus nor a request for service db in eastus.
  expect(await source.check(eastWeb)).toEqual({ status: 'ok' });

  exporter.set(errors(1));
  const verdict = await waitFor(eastWeb, 'firing', "eastus's alert firing");
  expect(verdict).toEqual({
    status: 'firing',
    firing: [
      {
        name: 'HighErrorRate',
        labels: {
          alertname: 'HighErrorRate',
          region: 'eastus',
          service: 'web',
          severity: 'page',
          job: 'exporter',
          instance: `127.0.0.1:${exporter.port}`,
        },
      },
    ],
    reason: expect.stringMatching(/^1 alert\(s\) firing: HighErrorRate\{.*region="eastus".*service="web"/),
  });
  expect(await source.check(ask({ alerts: ['HighErrorRate'] }, ['eastus'], ['db']))).toEqual({
    status: 'ok',
  });
  expect(await source.check(ask({ alerts: ['HighErrorRate'] }, ['northeurope'], ['web']))).toEqual({
    status: 'ok',
  });
  // Both regions asked at once: both alerts.
  const both = await source.check(ask({ alerts: ['HighErrorRate'] }, ['eastus', 'westus'], ['web', 'db']));
  expect(both.status === 'firing' && both.firing.map((f) => f.labels.region).sort()).toEqual([
    'eastus',
    'westus',
  ]);
  // An alert not listed in the policy never halts.
  expect(await source.check(ask({ alerts: ['SomethingElse'] }, ['eastus'], ['web']))).toEqual({
    status: 'ok',
  });
});

test('alerts: an alert without a region or service label concerns every region', async () => {
  const anywhere = ask({ alerts: ['DiskFull'] }, ['northeurope'], []);
  expect(await source.check(anywhere)).toEqual({ status: 'ok' });
  exporter.set(errors(1, 1));
  const verdict = await waitFor(anywhere, 'firing', 'DiskFull firing');
  expect(verdict.status === 'firing' && verdict.firing.map((f) => f.name)).toEqual(['DiskFull']);
});

test('query: $regions expands to an escaped alternation and any sample is firing', async () => {
  exporter.set(errors(1));
  const query = 'offpeak_test_errors{region=~"$regions"} > 0';
  const both = await waitUntil(
    () => source.check(ask({ query }, ['eastus', 'westus'], [])),
    (v) => v.status === 'firing' && v.firing.length === 2,
    'both regions bad',
  );
  expect(both.status === 'firing' && both.firing.map((f) => [f.name, f.labels.region]).sort()).toEqual([
    ['query', 'eastus'],
    ['query', 'westus'],
  ]);
  expect(both.status === 'firing' && both.reason).toMatch(/^2 series returned by the query: /);
  expect(await source.check(ask({ query }, ['northeurope'], []))).toEqual({ status: 'ok' });
  // A dot in a region's name is a dot, not "any character": east.s never matches eastus.
  expect(await source.check(ask({ query }, ['east.s'], []))).toEqual({ status: 'ok' });
  // Expanded over a thousand regions the query outgrows a URL: it goes as a form.
  const many = ['eastus', ...Array.from({ length: 1000 }, (_, i) => `region-${i}-with-a-rather-long-name`)];
  const wide = await source.check(ask({ query }, many, []));
  expect(wide.status === 'firing' && wide.firing.map((f) => f.labels.region)).toEqual(['eastus']);
  // $services too.
  const services = 'offpeak_test_errors{service=~"$services"} > 0';
  const db = await source.check(ask({ query: services }, [], ['db']));
  expect(db.status === 'firing' && db.firing.map((f) => f.labels.service)).toEqual(['db']);
});

test('query: a query Prometheus refuses is unreachable with its error, never ok', async () => {
  const verdict = await source.check(ask({ query: 'offpeak_test_errors{' }, ['eastus'], []));
  expect(verdict.status).toBe('unreachable');
  expect(verdict.status === 'unreachable' && verdict.reason).toMatch(
    new RegExp(`^Prometheus at ${prometheus.url}/ answered an error \\(bad_data\\): .*parse error`),
  );
});

describe('an unreachable Prometheus is unreachable, never ok', () => {
  test('a closed port', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const verdict = await source.check({
      ...ask({ alerts: ['HighErrorRate'] }, ['eastus'], []),
      prometheus: prometheusSignalSchema.parse({ url, alerts: ['HighErrorRate'] }),
    });
    expect(verdict).toEqual({
      status: 'unreachable',
      reason: expect.stringMatching(new RegExp(`^Prometheus at ${url}/ unreachable: ECONNREFUSED`)),
    });
  });

  test('a server answering 500, and one answering HTML', async () => {
    const failing = await startHttp((req, res) => {
      if (req.url?.startsWith('/html/'))
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
    });
    try {
      const at = (url: string) => prometheusSignalSchema.parse({ url, alerts: ['HighErrorRate'] });
      expect(await source.check({ prometheus: at(failing.url), regions: ['eastus'], services: [] })).toEqual({
        status: 'unreachable',
        reason: `Prometheus at ${failing.url}/ answered 500 Internal Server Error: upstream exploded`,
      });
      expect(
        await source.check({ prometheus: at(`${failing.url}/html`), regions: ['eastus'], services: [] }),
      ).toEqual({
        status: 'unreachable',
        reason: `Prometheus at ${failing.url}/html/ answered something else than JSON: <html>login</html>`,
      });
    } finally {
      await failing.close();
    }
  });

  test('a server that never answers, past timeoutSeconds', async () => {
    const silent = await startHttp(() => undefined);
    try {
      const prometheus = prometheusSignalSchema.parse({
        url: silent.url,
        alerts: ['HighErrorRate'],
        timeoutSeconds: 1,
      });
      expect(await source.check({ prometheus, regions: ['eastus'], services: [] })).toEqual({
        status: 'unreachable',
        reason: `Prometheus at ${silent.url}/ unreachable: no answer within 1 s`,
      });
    } finally {
      await silent.close();
    }
  });

  test('credentials in the URL go as basic authentication and never reach the reason', async () => {
    const expected = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
    const guarded = await startHttp((req, res) => {
      if (req.headers.authorization !== expected) return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { alerts: [] } }));
    });
    try {
      const at = (password: string) => ({
        prometheus: prometheusSignalSchema.parse({
          url: guarded.url.replace('//', `//ops:${password}@`),
          alerts: ['HighErrorRate'],
        }),
        regions: ['eastus'],
        services: [],
      });
      expect(await source.check(at('s3cret'))).toEqual({ status: 'ok' });
      const refused = await source.check(at('wrong'));
      expect(refused).toEqual({
        status: 'unreachable',
        reason: `Prometheus at ${guarded.url}/ answered 401 Unauthorized`,
      });
    } finally {
      await guarded.close();
    }
  });
});
