import pino, { type Logger } from 'pino';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  type LogEntry,
  type LogLevel,
} from '@temporalio/worker';

/** Fields never written to a log line, at the top level and up to two levels down. */
const SECRETS = ['apiKey', 'password', 'passphrase', 'privateKey', 'key', 'token', 'secret', 'authorization'];
const REDACT = SECRETS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.OFFPEAK_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { app: 'offpeak' },
    },
    options.destination,
  );
}

const ID = /^offpeak\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)\/attempt-(\d+))?)?$/;

/**
 * The rollout, region, machine and attempt a workflow ID names (`offpeak/<rollout>/<region>/<machine>/attempt-<n>`),
 * so that every workflow and activity log line carries them as fields.
 */
export function workflowIdFields(workflowId: unknown): {
  rollout?: string;
  region?: string;
  machine?: string;
  attempt?: number;
} {
  const m = typeof workflowId === 'string' ? ID.exec(workflowId) : null;
  if (!m) return {};
  return {
    rollout: m[1],
    ...(m[2] ? { region: m[2] } : {}),
    ...(m[3] ? { machine: m[3], attempt: Number(m[4]) } : {}),
  };
}

/** Writes one of Temporal's log entries (SDK core, workflows, activities) as a pino line. */
export function logRuntimeEntry(logger: Logger, entry: LogEntry): void {
  const { error, ...meta } = entry.meta ?? {};
  const fields = {
    ...workflowIdFields(meta.workflowId),
    ...meta,
    ...(error === undefined ? {} : { err: error }), // pino serialises `err` with its message and stack
  };
  const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
  (logger[method] ?? logger.info).call(logger, fields, entry.message);
}

export interface RuntimeOptions {
  /** Serve Prometheus metrics (Temporal's and Offpeak's) on this `host:port`, at `/metrics`. */
  metricsAddress?: string;
}

let installed = false;

/**
 * Installs Temporal's runtime once per process: its logs (SDK core, workflows, activities) go through
 * pino, and with `metricsAddress` its metrics are served for Prometheus.
 */
export function installRuntimeLogger(logger: Logger, options: RuntimeOptions = {}): void {
  if (installed) return;
  installed = true;
  const level = (logger.level === 'silent' ? 'ERROR' : logger.level.toUpperCase()) as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level === ('FATAL' as LogLevel) ? 'ERROR' : level, (entry) =>
      logRuntimeEntry(logger, entry),
    ),
    telemetryOptions: {
      // The SDK core's own lines (retries, connection trouble) come through pino too, as JSON on the same
      // stream, instead of coloured text printed by the core beside it.
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      ...(options.metricsAddress ? { metrics: { prometheus: { bindAddress: options.metricsAddress } } } : {}),
    },
  });
}
