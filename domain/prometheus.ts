import { z } from 'zod';
import type { FiringSignal, HealthSignalRequest, HealthSignalVerdict } from './health-signals';
import { formatProblem, problemsFromZod } from './problems';

/**
 * The pure half of the Prometheus health signal (activities/signals/prometheus.ts does the HTTP): which
 * alerts concern a phase, how `$regions` / `$services` expand in a query, and how an answer of the HTTP API
 * (https://prometheus.io/docs/prometheus/latest/querying/api/) becomes a verdict.
 *
 * Label matching, for `alerts`: an alert concerns the request when
 *  1. it is firing (`state: firing`; pending and inactive alerts do not count),
 *  2. its `alertname` is one of the policy's `alerts`, and
 *  3. for each of the region and service labels (names from the policy's `labels`): the alert has no such
 *     label (or an empty one), so it applies to every region (service); or its value is one of the
 *     request's regions (services). Values compare exactly, case included.
 * A request without services (the policy names no `serviceCapacity.tag`, so Offpeak does not know which
 * services its machines run) does not filter by the service label: a firing alert of the region concerns it.
 */

/** Firing signals kept in a verdict (and named in its reason): the first ones, then a count. */
export const FIRING_SHOWN = 10;

export function alertConcerns(
  alert: { labels: Record<string, string>; state: string },
  request: Pick<HealthSignalRequest, 'regions' | 'services'> & {
    prometheus: Pick<HealthSignalRequest['prometheus'], 'alerts' | 'labels'>;
  },
): boolean {
  const { alerts = [], labels } = request.prometheus;
  const applies = (label: string, values: readonly string[]) => {
    const value = alert.labels[label];
    return value === undefined || value === '' || values.includes(value);
  };
  return (
    alert.state === 'firing' &&
    alerts.includes(alert.labels.alertname ?? '') &&
    applies(labels.region, request.regions) &&
    (request.services.length === 0 || applies(labels.service, request.services))
  );
}

/** RE2's metacharacters, escaped so a value matches itself only. */
const escapeRegex = (value: string) => value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
/** Escaped again for a double-quoted PromQL string, where a backslash and a quote need a backslash. */
const escapeString = (value: string) => value.replace(/[\\"]/g, '\\$&');

/**
 * A regex alternation of `values`, ready for a double-quoted matcher: `region=~"$regions"` becomes
 * `region=~"eastus|west\\.eu"`. No values expand to an empty pattern, which (Prometheus anchors every
 * regex) matches only series without that label.
 */
export function regexAlternation(values: readonly string[]): string {
  return escapeString(values.map(escapeRegex).join('|'));
}

/**
 * The policy's query with `$regions` and `$services` expanded for the request. Unknown services (none in
 * the request: no `serviceCapacity.tag`) expand to `.*`, so they do not filter, as in `alertConcerns`.
 */
export function expandQuery(
  query: string,
  request: Pick<HealthSignalRequest, 'regions' | 'services'>,
): string {
  return query.replace(/\$(regions|services)\b/g, (_, which: 'regions' | 'services') =>
    which === 'services' && request.services.length === 0 ? '.*' : regexAlternation(request[which]),
  );
}

// ---- Answers of the HTTP API -------------------------------------------------------------------------

const labelSet = z.record(z.string(), z.string());
const sampleValue = z.tuple([z.number(), z.string()]);

const errorAnswer = z.object({
  status: z.literal('error'),
  errorType: z.string().optional(),
  error: z.string().optional(),
});
const alertsAnswer = z.object({
  status: z.literal('success'),
  data: z.object({ alerts: z.array(z.object({ labels: labelSet, state: z.string() })) }),
});
const queryAnswer = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [
    z.object({
      resultType: z.literal('vector'),
      result: z.array(z.object({ metric: labelSet, value: sampleValue })),
    }),
    z.object({
      resultType: z.literal('matrix'),
      result: z.array(z.object({ metric: labelSet, values: z.array(sampleValue) })),
    }),
    z.object({ resultType: z.enum(['scalar', 'string']), result: sampleValue }),
  ]),
});

const cut = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}… (cut)` : text);

/** What an unparsable or `status: error` answer says, as the reason of an unreachable verdict. */
function unusable(body: unknown, schema: z.ZodType, where: string): HealthSignalVerdict {
  const failed = errorAnswer.safeParse(body);
  if (failed.success)
    return {
      status: 'unreachable',
      reason: `${where} answered an error${failed.data.errorType ? ` (${failed.data.errorType})` : ''}: ${cut(failed.data.error ?? 'no message')}`,
    };
  const parsed = schema.safeParse(body);
  const problem = parsed.success ? 'unexpected answer' : formatProblem(problemsFromZod(parsed.error)[0]);
  return {
    status: 'unreachable',
    reason: `${where} answered something else than the HTTP API's JSON (${cut(problem)})`,
  };
}

/** `name{a="1", b="2"}`, as Prometheus writes a series. */
export function describeSignal(signal: FiringSignal): string {
  const labels = Object.entries(signal.labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}="${v}"`);
  return `${signal.name}{${labels.join(', ')}}`;
}

function verdictOf(firing: FiringSignal[], what: string): HealthSignalVerdict {
  if (!firing.length) return { status: 'ok' };
  const shown = firing.slice(0, FIRING_SHOWN);
  const more = firing.length - shown.length;
  return {
    status: 'firing',
    firing: shown,
    reason: `${firing.length} ${what}: ${shown.map(describeSignal).join('; ')}${more ? ` and ${more} more` : ''}`,
  };
}

/** The verdict of a GET /api/v1/alerts answer (its JSON body) for the request. */
export function alertsVerdict(
  body: unknown,
  request: HealthSignalRequest,
  where: string,
): HealthSignalVerdict {
  const parsed = alertsAnswer.safeParse(body);
  if (!parsed.success) return unusable(body, alertsAnswer, where);
  const firing = parsed.data.data.alerts
    .filter((a) => alertConcerns(a, request))
    .map((a) => ({ name: a.labels.alertname, labels: a.labels }));
  return verdictOf(firing, `alert(s) firing`);
}

/** The verdict of an /api/v1/query answer: any sample is firing; a scalar or string result is a mistake. */
export function queryVerdict(body: unknown, where: string): HealthSignalVerdict {
  const parsed = queryAnswer.safeParse(body);
  if (!parsed.success) return unusable(body, queryAnswer, where);
  const { data } = parsed.data;
  let series: Array<{ metric: Record<string, string> }>;
  if (data.resultType === 'vector') series = data.result;
  else if (data.resultType === 'matrix') series = data.result.filter((s) => s.values.length > 0);
  else
    return {
      status: 'unreachable',
      reason: `the query returned a ${data.resultType}, not series: write it so that it returns the series that are bad (for example \`... > 0\`)`,
    };
  return verdictOf(
    series.map((s) => ({ name: 'query', labels: s.metric })),
    'series returned by the query',
  );
}
