import { executeChild, proxyActivities } from '@temporalio/workflow';

/**
 * The bare Temporal baseline for the throughput benchmark: the same shape as an Offpeak rollout
 * (one parent, one child per region, one child per machine, the same activities per machine, the
 * same steps one after another) with no logic at all.
 */
const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function baselineMachine(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}

export async function baselineRegion(steps: string[][], activities: number, prefix: string): Promise<void> {
  for (const step of steps)
    await Promise.all(
      step.map((m) => executeChild(baselineMachine, { workflowId: `${prefix}/${m}`, args: [activities] })),
    );
}

export async function baselineRollout(
  phases: Array<Array<{ region: string; steps: string[][] }>>,
  activities: number,
  id: string,
): Promise<void> {
  for (const phase of phases)
    await Promise.all(
      phase.map((r) =>
        executeChild(baselineRegion, {
          workflowId: `${id}/${r.region}`,
          args: [r.steps, activities, `${id}/${r.region}`],
        }),
      ),
    );
}
