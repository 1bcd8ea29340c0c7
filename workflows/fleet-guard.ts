import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { LeaseBook, leaseProblems, type Lease } from '../domain/lease-book';
import { formatProblem } from '../domain/problems';
import {
  GUARD_EVENTS_PER_RUN,
  LEASE_EXPIRY_MS,
  leaseBeatSignal,
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

/** Expired leases `offpeak leases` still shows. */
const EXPIRED_SHOWN = 20;

/**
 * The fleet guard: one per namespace, it grants disruption leases so that every run's steps together keep
 * the availability rules (domain/lease-book.ts holds the rules and the queue; this workflow only wires
 * them). Requests, releases and heartbeats arrive as signals (a request by signal-with-start, so the
 * first one starts the guard); each request is answered by a signal to its holder (granted, queued and
 * why, or refused when the guard cannot place it), and so is the later grant of a queued one. A holder silent for `expiryMs` (terminated, cancelled, failed, its worker dead) loses its
 * leases. The book travels across continue-as-new, so history stays bounded.
 */
export async function fleetGuardWorkflow(input: FleetGuardInput = {}): Promise<void> {
  const book = new LeaseBook(input.book);
  const expiryMs = input.expiryMs ?? LEASE_EXPIRY_MS;
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
  setHandler(leaseBeatSignal, ({ workflowId }) => book.heartbeat(workflowId, Date.now()));
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

  const full = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (input.eventsPerRun ?? GUARD_EVENTS_PER_RUN);
  };
  for (;;) {
    const next = book.nextExpiry(expiryMs);
    const wake = () => changed || outbox.length > 0 || full();
    if (next === null) await condition(wake);
    else await condition(wake, Math.max(1, next - Date.now()));
    changed = false;
    const gone = book.expire(Date.now(), expiryMs);
    if (gone.length > 0) expired = [...gone.map((l) => leaseView(l)), ...expired].slice(0, EXPIRED_SHOWN);
    outbox.push(...book.grantWaiting(Date.now()).map(granted));
    await Promise.all(outbox.splice(0).map(send));
    show();
    if (full()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof fleetGuardWorkflow>({ ...input, book: book.state() });
    }
  }
}
