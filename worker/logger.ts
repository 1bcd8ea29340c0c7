import pino, { type Logger } from 'pino';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/** Fields never written to a log line. */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'token',
  '*.token',
];

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

let installed = false;

/** Routes Temporal's own logs (SDK core, workflows, activities) through pino. Once per process. */
export function installRuntimeLogger(logger: Logger): void {
  if (installed) return;
  installed = true;
  const level = (logger.level === 'silent' ? 'ERROR' : logger.level.toUpperCase()) as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level === ('FATAL' as LogLevel) ? 'ERROR' : level, (entry) => {
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      (logger[method] ?? logger.info).call(logger, { ...entry.meta }, entry.message);
    }),
  });
}
