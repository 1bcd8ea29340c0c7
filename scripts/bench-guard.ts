/**
 * The fleet guard's lease book at scale (pure, no server): 100,000 machines in 50 regions (25 geo-pairs,
 * three zones each, sets of 50 machines in five update domains, services of 1,000 machines), asked for
 * by 1,000 concurrent requests of 100 machines (one step each: one zone, or one update domain of sets).
 * All 1,000 arrive at once; then the holders release one at a time, oldest grant first, and the waiting
 * queue is served after each release. Reports the cost of a request, of a release with its queue pass,
 * the throughput, and fairness: the most grants that overtook any one request; and, with every request in
 * the book (100,000 machines held or waiting), what the guard carries across continue-as-new: its bytes
 * (against Temporal's 2 MB payload limit), the time to carry it and to rebuild the book from it.
 */
import { performance } from 'node:perf_hooks';
import {
  LeaseBook,
  TEMPORAL_PAYLOAD_LIMIT_BYTES,
  type LeaseMachine,
  type LeaseRequest,
} from '../domain/lease-book';

const MACHINES = 100_000;
const REQUESTS = 1_000;
const PER_REQUEST = MACHINES / REQUESTS;
const REGIONS = 50;

/**
 * `count` requests of `perRequest` machines over 50 regions, in a deterministic shuffled order; the
 * through-the-workflow bench (scripts/bench-guard-workflow.ts) asks the same ones of a real guard.
 */
export function guardRequests(count = REQUESTS, perRequest = PER_REQUEST): LeaseRequest[] {
  const out: LeaseRequest[] = [];
  for (let r = 0; r < count; r++) {
    const regionIndex = r % REGIONS;
    const region = `region-${regionIndex}`;
    const pair = `region-${regionIndex ^ 1}`;
    const step = Math.floor(r / REGIONS); // 20 steps per region
    const zonal = step % 2 === 0;
    const machines: LeaseMachine[] = [];
    for (let k = 0; k < perRequest; k++) {
      const i = r * perRequest + k;
      const m: LeaseMachine = { name: `m${i}`, region, service: `svc-${i % 100}`, serviceAllowance: 500 };
      if (zonal) m.zone = String(1 + (step % 3));
      else Object.assign(m, { availabilitySet: `set-${r}-${k % 10}`, updateDomain: step % 5, setSize: 50 });
      machines.push(m);
    }
    out.push({
      leaseId: `lease-${r}`,
      holder: { workflowId: `wf-${r}`, rolloutId: `run-${r % 7}`, region, step: `step ${step}` },
      unsafe: false,
      pairs: { [region]: [pair] },
      machines,
    });
  }
  // Arrival order: shuffled deterministically, so regions and their pairs interleave.
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (x: number) => `${x.toFixed(3)} ms`;

function main(): void {
  const all = guardRequests();
  const book = new LeaseBook();
  const asked: number[] = [];
  const order = new Map<string, number>();
  const grantedOrder: string[] = [];
  const t0 = performance.now();
  for (const [i, r] of all.entries()) {
    order.set(r.leaseId, i);
    const start = performance.now();
    if (book.request(r, i).granted) grantedOrder.push(r.leaseId);
    asked.push(performance.now() - start);
  }
  const grantedAtOnce = grantedOrder.length;
  // Continue-as-new with every request in the book (not counted in the total below).
  const aside = performance.now();
  const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x), 'utf8');
  const c0 = performance.now();
  const carry = JSON.stringify(book.carry());
  const carried = performance.now() - c0;
  const r0 = performance.now();
  new LeaseBook(JSON.parse(carry));
  const rebuilt = performance.now() - r0;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  const carryRow = `${mb(Buffer.byteLength(carry))} (one object per machine: ${mb(bytes(book.state()))}; limit ${mb(TEMPORAL_PAYLOAD_LIMIT_BYTES)})`;
  const setAside = performance.now() - aside;
  const passes: number[] = [];
  for (let next = 0; next < grantedOrder.length; next++) {
    const start = performance.now();
    book.release(grantedOrder[next]);
    for (const l of book.grantWaiting(next)) grantedOrder.push(l.leaseId);
    passes.push(performance.now() - start);
  }
  const total = performance.now() - t0 - setAside;
  // Fairness: for each request, how many later arrivals were granted before it.
  let overtaken = 0;
  const position = new Map(grantedOrder.map((id, k) => [id, k]));
  for (const id of grantedOrder) {
    const mine = order.get(id)!;
    let n = 0;
    for (const other of grantedOrder.slice(0, position.get(id)!)) if (order.get(other)! > mine) n++;
    overtaken = Math.max(overtaken, n);
  }
  const rows: Array<[string, string]> = [
    ['machines / requests', `${MACHINES} / ${REQUESTS} (${PER_REQUEST} machines each)`],
    ['granted on arrival', String(grantedAtOnce)],
    ['all granted and released', `${grantedOrder.length} in ${ms(total)}`],
    [
      'request (p50 / p99 / max)',
      `${ms(pct(asked, 0.5))} / ${ms(pct(asked, 0.99))} / ${ms(Math.max(...asked))}`,
    ],
    [
      'release + queue pass (p50 / p99 / max)',
      `${ms(pct(passes, 0.5))} / ${ms(pct(passes, 0.99))} / ${ms(Math.max(...passes))}`,
    ],
    ['throughput', `${Math.round((grantedOrder.length / total) * 1000)} grants/s`],
    ['most later arrivals granted before one request', String(overtaken)],
    ['carry across continue-as-new, all in it', carryRow],
    ['carry / rebuild the book', `${ms(carried)} / ${ms(rebuilt)}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(42)} ${v}\n`);
  if (grantedOrder.length !== REQUESTS) throw new Error(`only ${grantedOrder.length} of ${REQUESTS} granted`);
  if (Buffer.byteLength(carry) >= TEMPORAL_PAYLOAD_LIMIT_BYTES)
    throw new Error('the carry is over the payload limit');
}

if (require.main === module) main();
