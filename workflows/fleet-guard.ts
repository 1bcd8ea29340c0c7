import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LeaseBook, leaseProblems, type Lease } from '../domain/lease-book';
import { formatProblem } from '../domain/problems';
import {
  GUARD_EVENTS_PER_RUN,
  HOLDER_CHECK_MS,
  HOLDER_STALE_MS,
  leaseAnswerSignal,
  leasesQuery,
  leaseView,
  releaseLeaseSignal,
  requestLeaseSignal,
  type FleetGuardInput,
  type LeaseAnswer,
  type LeaseView,
} from './guard-contracts';
import { recordLeaseWait, setLeaseGauges } from './metrics';

const { holdersGone } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** Leases of gone holders `offpeak leases` still shows. */
const EXPIRED_SHOWN = 20;

/**
 * The fleet guard: one per namespace, it grants disruption leases so that every run's steps together keep
 * the availability rules (domain/lease-book.ts holds the rules and the queue; this workflow only wires
 * them). Requests and releases arrive as signals (a request by signal-with-start, so the first one
 * starts the guard); each request is answered by a signal to its holder (granted, queued and why, or
 * refused when the guard cannot place it), and so is the later grant of a queued one. While anything
 * waits, the guard checks every `checkMs` that the holders still live: one that ended, or whose worker
 * left a task unpicked for `staleMs`, loses its leases. The book travels across continue-as-new.
 */
export async function fleetGuardWorkflow(input: FleetGuardInput = {}): Promise<void> {
  const book = new LeaseBook(input.book);
  const checkMs = input.checkMs ?? HOLDER_CHECK_MS;
  const staleMs = input.staleMs ?? HOLDER_STALE_MS;
  let expired: LeaseView[] = [];
  let changed = false;

  const show = () => {
    setLeaseGauges(book.holding().length, book.waiting().length);
    setCurrentDetails(
      `${book.holding().length} lease(s) held, ${book.waiting().length} waiting` +
        (book.waiting()[0] ? `; first waiting: ${book.blockerOf(book.waiting()[0])?.reason}` : ''),
    );
  };
  // Answers go out from the main loop: a signal handler only changes the book.
  const outbox: LeaseAnswer[] = [];
  /** Holders of refused requests (not in the book), until their answer is sent. */
  const pending = new Map<string, string>();
  setHandler(requestLeaseSignal, (request) => {
    const problems = leaseProblems(request);
    if (problems.length > 0) {
      const refused = `the fleet guard cannot grant lease ${request.leaseId}: ${problems.map(formatProblem).join('; ')}`;
      outbox.push({ leaseId: request.leaseId, granted: false, refused });
      pending.set(request.leaseId, request.holder.workflowId);
      return;
    }
    const known = book.get(request.leaseId) !== undefined;
    const answer = book.request(request, Date.now());
    if (answer.granted && !known)
      recordLeaseWait(request.holder.rolloutId, request.holder.region, 0, request.unsafe);
    outbox.push({
      leaseId: request.leaseId,
      granted: answer.granted,
      ...(answer.blocker ? { waitingFor: answer.blocker.reason } : {}),
    });
  });
  setHandler(releaseLeaseSignal, ({ leaseId }) => void (changed = book.release(leaseId) || changed));
  setHandler(leasesQuery, () => ({
    held: book.holding().map((l) => leaseView(l)),
    waiting: book.waiting().map((l) => leaseView(l, book.blockerOf(l)?.reason)),
    expired,
  }));
  show();

  /** Sends an answer; a holder that is gone gives its lease back. */
  const send = async (answer: LeaseAnswer) => {
    const holder = book.get(answer.leaseId)?.holder.workflowId ?? pending.get(answer.leaseId);
    pending.delete(answer.leaseId);
    if (holder === undefined) return;
    try {
      await getExternalWorkflowHandle(holder).signal(leaseAnswerSignal, answer);
    } catch {
      changed = book.release(answer.leaseId) || changed;
    }
  };
  const granted = (lease: Lease): LeaseAnswer => {
    recordLeaseWait(lease.holder.rolloutId, lease.holder.region, Date.now() - lease.askedAt, lease.unsafe);
    return { leaseId: lease.leaseId, granted: true };
  };

  /** Drops the leases of holders that ended, or whose worker is gone (a task unpicked for `staleMs`). */
  const dropGone = async () => {
    let gone: string[];
    try {
      gone = await holdersGone(book.holders(), staleMs, Date.now());
    } catch {
      return; // the check failed: the next one will tell
    }
    for (const workflowId of gone) {
      const dropped = book.dropHolder(workflowId).map((l) => leaseView(l));
      expired = [...dropped, ...expired].slice(0, EXPIRED_SHOWN);
    }
  };

  const full = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (input.eventsPerRun ?? GUARD_EVENTS_PER_RUN);
  };
  // A run that continued as new may carry a release nobody has acted on yet: look at the queue first.
  changed = book.waiting().length > 0;
  for (;;) {
    const wake = () => changed || outbox.length > 0 || full();
    // Only while someone waits do the holders' lives matter.
    const checking = book.waiting().length > 0;
    if (!checking) await condition(wake);
    else if (!(await condition(wake, checkMs))) await dropGone();
    changed = false;
    outbox.push(...book.grantWaiting(Date.now()).map(granted));
    await Promise.all(outbox.splice(0).map(send));
    show();
    if (full()) {
      await condition(allHandlersFinished);
      // Answers to requests that arrived meanwhile go out before the run ends, until none is left: a
      // request can arrive with the delivery of the last answers, and an answer not sent is lost with the
      // run (its holder would wait for ever; seen at 10,000 machines).
      do {
        changed = false;
        outbox.push(...book.grantWaiting(Date.now()).map(granted));
        await Promise.all(outbox.splice(0).map(send));
      } while (outbox.length > 0 || changed);
      await continueAsNew<typeof fleetGuardWorkflow>({ ...input, book: book.state() });
    }
  }
}
