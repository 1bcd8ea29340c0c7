/**
 * The fleet guard through its workflow, on a real dev server: the requests of scripts/bench-guard.ts
 * (by default 1,000 of 100 machines: 100,000 machines) each asked by its own holder workflow through the
 * real `requestLease` activity (signal-with-start), granted by the guard's signal, released at once by
 * a signal back. All holders start together. Reports grant latency (the holder's ask to the grant
 * reaching it, workflow time), p50/p95, for all and for those granted on arrival; grants per second
 * (all grants over the whole run); the guard's runs and history events; and the largest book a run
 * carried across continue-as-new (its payload's bytes, against Temporal's 2 MB limit).
 *
 *   OFFPEAK_BENCH_GUARD_REQUESTS (1000) and OFFPEAK_BENCH_GUARD_PER_REQUEST (100) scale it.
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from '../domain/rollout-spec';
import { startDevServerOnFreePorts } from '../servers/dev-server';
import { FLEET_GUARD_ID, leasesQuery } from '../workflows/guard-contracts';
import { guardRequests } from './bench-guard';
import type { HolderTimes } from './bench/guard-holder';
import { benchWorkerAndClient } from './bench-support';

const REQUESTS = Number(process.env.OFFPEAK_BENCH_GUARD_REQUESTS ?? 1000);
const PER_REQUEST = Number(process.env.OFFPEAK_BENCH_GUARD_PER_REQUEST ?? 100);
/** A guard that stalls (a book too large to continue as new: docs/fleet-guard.md) fails the bench. */
const DEADLINE_S = Number(process.env.OFFPEAK_BENCH_GUARD_DEADLINE_S ?? 600);
/** Holders started at once by the client (the rest follow as each start returns). */
const STARTING = 50;

const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN;

function deadline(seconds: number): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the guard did not serve every holder within ${seconds} s`)),
      seconds * 1000,
    );
    timer.unref();
  });
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServerOnFreePorts();
  try {
    const { worker, client, connection } = await benchWorkerAndClient(
      server.address,
      require.resolve('./bench/workflows'),
      'offpeak-bench-guard-',
    );
    const requests = guardRequests(REQUESTS, PER_REQUEST).map((r) => ({
      ...r,
      holder: { ...r.holder, workflowId: `bench-holder-${r.leaseId}` },
    }));

    const { times, seconds, book } = await worker.runUntil(async () => {
      const t0 = performance.now();
      const handles: Array<Promise<HolderTimes>> = [];
      let next = 0;
      const startNext = async (): Promise<void> => {
        while (next < requests.length) {
          const r = requests[next++];
          const handle = await client.workflow.start('benchLeaseHolder', {
            taskQueue: DEFAULT_TASK_QUEUE,
            workflowId: r.holder.workflowId,
            args: [r],
          });
          handles.push(handle.result() as Promise<HolderTimes>);
        }
      };
      await Promise.all(Array.from({ length: STARTING }, startNext));
      const times = await Promise.race([Promise.all(handles), deadline(DEADLINE_S)]);
      const seconds = (performance.now() - t0) / 1000;
      // The last run's book: every lease given back.
      return { times, seconds, book: await client.workflow.getHandle(FLEET_GUARD_ID).query(leasesQuery) };
    });

    // The guard's runs (continue-as-new), the largest book carried, and the events of the last.
    const runs: string[] = [];
    let carried = 0;
    for await (const w of client.workflow.list({ query: `WorkflowId = '${FLEET_GUARD_ID}'` })) {
      runs.push(w.runId);
      const history = await client.workflow.getHandle(FLEET_GUARD_ID, w.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const input = e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ?? [];
        carried = Math.max(carried, ...input.map((p) => p.data?.length ?? 0));
      }
    }
    const events = (await client.workflow.getHandle(FLEET_GUARD_ID).describe()).historyLength;
    await connection.close();

    const latency = times.map((t) => t.grantedAt - t.askedAt);
    const atOnce = times.filter((t) => !t.queued).map((t) => t.grantedAt - t.askedAt);
    const ms = (x: number) => `${Math.round(x)} ms`;
    const rows: Array<[string, string]> = [
      ['machines / requests', `${REQUESTS * PER_REQUEST} / ${REQUESTS} (${PER_REQUEST} machines each)`],
      ['all granted and released', `${times.length} in ${seconds.toFixed(1)} s`],
      ['grant latency, all (p50 / p95)', `${ms(pct(latency, 0.5))} / ${ms(pct(latency, 0.95))}`],
      [
        `grant latency, ${atOnce.length} granted on arrival (p50 / p95)`,
        `${ms(pct(atOnce, 0.5))} / ${ms(pct(atOnce, 0.95))}`,
      ],
      ['throughput', `${(times.length / seconds).toFixed(1)} grants/s`],
      ['guard runs (continue-as-new) / events in the last', `${runs.length} / ${events}`],
      ['largest book carried across continue-as-new', `${(carried / 1024).toFixed(0)} KB`],
      ['left in the book', `${book.held.length} held, ${book.waiting.length} waiting`],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(52)} ${v}\n`);
    if (book.held.length + book.waiting.length > 0) throw new Error('leases left in the book');
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n${String((err as Error).cause ?? '')}\n`);
  process.exit(1);
});
