import type { Client, WorkflowHandle } from '@temporalio/client';

/**
 * When an end-to-end test waits for something that never comes, Jest's timeout says only "Exceeded timeout".
 * `within` turns such a wait into a failure that says what was awaited and how every workflow of the
 * namespace stood at that moment, so a hang seen once in CI can be read from its log.
 */
export async function within<T>(
  work: Promise<T>,
  ms: number,
  what: () => string,
  client: Client,
  /** Stops what would keep the test's process alive once it failed (a running worker). */
  stop?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const awaited = `${what()} did not happen within ${ms} ms`; // as it stood then, not once reported
      void namespaceReport(client).then(
        (report) => reject(new Error(`${awaited}\n${report}`)),
        (err: unknown) => reject(new Error(`${awaited} (no report: ${err})`)),
      );
    }, ms);
  });
  // Should the work end while the report is being gathered, the late failure has nobody to tell.
  late.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    stop?.();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Every workflow of the namespace: its status, history length, pending work and last events. */
export async function namespaceReport(client: Client, lastEvents = 20): Promise<string> {
  const lines: string[] = [];
  for await (const w of client.workflow.list())
    lines.push(...(await describeOne(client, w.workflowId, w.runId, lastEvents)).lines);
  return lines.join('\n');
}

/**
 * One workflow as `namespaceReport` shows it, then its running children's, `depth` levels down: for a
 * server without a visibility listing (the time-skipping one), where the workflows are known by ID.
 */
export async function workflowReport(
  client: Client,
  workflowId: string,
  depth = 2,
  lastEvents = 20,
): Promise<string> {
  const { lines, children } = await describeOne(client, workflowId, undefined, lastEvents);
  if (depth > 0)
    for (const child of children) lines.push(await workflowReport(client, child, depth - 1, lastEvents));
  return lines.join('\n');
}

async function describeOne(
  client: Client,
  workflowId: string,
  runId: string | undefined,
  lastEvents: number,
): Promise<{ lines: string[]; children: string[] }> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe();
  const activities = (d.raw.pendingActivities ?? []).map((a) =>
    `${a.activityType?.name} attempt ${a.attempt} ${a.lastFailure?.message ?? ''}`.trim(),
  );
  const task = d.raw.pendingWorkflowTask;
  const lines = [
    `${workflowId} (${d.runId}) ${d.status.name}, ${d.historyLength} events` +
      (activities.length ? `; activities: ${activities.join(', ')}` : '') +
      (task ? `; workflow task ${task.state} attempt ${task.attempt}` : ''),
  ];
  const children = (d.raw.pendingChildren ?? []).flatMap((c) => (c.workflowId ? [c.workflowId] : []));
  if (d.status.name !== 'RUNNING') return { lines, children };
  const events = (await handle.fetchHistory()).events ?? [];
  const kinds = events.slice(-lastEvents).map((e) => {
    const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?';
    return `${e.eventId}:${kind.replace(/EventAttributes$/, '')}`;
  });
  lines.push(`  last events: ${kinds.join(' ')}`);
  // A failed workflow task says why (a task that fails again on every attempt is not recorded again).
  for (const e of events)
    if (e.workflowTaskFailedEventAttributes) {
      const { cause, failure } = e.workflowTaskFailedEventAttributes;
      const stack = failure?.stackTrace?.split('\n').slice(0, 8).join('\n    ');
      lines.push(`  task failed at ${e.eventId} (cause ${cause}): ${failure?.message}\n    ${stack ?? ''}`);
    }
  return { lines, children };
}

/**
 * How many workflow tasks failed or timed out since the workflow's last completed one (the time-skipping
 * server's `describe` shows no pending task, so this reads the history).
 */
export async function tasksFailingSince(handle: WorkflowHandle): Promise<number> {
  let failing = 0;
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.workflowTaskCompletedEventAttributes) failing = 0;
    else if (e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) failing++;
  }
  return failing;
}
