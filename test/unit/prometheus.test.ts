import { prometheusSignalSchema, type HealthSignalRequest } from '../../domain/health-signals';
import {
  alertConcerns,
  alertsVerdict,
  expandQuery,
  FIRING_SHOWN,
  queryVerdict,
  regexAlternation,
} from '../../domain/prometheus';

const WHERE = 'Prometheus at http://prom:9090/';

function request(
  extra: Record<string, unknown> = {},
  regions = ['eastus'],
  services = ['web'],
): HealthSignalRequest {
  return {
    prometheus: prometheusSignalSchema.parse({ url: 'http://prom:9090', alerts: ['HighErrors'], ...extra }),
    regions,
    services,
  };
}

describe('label matching', () => {
  test.each([
    [
      'listed, firing, same region and service',
      { alertname: 'HighErrors', region: 'eastus', service: 'web' },
      'firing',
      true,
    ],
    ['no region label: applies to every region', { alertname: 'HighErrors', service: 'web' }, 'firing', true],
    ['no labels at all: applies everywhere', { alertname: 'HighErrors' }, 'firing', true],
    ['an empty region label counts as none', { alertname: 'HighErrors', region: '' }, 'firing', true],
    ['another region', { alertname: 'HighErrors', region: 'westus', service: 'web' }, 'firing', false],
    ['another service', { alertname: 'HighErrors', region: 'eastus', service: 'db' }, 'firing', false],
    ['values compare exactly (case)', { alertname: 'HighErrors', region: 'EastUS' }, 'firing', false],
    ['pending is not firing', { alertname: 'HighErrors', region: 'eastus' }, 'pending', false],
    ['not a listed alert', { alertname: 'DiskFull', region: 'eastus' }, 'firing', false],
    ['no alertname', { region: 'eastus' }, 'firing', false],
  ])('%s', (_, labels, state, concerns) => {
    expect(alertConcerns({ labels, state }, request())).toBe(concerns);
  });

  test('the label names come from the policy', () => {
    const req = request({ labels: { region: 'azure_region', service: 'app' } });
    const labels = { alertname: 'HighErrors', region: 'westus', azure_region: 'eastus', app: 'web' };
    expect(alertConcerns({ labels, state: 'firing' }, req)).toBe(true);
    expect(alertConcerns({ labels: { ...labels, app: 'db' }, state: 'firing' }, req)).toBe(false);
  });

  test('a request without services (no serviceCapacity tag: services unknown) does not filter by service', () => {
    const req = request({}, ['eastus'], []);
    expect(alertConcerns({ labels: { alertname: 'HighErrors', service: 'web' }, state: 'firing' }, req)).toBe(
      true,
    );
    expect(
      alertConcerns(
        { labels: { alertname: 'HighErrors', region: 'westus', service: 'web' }, state: 'firing' },
        req,
      ),
    ).toBe(false);
    expect(alertConcerns({ labels: { alertname: 'HighErrors' }, state: 'firing' }, req)).toBe(true);
  });
});

describe('query expansion', () => {
  test.each([
    [['eastus'], 'eastus'],
    [['eastus', 'westus2'], 'eastus|westus2'],
    [['east.us'], 'east\\\\.us'],
    [['a|b', '(c)', 'd*'], 'a\\\\|b|\\\\(c\\\\)|d\\\\*'],
    [['say "hi"'], 'say \\"hi\\"'],
    [['back\\slash'], 'back\\\\\\\\slash'],
    [[], ''],
  ])('regexAlternation(%j) = %s', (values, expected) => {
    expect(regexAlternation(values)).toBe(expected);
  });

  test.each([
    ['up{region=~"$regions"} == 0', 'up{region=~"eastus|westus"} == 0'],
    [
      'errors{region=~"$regions", service=~"$services"} > 0',
      'errors{region=~"eastus|westus", service=~"web"} > 0',
    ],
    ['a{r=~"$regions"} or b{r=~"$regions"}', 'a{r=~"eastus|westus"} or b{r=~"eastus|westus"}'],
    ['x{v="$regionsX"}', 'x{v="$regionsX"}'],
    ['sum(rate(x[5m])) > 1', 'sum(rate(x[5m])) > 1'],
  ])('%s → %s', (query, expected) => {
    expect(expandQuery(query, { regions: ['eastus', 'westus'], services: ['web'] })).toBe(expected);
  });

  test('unknown services (none in the request) expand to .*, which does not filter', () => {
    expect(expandQuery('errors{service=~"$services"}', { regions: ['eastus'], services: [] })).toBe(
      'errors{service=~".*"}',
    );
  });
});

describe('answers of the alerts API', () => {
  const alert = (labels: Record<string, string>, state = 'firing') => ({
    labels,
    state,
    annotations: {},
    activeAt: '2026-12-01T00:00:00Z',
    value: '1e+00',
  });
  const answer = (...alerts: unknown[]) => ({ status: 'success', data: { alerts } });

  test('no alert concerning the request is ok', () => {
    const body = answer(alert({ alertname: 'HighErrors', region: 'westus' }), alert({ alertname: 'Other' }));
    expect(alertsVerdict(body, request(), WHERE)).toEqual({ status: 'ok' });
    expect(alertsVerdict(answer(), request(), WHERE)).toEqual({ status: 'ok' });
  });

  test('a firing alert names itself and its labels', () => {
    const labels = { alertname: 'HighErrors', region: 'eastus', service: 'web' };
    expect(alertsVerdict(answer(alert(labels)), request(), WHERE)).toEqual({
      status: 'firing',
      firing: [{ name: 'HighErrors', labels }],
      reason: '1 alert(s) firing: HighErrors{region="eastus", service="web"}',
    });
  });

  test(`keeps the first ${FIRING_SHOWN} and counts the rest`, () => {
    const many = Array.from({ length: FIRING_SHOWN + 3 }, (_, i) =>
      alert({ alertname: 'HighErrors', instance: `h${i}` }),
    );
    const verdict = alertsVerdict(answer(...many), request(), WHERE);
    if (verdict.status !== 'firing') throw new Error(verdict.status);
    expect(verdict.firing).toHaveLength(FIRING_SHOWN);
    expect(verdict.reason).toMatch(/^13 alert\(s\) firing: HighErrors\{instance="h0"\};.* and 3 more$/);
  });

  test.each([
    [
      { status: 'error', errorType: 'unavailable', error: 'rule manager not ready' },
      `${WHERE} answered an error (unavailable): rule manager not ready`,
    ],
    [{ status: 'error' }, `${WHERE} answered an error: no message`],
    [
      { status: 'success', data: {} },
      `${WHERE} answered something else than the HTTP API's JSON (data.alerts: Invalid input: expected array, received undefined)`,
    ],
    [
      [],
      `${WHERE} answered something else than the HTTP API's JSON (Invalid input: expected object, received array)`,
    ],
  ])('an unusable answer is unreachable, never ok: %j', (body, reason) => {
    expect(alertsVerdict(body, request(), WHERE)).toEqual({ status: 'unreachable', reason });
  });
});

describe('answers of the query API', () => {
  const vector = (...metrics: Array<Record<string, string>>) => ({
    status: 'success',
    data: { resultType: 'vector', result: metrics.map((metric) => ({ metric, value: [1764547200, '1'] })) },
  });

  test('an empty vector is ok; any sample is firing, with its labels', () => {
    expect(queryVerdict(vector(), WHERE)).toEqual({ status: 'ok' });
    expect(queryVerdict(vector({ region: 'eastus', job: 'web' }), WHERE)).toEqual({
      status: 'firing',
      firing: [{ name: 'query', labels: { region: 'eastus', job: 'web' } }],
      reason: '1 series returned by the query: query{region="eastus", job="web"}',
    });
  });

  test('a matrix fires on series with samples', () => {
    const matrix = (values: unknown[]) => ({
      status: 'success',
      data: { resultType: 'matrix', result: [{ metric: { a: '1' }, values }] },
    });
    expect(queryVerdict(matrix([]), WHERE).status).toBe('ok');
    expect(queryVerdict(matrix([[1, '2']]), WHERE).status).toBe('firing');
  });

  test.each([
    [
      { status: 'success', data: { resultType: 'scalar', result: [1, '0'] } },
      /returned a scalar, not series/,
    ],
    [
      { status: 'error', errorType: 'bad_data', error: 'parse error' },
      /answered an error \(bad_data\): parse error$/,
    ],
    [
      { status: 'success', data: { resultType: 'vector', result: [{ metric: {} }] } },
      /something else than the HTTP API's JSON \(data\.result\[0\]\.value/,
    ],
    [null, /something else than the HTTP API's JSON/],
  ])('an unusable answer is unreachable: %j', (body, reason) => {
    const verdict = queryVerdict(body, WHERE);
    expect(verdict.status).toBe('unreachable');
    expect(verdict.status === 'unreachable' && verdict.reason).toMatch(reason);
  });
});
