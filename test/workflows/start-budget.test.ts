import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { releaseMonthAt } from '../../domain/calendar';
import { MACHINE_SETTINGS } from '../../domain/machine-settings';
import type { RolloutInput } from '../../domain/rollout-spec';
import { regionWorkflowId } from '../../workflows/ids';
import type { RolloutSummary } from '../../workflows/messages';
import { timeSkippingServer } from '../support/server-hooks';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { driversOf, startRollout, withWorker } from '../support/workflow-harness';

jest.setTimeout(120_000);

const MONTH = releaseMonthAt(Date.now());
type Event = temporal.api.history.v1.IHistoryEvent;

let env: TestWorkflowEnvironment;
// A server per test: a finished rollout leaves the fleet guard's timers, which a later wait would skip to.
timeSkippingServer('test', (e) => (env = e));

/**
 * One region, two lanes that start at once: zone 1 (three machines, one step) beside three standalone
 * machines (one step), so both lanes start a step in the region's first workflow task.
 */
function twoLanes(
  rolloutId: string,
  now: number,
  knobs: Pick<RolloutInput, 'startsInFlightBytes'>,
): RolloutInput {
  const machines = [
    ...['z1', 'z2', 'z3'].map((n) => vm(n, { zone: '1' })),
    ...['s1', 's2', 's3'].map((n) => vm(n)),
  ];
  const input = rolloutInputOf({
    rolloutId,
    fleet: { machines },
    policy: { windows: 'always', month: MONTH, disruptionBudget: '100%' },
    now: new Date(now),
  });
  return { ...input, ...knobs };
}

/** The region's machine starts, grouped by the workflow task whose completion issued them. */
function startsPerTask(events: Event[]): number[] {
  const perTask = new Map<number, number>();
  for (const e of events) {
    const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (!a) continue;
    const task = Number(a.workflowTaskCompletedEventId);
    perTask.set(task, (perTask.get(task) ?? 0) + 1);
  }
  return [...perTask.values()];
}

async function run(rolloutId: string, knobs: Pick<RolloutInput, 'startsInFlightBytes'>) {
  const input = twoLanes(rolloutId, await env.currentTimeMs(), knobs);
  return withWorker(env, driversOf({ stateDir: tempDir(rolloutId), month: MONTH }), async () => {
    const handle = await startRollout(env, input);
    const result = (await handle.result()) as RolloutSummary;
    const region = await env.client.workflow.getHandle(regionWorkflowId(rolloutId, 'eastus')).fetchHistory();
    return { input, result, events: region.events! };
  });
}

test('a step starts in one task when the start budget holds it', async () => {
  // The default budget (1 MB) holds a whole step: each lane's step starts in one task (both lanes' in one,
  // when their leases arrive together).
  const { input, result, events } = await run('budget-roomy', {});
  expect(input.regions[0].laneStarts).toHaveLength(2);
  expect(result).toMatchObject({ status: 'Completed', planned: 6, succeeded: 6 });
  const perTask = startsPerTask(events);
  expect(perTask.reduce((a, b) => a + b)).toBe(6);
  expect(Math.max(...perTask)).toBeGreaterThanOrEqual(3);

  // A machine attempt's input carries only the settings a machine needs; the rollout's own (its error
  // budget, its approvals) stay with the rollout.
  const start = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)!;
  const payload = start.startChildWorkflowExecutionInitiatedEventAttributes!.input!.payloads![0].data!;
  const attempt = JSON.parse(Buffer.from(payload).toString('utf8')) as { settings: object };
  expect(Object.keys(attempt.settings).sort()).toEqual(
    MACHINE_SETTINGS.filter((k) => input.settings[k] !== undefined).sort(),
  );
  expect(attempt.settings).not.toHaveProperty('errorBudget');
  expect(attempt.settings).not.toHaveProperty('approvals');
});

test('lanes share the start budget: below one machine, one start a task, across both lanes', async () => {
  const { result, events } = await run('budget-tight', { startsInFlightBytes: 1 });
  expect(result).toMatchObject({ status: 'Completed', planned: 6, succeeded: 6 });
  expect(startsPerTask(events)).toEqual([1, 1, 1, 1, 1, 1]);
});
