import type { LogEntry } from '@temporalio/worker';
import { createLogger, logRuntimeEntry, workflowIdFields } from '../../worker/logger';
import { machineWorkflowId, regionWorkflowId, rolloutWorkflowId } from '../../workflows/ids';

/** A pino logger writing JSON lines into an array. */
function capture(level = 'trace') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level,
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

test('secrets are redacted at the top level and nested, other fields kept', () => {
  const { logger, lines } = capture();
  logger.info(
    {
      apiKey: 'tmprl-abc',
      password: 'hunter2',
      connection: { address: 'my-ns.tmprl.cloud:7233', apiKey: 'tmprl-def' },
      ssh: { host: 'db-1', credentials: { password: 'p4ss', privateKey: '-----BEGIN' } },
    },
    'connecting',
  );
  expect(lines).toHaveLength(1);
  const line = lines[0];
  expect(line).toMatchObject({
    msg: 'connecting',
    app: 'offpeak',
    apiKey: '[redacted]',
    password: '[redacted]',
    connection: { address: 'my-ns.tmprl.cloud:7233', apiKey: '[redacted]' },
    ssh: { host: 'db-1', credentials: { password: '[redacted]', privateKey: '[redacted]' } },
  });
  expect(JSON.stringify(line)).not.toMatch(/tmprl-abc|tmprl-def|hunter2|p4ss|BEGIN/);
});

test('a workflow ID gives the rollout, region, machine and attempt', () => {
  expect(workflowIdFields(rolloutWorkflowId('nov-2026'))).toEqual({ rollout: 'nov-2026' });
  expect(workflowIdFields(regionWorkflowId('nov-2026', 'eastus'))).toEqual({
    rollout: 'nov-2026',
    region: 'eastus',
  });
  expect(workflowIdFields(machineWorkflowId('nov-2026', 'eastus', 'web-1', 2))).toEqual({
    rollout: 'nov-2026',
    region: 'eastus',
    machine: 'web-1',
    attempt: 2,
  });
  expect(workflowIdFields('someone-else/workflow')).toEqual({});
  expect(workflowIdFields(undefined)).toEqual({});
});

test("Temporal's workflow and activity log entries become pino lines with rollout, region and machine, secrets redacted", () => {
  const { logger, lines } = capture('info');
  const entry = (level: LogEntry['level'], message: string, meta: Record<string, unknown>): LogEntry => ({
    level,
    message,
    meta,
    timestampNanos: 0n,
  });
  logRuntimeEntry(
    logger,
    entry('WARN', 'Activity failed', {
      sdkComponent: 'worker',
      activityType: 'install',
      workflowId: machineWorkflowId('nov-2026', 'eastus', 'web-1', 1),
      error: new Error('simulated: install failed'),
      connection: { apiKey: 'tmprl-abc' },
    }),
  );
  logRuntimeEntry(
    logger,
    entry('INFO', 'region started', { workflowId: regionWorkflowId('nov-2026', 'westus') }),
  );
  logRuntimeEntry(logger, entry('DEBUG', 'below the level', { workflowId: rolloutWorkflowId('nov-2026') }));

  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({
    level: 40,
    msg: 'Activity failed',
    rollout: 'nov-2026',
    region: 'eastus',
    machine: 'web-1',
    attempt: 1,
    activityType: 'install',
    connection: { apiKey: '[redacted]' },
    err: { type: 'Error', message: 'simulated: install failed' },
  });
  expect((lines[0].err as { stack: string }).stack).toContain('simulated: install failed');
  expect(lines[1]).toMatchObject({ level: 30, msg: 'region started', rollout: 'nov-2026', region: 'westus' });
  expect(lines[1]).not.toHaveProperty('machine');
});
