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
  requestNextLeaseSignal,
  type FleetGuardInput,
  type LeaseAnswer,
  type LeaseRequest,
  type LeasesQueryOptions,
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
  const book = new LeaseBook(input.carry ?? input.book);
  const checkMs = input.checkMs ?? HOLDER_CHECK_MS;
  const staleMs = input.staleMs ?? HOLDER_STALE_MS;
  let expired: LeaseView[] = [];
  let changed = false;

  const show = () => {
    const { held, waiting } = book.counts();
    setLeaseGauges(held, waiting);
    const first = book.firstWaiting();
    setCurrentDetails(
      `${held} lease(s) held, ${waiting} waiting` +
        (first ? `; first waiting: ${book.blockerOf(first)?.reason}` : ''),
    );
  };
  // Answers go out from the main loop: a signal handler only changes the book.
  const outbox: LeaseAnswer[] = [];
  /** Holders of refused requests (not in the book), until their answer is sent. */
  const pending = new Map<string, string>();
  /** A request, or (`after`) the next step of a holder that holds `after`. */
  const ask = (request: LeaseRequest, after?: string) => {
    const problems = leaseProblems(request);
    if (problems.length > 0) {
      const refused = `the fleet guard cannot grant lease ${request.leaseId}: ${problems.map(formatProblem).join('; ')}`;
      outbox.push({ leaseId: request.leaseId, granted: false, refused });
      pending.set(request.leaseId, request.holder.workflowId);
      return;
    }
    const known = book.get(request.leaseId) !== undefined;
    const answer =
      after === undefined ? book.request(request, Date.now()) : book.requestAfter(request, after, Date.now());
    if (answer.granted && !known)
      recordLeaseWait(request.holder.rolloutId, request.holder.region, 0, request.unsafe);
    outbox.push({
      leaseId: request.leaseId,
      granted: answer.granted,
      ...(answer.blocker ? { waitingFor: answer.blocker.reason } : {}),
    });
  };
  const release = (leaseId: string) => void (changed = book.release(leaseId) || changed);
  setHandler(requestLeaseSignal, (request) => ask(request));
  setHandler(releaseLeaseSignal, ({ leaseId }) => release(leaseId));
  setHandler(requestNextLeaseSignal, ({ after, request }) => ask(request, after));
  setHandler(leasesQuery, ({ rolloutId, names: asked }: LeasesQueryOptions = {}) => {
    const names = asked ?? Infinity; // through JSON, a caller's Infinity is null
    const mine = (l: { holder: { rolloutId: string } }) =>
      rolloutId === undefined || l.holder.rolloutId === rolloutId;
    return {
      held: book
        .holding()
        .filter(mine)
        .map((l) => leaseView(l, undefined, undefined, names)),
      waiting: book
        .waiting()
        .filter(mine)
        .map((l) => {
          const found = book.blockerOf(l);
          const by = found && book.get(found.leaseId);
          const blockedBy = by && {
            leaseId: by.leaseId,
            ...{ rolloutId: by.holder.rolloutId, region: by.holder.region, step: by.holder.step },
            held: book.isHeld(by.leaseId),
          };
          return leaseView(l, found?.reason, blockedBy, names);
        }),
      expired: expired
        .filter((l) => rolloutId === undefined || l.rolloutId === rolloutId)
        .map((l) => ({ ...l, machines: l.machines.slice(0, names) })),
    };
  });
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
  /**
   * Answers on their way. The loop does not wait for them: a grant goes out while the previous answers
   * are still being delivered, so one slow delivery holds up no other holder.
   */
  const sending = new Set<Promise<void>>();
  const sendAll = () => {
    for (const answer of outbox.splice(0)) {
      const delivered: Promise<void> = send(answer).then(() => void sending.delete(delivered));
      sending.add(delivered);
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
  changed = book.counts().waiting > 0;
  for (;;) {
    const wake = () => changed || outbox.length > 0 || full();
    // Only while someone waits do the holders' lives matter.
    const checking = book.counts().waiting > 0;
    if (!checking) await condition(wake);
    else if (!(await condition(wake, checkMs))) await dropGone();
    changed = false;
    outbox.push(...book.grantWaiting(Date.now()).map(granted));
    sendAll();
    show();
    if (full()) {
      // Every answer due is delivered before the run ends, those to requests that arrive meanwhile too.
      do {
        await condition(allHandlersFinished);
        outbox.push(...book.grantWaiting(Date.now()).map(granted));
        sendAll();
        await Promise.all(sending);
      } while (outbox.length > 0 || sending.size > 0);
      // Compactly: one object per machine would be over the payload limit past ~20,000 machines.
      await continueAsNew<typeof fleetGuardWorkflow>({ ...input, book: undefined, carry: book.carry() });
    }
  }
}
