import type {
  HealthSignalRequest,
  HealthSignalSource,
  HealthSignalVerdict,
} from '../../domain/health-signals';
import { alertsVerdict, expandQuery, queryVerdict } from '../../domain/prometheus';

/**
 * The production `HealthSignalSource`: Prometheus's HTTP API, asked with Node's fetch. `alerts` reads
 * GET /api/v1/alerts and keeps the listed alerts that concern the request (domain/prometheus.ts says
 * how labels match); `query` runs the PromQL query, `$regions` / `$services` expanded, through
 * POST /api/v1/query (a form), and any sample returned is firing.
 *
 * Nothing here passes silently: a refused connection, a timeout (`timeoutSeconds`), a non-2xx answer, a
 * body that is not the API's JSON or `status: error` is `unreachable` with the reason, never `ok`.
 * Reasons name the server without the credentials a URL may carry: verdicts land in workflow histories.
 */
export function prometheusSource(): HealthSignalSource {
  return {
    async check(request: HealthSignalRequest): Promise<HealthSignalVerdict> {
      const { url, query, timeoutSeconds } = request.prometheus;
      const base = new URL(url.endsWith('/') ? url : `${url}/`);
      // fetch refuses a URL with credentials: they travel as basic authentication.
      const auth = base.username
        ? `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`
        : undefined;
      base.username = base.password = '';
      // A query goes as a form (POST): expanded over many regions it may outgrow a URL.
      const form =
        query === undefined ? undefined : new URLSearchParams({ query: expandQuery(query, request) });
      const target = new URL(form ? 'api/v1/query' : 'api/v1/alerts', base);
      const where = `Prometheus at ${base.origin}${base.pathname}`;
      const answer = await askJson(target, { timeoutSeconds, where, auth, form });
      if ('unreachable' in answer) return { status: 'unreachable', reason: answer.unreachable };
      return query === undefined
        ? alertsVerdict(answer.body, request, where)
        : queryVerdict(answer.body, where);
    },
  };
}

/**
 * The JSON body of a GET (or of a form's POST), or why there is none. A 4xx with the API's error JSON is
 * read as its error.
 */
async function askJson(
  url: URL,
  ask: { timeoutSeconds: number; where: string; auth?: string; form?: URLSearchParams },
): Promise<{ body: unknown } | { unreachable: string }> {
  const { timeoutSeconds, where, auth, form } = ask;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      ...(form ? { method: 'POST', body: form } : {}),
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
      headers: { accept: 'application/json', ...(auth ? { authorization: auth } : {}) },
    });
    text = await response.text();
  } catch (err) {
    return { unreachable: `${where} unreachable: ${networkReason(err, timeoutSeconds)}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // Prometheus answers bad queries with 400 or 422 and its error JSON: that error is the better reason.
  const apiError =
    typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'error';
  if (!response.ok && !apiError)
    return {
      unreachable: `${where} answered ${response.status} ${response.statusText}`.trimEnd() + snippet(text),
    };
  if (body === undefined)
    return { unreachable: `${where} answered something else than JSON${snippet(text)}` };
  return { body };
}

const snippet = (text: string) => (text.trim() ? `: ${text.trim().slice(0, 200)}` : '');

/** Why fetch failed. Duck-typed: fetch's errors may come from another realm (a test runner's sandbox). */
function networkReason(err: unknown, timeoutSeconds: number): string {
  const e = (err ?? {}) as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutSeconds} s`;
  if (e.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  return e.message ?? String(err);
}
