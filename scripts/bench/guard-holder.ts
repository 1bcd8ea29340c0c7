import { condition, getExternalWorkflowHandle, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  FLEET_GUARD_ID,
  leaseAnswerSignal,
  releaseLeaseSignal,
  type LeaseRequest,
} from '../../workflows/guard-contracts';

const { requestLease } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second' },
});

/** When a bench holder asked, when its grant reached it (workflow time: its task's start), and whether it queued. */
export interface HolderTimes {
  askedAt: number;
  grantedAt: number;
  queued: boolean;
}

/**
 * A region step's lease and nothing else (scripts/bench-guard-workflow.ts): asks the guard through the
 * real `requestLease` activity (signal-with-start), waits for the guard's grant signal, and releases at
 * once, so the guard's cost is all that is measured.
 */
export async function benchLeaseHolder(request: LeaseRequest): Promise<HolderTimes> {
  let grantedAt = 0;
  let queued = false;
  setHandler(leaseAnswerSignal, (answer) => {
    if (answer.leaseId !== request.leaseId) return;
    if (answer.granted) grantedAt ||= Date.now();
    else queued = true;
  });
  const askedAt = Date.now();
  await requestLease(request);
  await condition(() => grantedAt > 0);
  await getExternalWorkflowHandle(FLEET_GUARD_ID).signal(releaseLeaseSignal, { leaseId: request.leaseId });
  return { askedAt, grantedAt, queued };
}
