import fc from 'fast-check';
import {
  LeaseBook,
  leaseProblems,
  setCap,
  type Lease,
  type LeaseMachine,
  type LeaseRequest,
} from '../../domain/lease-book';
import { blockerAmong } from '../../domain/lease-rules';
import { carryOf, stateOf } from '../../domain/lease-carry';
import type { LeaseBookState } from '../../domain/lease-types';

const PAIRS: Record<string, string[]> = {
  eastus: ['westus'],
  westus: ['eastus'],
  northeurope: ['westeurope'],
  westeurope: ['northeurope'],
};

let seq = 0;
function ask(machines: LeaseMachine[], extra: Partial<LeaseRequest> = {}): LeaseRequest {
  const id = `lease-${++seq}`;
  return {
    leaseId: id,
    holder: {
      workflowId: `wf-${id}`,
      rolloutId: `r-${id}`,
      region: machines[0]?.region ?? '',
      step: 'step 1',
    },
    unsafe: false,
    pairs: PAIRS,
    machines,
    ...extra,
  };
}

const zoned = (name: string, region: string, zone: string): LeaseMachine => ({ name, region, zone });
const inSet = (name: string, set: string, ud: number, size: number, region = 'eastus'): LeaseMachine => ({
  name,
  region,
  availabilitySet: set,
  updateDomain: ud,
  setSize: size,
});

describe('the lease book grants only what keeps every rule across holders', () => {
  test.each([
    ['the same machine', [zoned('a', 'eastus', '1')], [zoned('a', 'eastus', '1')], false, 'machine a'],
    ['geo-paired regions', [zoned('a', 'eastus', '1')], [zoned('b', 'westus', '1')], false, 'geo-paired'],
    [
      'two zones of one region',
      [zoned('a', 'eastus', '1')],
      [zoned('b', 'eastus', '2')],
      false,
      'eastus zone 1',
    ],
    ['one zone of one region, twice', [zoned('a', 'eastus', '1')], [zoned('b', 'eastus', '1')], true, ''],
    ['unpaired regions', [zoned('a', 'eastus', '1')], [zoned('b', 'northeurope', '1')], true, ''],
    [
      'two update domains of a set',
      [inSet('a', 'web', 0, 20)],
      [inSet('b', 'web', 1, 20)],
      false,
      'update domain 0',
    ],
    [
      'a set under 10, one at a time',
      [inSet('a', 'web', 0, 9)],
      [inSet('b', 'web', 0, 9)],
      false,
      'at most 1',
    ],
    ['a set of 10, two at a time', [inSet('a', 'web', 0, 10)], [inSet('b', 'web', 0, 10)], true, ''],
    [
      'the strictest set size of two fleet files',
      [inSet('a', 'web', 0, 10)],
      [inSet('b', 'web', 0, 9)],
      false,
      'at most 1',
    ],
    [
      'a service at its allowance',
      [{ name: 'a', region: 'eastus', service: 'api', serviceAllowance: 1 }],
      [{ name: 'b', region: 'northeurope', service: 'api', serviceAllowance: 1 }],
      false,
      'service api',
    ],
    [
      'a service under its allowance',
      [{ name: 'a', region: 'eastus', service: 'api', serviceAllowance: 2 }],
      [{ name: 'b', region: 'northeurope', service: 'api', serviceAllowance: 2 }],
      true,
      '',
    ],
  ])('%s', (_what, first, second, granted, reason) => {
    const book = new LeaseBook();
    expect(book.request(ask(first), 0).granted).toBe(true);
    const answer = book.request(ask(second), 1);
    expect(answer.granted).toBe(granted);
    if (!granted) expect(answer.blocker?.reason).toContain(reason);
  });

  test('the blocker names the rule and the holder: region, zone, rollout and step', () => {
    const book = new LeaseBook();
    book.request(
      {
        ...ask([zoned('a', 'eastus', '2')]),
        holder: { workflowId: 'w', rolloutId: 'nov-2026', region: 'eastus', step: 'step 3' },
      },
      0,
    );
    expect(book.request(ask([zoned('b', 'eastus', '1')]), 0).blocker?.reason).toBe(
      'eastus zone 2 is held by rollout nov-2026 (step 3)',
    );
  });

  test('release frees what a lease held, and the queue is granted in order', () => {
    const book = new LeaseBook();
    const first = ask([zoned('a', 'eastus', '1')]);
    book.request(first, 0);
    const second = ask([zoned('b', 'eastus', '2')]);
    const third = ask([zoned('c', 'eastus', '3')]);
    expect(book.request(second, 1).granted).toBe(false);
    expect(book.request(third, 2).granted).toBe(false);
    expect(book.release(first.leaseId)).toBe(true);
    expect(book.grantWaiting(3).map((l) => l.leaseId)).toEqual([second.leaseId]);
    book.release(second.leaseId);
    expect(book.grantWaiting(4).map((l) => l.leaseId)).toEqual([third.leaseId]);
    expect(book.release('nobody')).toBe(false);
  });

  test('asking twice is asking once', () => {
    const book = new LeaseBook();
    const r = ask([zoned('a', 'eastus', '1')]);
    expect(book.request(r, 0).granted).toBe(true);
    expect(book.request(r, 1).granted).toBe(true);
    expect(book.holding()).toHaveLength(1);
  });

  test('no starvation: a waiting request is not overtaken by later ones it conflicts with', () => {
    const book = new LeaseBook();
    // Set "web" of 20 machines: a cap of 4. Small requests of one machine keep arriving; a request of
    // four waits behind the ones held, and no later one may take the set before it.
    const held = [0, 1].map((i) => ask([inSet(`s${i}`, 'web', 0, 20)]));
    for (const r of held) expect(book.request(r, 0).granted).toBe(true);
    const large = ask([0, 1, 2, 3].map((i) => inSet(`l${i}`, 'web', 0, 20)));
    expect(book.request(large, 1).granted).toBe(false);
    const later = ask([inSet('s9', 'web', 0, 20)]);
    const answer = book.request(later, 2);
    expect(answer.granted).toBe(false);
    // Two held and four waiting take the set's cap of 4 already: the later one waits its turn.
    expect(answer.blocker?.reason).toContain('availability set eastus/web (at most 4 at once, 6 taken)');
    for (const r of held) book.release(r.leaseId);
    expect(book.grantWaiting(3).map((l) => l.leaseId)).toEqual([large.leaseId]);
    expect(book.waiting().map((l) => l.leaseId)).toEqual([later.leaseId]);
  });

  test('a waiter keeps its place, and a later request that fits beside it goes ahead', () => {
    const book = new LeaseBook();
    const held = ask([inSet('h', 'web', 0, 20)]);
    book.request(held, 0);
    const waiter = ask([inSet('w', 'web', 1, 20)]); // another update domain: waits for h
    expect(book.request(waiter, 1).blocker?.reason).toContain('update domain 0 is held by');
    // Update domain 1 fits beside the waiter: it waits only for h, like the waiter.
    const beside = ask([inSet('y', 'web', 1, 20)]);
    expect(book.request(beside, 3).granted).toBe(false);
    // Update domain 0 again would keep the waiter out longer: it waits, and says for whom.
    const again = ask([inSet('x', 'web', 0, 20)]);
    expect(book.request(again, 2).blocker?.reason).toContain('update domain 1 is asked for first by');
    book.release(held.leaseId);
    expect(book.grantWaiting(4).map((l) => l.leaseId)).toEqual([waiter.leaseId, beside.leaseId]);
    expect(book.waiting().map((l) => l.leaseId)).toEqual([again.leaseId]);
  });

  test("an update domain in the way is named by its own lease, not by the set's first", () => {
    const book = new LeaseBook();
    const service = ask([{ name: 's1', region: 'northeurope', service: 'api', serviceAllowance: 1 }]);
    expect(book.request(service, 0).granted).toBe(true);
    // Waits for the service, asking update domain 0 of the set first.
    const first = ask([
      inSet('a1', 'web', 0, 20),
      { name: 'a2', region: 'northeurope', service: 'api', serviceAllowance: 1 },
    ]);
    expect(book.request(first, 1).granted).toBe(false);
    const second = ask([inSet('b1', 'web', 1, 20)]);
    expect(book.request(second, 2).granted).toBe(false);
    // Update domain 0 again: what keeps it out is update domain 1, which `second` asks for.
    const third = ask([inSet('c1', 'web', 0, 20)]);
    expect(book.request(third, 3).blocker?.reason).toBe(
      `availability set eastus/web update domain 1 is asked for first by rollout ${second.holder.rolloutId} (step 1)`,
    );
  });

  test('a waiter kept out by two rules does not hold back a later one only the freed rule kept out', () => {
    const book = new LeaseBook();
    const set = ask(['a1', 'a2', 'a3', 'a4'].map((n) => inSet(n, 'web', 0, 20))); // the set's cap of 4
    const service = ask([{ name: 'b1', region: 'northeurope', service: 'api', serviceAllowance: 1 }]);
    for (const r of [set, service]) expect(book.request(r, 0).granted).toBe(true);
    const both = ask([
      inSet('c1', 'web', 0, 20),
      { name: 'c2', region: 'northeurope', service: 'api', serviceAllowance: 1 },
    ]);
    expect(book.request(both, 1).blocker?.reason).toContain('availability set eastus/web');
    const setOnly = ask([inSet('d1', 'web', 0, 20)]);
    expect(book.request(setOnly, 2).granted).toBe(false);
    book.release(set.leaseId);
    // The first waiter still waits for the service; the second fits beside it.
    expect(book.grantWaiting(3).map((l) => l.leaseId)).toEqual([setOnly.leaseId]);
    expect(book.blockerOf(book.waiting()[0])?.reason).toContain('service api');
  });

  test('a later request that touches nothing a waiter needs goes ahead', () => {
    const book = new LeaseBook();
    book.request(ask([zoned('a', 'eastus', '1')]), 0);
    expect(book.request(ask([zoned('b', 'eastus', '2')]), 1).granted).toBe(false);
    expect(book.request(ask([zoned('c', 'northeurope', '1')]), 2).granted).toBe(true);
    // The same region outside zones (a standalone machine) is not held back by the pair rule either.
    expect(book.request(ask([{ name: 'd', region: 'eastus' }]), 3).granted).toBe(true);
  });

  test('an unsafe lease may break rules among its own machines, and takes what it touches', () => {
    const book = new LeaseBook();
    const unsafe = ask([inSet('a', 'web', 0, 5), inSet('b', 'web', 1, 5)], { unsafe: true });
    expect(leaseProblems(unsafe)).toEqual([]);
    expect(book.request(unsafe, 0).granted).toBe(true);
    expect(book.request(ask([inSet('c', 'web', 0, 5)]), 1).blocker?.reason).toContain('unsafe');
    expect(book.request(ask([inSet('d', 'db', 0, 5)]), 2).granted).toBe(true);
    const other = ask([inSet('e', 'db', 0, 5)], { unsafe: true });
    expect(book.request(other, 3).granted).toBe(false);
  });

  describe("a holder's next step, asked while its step runs (requestAfter)", () => {
    /** The same holder's next step: another lease ID, the same workflow. */
    const next = (of: LeaseRequest, machines: LeaseMachine[]): LeaseRequest => ({
      ...ask(machines),
      holder: of.holder,
    });

    test('is granted beside the step before it, and everyone else finds both taken', () => {
      const book = new LeaseBook();
      const step1 = ask([zoned('a', 'eastus', '1')]);
      book.request(step1, 0);
      const step2 = next(step1, [zoned('b', 'eastus', '2')]);
      // Asked as an ordinary request it would wait: two zones of one region.
      expect(book.requestAfter(step2, step1.leaseId, 1).granted).toBe(true);
      // Held beside the step it follows, and known as such (`offpeak leases` shows it), also once carried.
      const followsOf = (state: LeaseBookState) => state.held.map((l) => [l.leaseId, l.follows]);
      expect(followsOf(book.state())).toEqual([
        [step1.leaseId, undefined],
        [step2.leaseId, step1.leaseId],
      ]);
      expect(followsOf(stateOf(carryOf(book.state())))).toEqual(followsOf(book.state()));
      const other = ask([zoned('c', 'eastus', '1')]);
      expect(book.request(other, 2).blocker?.reason).toContain('eastus zone 2 is held by');
      book.release(step1.leaseId);
      expect(book.grantWaiting(3)).toEqual([]);
      book.release(step2.leaseId);
      expect(book.grantWaiting(4).map((l) => l.leaseId)).toEqual([other.leaseId]);
    });

    test('keeps the queue: a waiter ahead that needs something else of the region is served first', () => {
      const book = new LeaseBook();
      const step1 = ask([zoned('a', 'eastus', '1')]);
      book.request(step1, 0);
      const waiter = ask([zoned('w', 'eastus', '3')]);
      expect(book.request(waiter, 1).granted).toBe(false);
      const step2 = next(step1, [zoned('b', 'eastus', '2')]);
      const answer = book.requestAfter(step2, step1.leaseId, 2);
      expect(answer.granted).toBe(false);
      expect(answer.blocker?.reason).toContain('eastus zone 1 is held by');
      book.release(step1.leaseId);
      expect(book.grantWaiting(3).map((l) => l.leaseId)).toEqual([waiter.leaseId]);
      book.release(waiter.leaseId);
      expect(book.grantWaiting(4).map((l) => l.leaseId)).toEqual([step2.leaseId]);
    });

    test("is decided against every other lease: a set's cap counts the other holders", () => {
      const book = new LeaseBook();
      // Set "web" of 10 machines: a cap of 2. Another run holds one machine of update domain 1.
      const theirs = ask([inSet('t', 'web', 1, 10)]);
      book.request(theirs, 0);
      const step1 = ask([inSet('a', 'db', 0, 10)]);
      book.request(step1, 0);
      const step2 = next(step1, [inSet('b', 'web', 1, 10), inSet('c', 'web', 1, 10)]);
      expect(book.requestAfter(step2, step1.leaseId, 1).blocker?.reason).toContain(
        'availability set eastus/web',
      );
    });

    test("another holder's lease, a shared machine, an unsafe lease or a lease not held: an ordinary request", () => {
      const book = new LeaseBook();
      const step1 = ask([zoned('a', 'eastus', '1')]);
      book.request(step1, 0);
      // Another holder's: the zone rule holds between them.
      expect(book.requestAfter(ask([zoned('b', 'eastus', '2')]), step1.leaseId, 1).granted).toBe(false);
      // The same holder, the same machine again: it waits for the step before to end.
      expect(book.requestAfter(next(step1, [zoned('a', 'eastus', '1')]), step1.leaseId, 2).granted).toBe(
        false,
      );
      const unsafe = { ...next(step1, [zoned('c', 'eastus', '2')]), unsafe: true };
      expect(book.requestAfter(unsafe, step1.leaseId, 3).granted).toBe(false);
      expect(book.requestAfter(next(step1, [zoned('d', 'eastus', '2')]), 'nobody', 4).granted).toBe(false);
      expect(book.holding().map((l) => l.leaseId)).toEqual([step1.leaseId]);
    });
  });

  test('a holder that is gone loses every lease, held or waiting, and the queue moves on', () => {
    const book = new LeaseBook();
    const a = ask([zoned('a', 'eastus', '1')]);
    const b = ask([zoned('b', 'eastus', '2')]);
    book.request(a, 0);
    book.request(b, 0);
    expect(book.holders()).toEqual([a.holder.workflowId, b.holder.workflowId]);
    expect(book.dropHolder('nobody')).toEqual([]);
    expect(book.dropHolder(a.holder.workflowId).map((l) => l.leaseId)).toEqual([a.leaseId]);
    expect(book.grantWaiting(100).map((l) => l.leaseId)).toEqual([b.leaseId]);
  });

  test('the state carries every lease, held and waiting, into a new book', () => {
    const book = new LeaseBook();
    const a = ask([zoned('a', 'eastus', '1')]);
    const b = ask([zoned('b', 'eastus', '2')]);
    book.request(a, 0);
    book.request(b, 0);
    const again = new LeaseBook(JSON.parse(JSON.stringify(book.state())));
    expect(again.holding().map((l) => l.leaseId)).toEqual([a.leaseId]);
    expect(again.waiting().map((l) => l.leaseId)).toEqual([b.leaseId]);
    expect(again.request(ask([zoned('c', 'eastus', '3')]), 1).granted).toBe(false);
    again.release(a.leaseId);
    expect(again.grantWaiting(2).map((l) => l.leaseId)).toEqual([b.leaseId]);
  });

  test('a request the guard cannot place, or could never grant, is a list of problems', () => {
    const problems = (r: LeaseRequest) => leaseProblems(r).map((p) => `${p.path}: ${p.message}`);
    expect(problems(ask([{ name: 'a', region: 'marsnorth' }]))).toEqual([
      'machines[0] (a): unknown region "marsnorth": the request carries no geo-pairs for it',
    ]);
    expect(problems(ask([{ name: 'a', region: 'eastus', availabilitySet: 'web', updateDomain: 0 }]))).toEqual(
      ['machines[0] (a): unknown availability set "web": no set size'],
    );
    expect(problems(ask([zoned('a', 'eastus', '1'), zoned('b', 'eastus', '2')]))).toEqual([
      'machines: eastus: zones 1, 2 in one lease',
    ]);
    expect(problems(ask([]))).toEqual(['machines: a lease needs machines']);
  });
});

// ---- Property: whatever the requests, releases and expiries, held leases never break a rule ------------

const REGIONS = ['eastus', 'westus', 'northeurope'];
const machineArb = fc.record({
  i: fc.integer({ min: 0, max: 29 }),
});

/** A fixed small fleet: 30 machines over three regions, zones, two sets and two services. */
function fleetMachine(i: number): LeaseMachine {
  const region = REGIONS[i % 3];
  const m: LeaseMachine = { name: `m${i}`, region };
  if (i % 5 === 0) m.zone = String(1 + (i % 3));
  else if (i % 5 < 3) Object.assign(m, { availabilitySet: `set${i % 2}`, updateDomain: i % 4, setSize: 12 });
  if (i % 4 === 0) Object.assign(m, { service: `svc${i % 8 === 0 ? 'A' : 'B'}`, serviceAllowance: 2 });
  return m;
}

function violations(book: LeaseBook): string[] {
  const out: string[] = [];
  const held = book.holding();
  const machines = held.flatMap((l) => l.machines.map((m) => ({ ...m, lease: l.leaseId, unsafe: l.unsafe })));
  const names = new Set<string>();
  for (const m of machines) {
    if (names.has(m.name)) out.push(`machine ${m.name} twice`);
    names.add(m.name);
  }
  const others = (a: (typeof machines)[number], b: (typeof machines)[number]) =>
    a.lease !== b.lease || !a.unsafe;
  for (const a of machines)
    for (const b of machines) {
      if (a === b) continue;
      if (a.lease !== b.lease && PAIRS[a.region]?.includes(b.region)) out.push(`pair ${a.name} ${b.name}`);
      if (!others(a, b)) continue;
      if (a.region === b.region && a.zone && b.zone && a.zone !== b.zone)
        out.push(`zones ${a.name} ${b.name}`);
      if (
        a.availabilitySet &&
        a.availabilitySet === b.availabilitySet &&
        a.region === b.region &&
        a.updateDomain !== b.updateDomain
      )
        out.push(`uds ${a.name} ${b.name}`);
    }
  const count = (key: (m: LeaseMachine) => string | undefined) => {
    const c = new Map<string, number>();
    for (const m of machines) {
      const k = key(m);
      if (k !== undefined) c.set(k, (c.get(k) ?? 0) + 1);
    }
    return c;
  };
  // What an unsafe lease touches is its own: no other lease touches it, and its own counts are exempt.
  const touchedBy = (key: (m: LeaseMachine) => string | undefined) => {
    const t = new Map<string, Set<string>>();
    for (const m of machines) {
      const k = key(m);
      if (k !== undefined) t.set(k, (t.get(k) ?? new Set()).add(m.lease));
    }
    return t;
  };
  const unsafeLeases = new Set(held.filter((l) => l.unsafe).map((l) => l.leaseId));
  const rules: Array<[string, (m: LeaseMachine) => string | undefined, number]> = [
    ['set', (m) => (m.availabilitySet ? `${m.region}/${m.availabilitySet}` : undefined), setCap(12)],
    ['service', (m) => m.service, 2],
    ['zones of', (m) => (m.zone ? m.region : undefined), Infinity],
  ];
  for (const [rule, key, cap] of rules) {
    const touched = touchedBy(key);
    for (const [k, n] of count(key)) {
      const leases = touched.get(k)!;
      const unsafe = [...leases].some((l) => unsafeLeases.has(l));
      if (unsafe && leases.size > 1) out.push(`${rule} ${k}: an unsafe lease beside others`);
      if (!unsafe && n > cap) out.push(`${rule} ${k}: ${n}`);
    }
  }
  return out;
}

test('property: held leases never break a rule, and every waiter is granted once the holders leave', () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('ask' as const),
      machines: fc.uniqueArray(machineArb, { minLength: 1, maxLength: 4, selector: (m) => m.i }),
      unsafe: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const book = new LeaseBook();
      let now = 0;
      for (const o of ops) {
        now++;
        if (o.kind === 'ask') {
          const r = ask(
            o.machines.map((m) => fleetMachine(m.i)),
            { unsafe: o.unsafe },
          );
          if (leaseProblems(r).length === 0) book.request(r, now);
        } else if (o.kind === 'release') {
          const all = [...book.holding(), ...book.waiting()];
          if (all.length) book.release(all[o.pick % all.length].leaseId);
          book.grantWaiting(now);
        } else {
          const holders = book.holders();
          if (holders.length) book.dropHolder(holders[o.pick % holders.length]);
          book.grantWaiting(now);
        }
        expect(violations(book)).toEqual([]);
      }
      // Liveness: releasing every holder in turn serves every waiter.
      for (let round = 0; book.waiting().length > 0; round++) {
        expect(round).toBeLessThan(100);
        for (const l of book.holding()) book.release(l.leaseId);
        book.grantWaiting(++now);
        expect(violations(book)).toEqual([]);
      }
    }),
    { numRuns: 300 },
  );
});

// ---- Reference: the indexed book decides as the plain one, which looks at every lease each time --------

/** The book as first written, over lists: every question asked of the leases held and the waiters ahead. */
class PlainBook {
  held: Lease[] = [];
  queue: Lease[] = [];

  request(r: LeaseRequest, now: number) {
    const known = [...this.held, ...this.queue].find((l) => l.leaseId === r.leaseId);
    if (known)
      return {
        granted: this.held.includes(known),
        blocker: this.queue.includes(known) ? this.blockerOf(known) : undefined,
      };
    const lease: Lease = { ...r, askedAt: now };
    const found = blockerAmong(lease, this.held, this.queue);
    if (found) {
      this.queue.push(lease);
      return { granted: false, blocker: this.explain(found) };
    }
    this.held.push({ ...lease, grantedAt: now });
    return { granted: true };
  }

  release(leaseId: string): boolean {
    const before = this.held.length + this.queue.length;
    this.held = this.held.filter((l) => l.leaseId !== leaseId);
    this.queue = this.queue.filter((l) => l.leaseId !== leaseId);
    return this.held.length + this.queue.length < before;
  }

  grantWaiting(now: number): Lease[] {
    const start = [...this.held];
    const granted: Lease[] = [];
    const kept: Lease[] = [];
    this.queue.forEach((w, i) =>
      blockerAmong(w, start, this.queue.slice(0, i)) ? kept.push(w) : granted.push({ ...w, grantedAt: now }),
    );
    this.held.push(...granted);
    this.queue = kept;
    return granted;
  }

  blockerOf(lease: Lease) {
    const found = blockerAmong(lease, this.held, this.queue.slice(0, this.queue.indexOf(lease)));
    return found && this.explain(found);
  }

  dropHolder(workflowId: string): Lease[] {
    const gone = [...this.held, ...this.queue].filter((l) => l.holder.workflowId === workflowId);
    for (const l of gone) this.release(l.leaseId);
    return gone;
  }

  private explain(found: { what: string; leaseId: string }) {
    const held = this.held.find((l) => l.leaseId === found.leaseId);
    const l = held ?? this.queue.find((x) => x.leaseId === found.leaseId)!;
    const who = `${l.unsafe ? 'unsafe ' : ''}rollout ${l.holder.rolloutId} (${l.holder.step})`;
    return {
      reason: `${found.what} is ${held ? 'held' : 'asked for first'} by ${who}`,
      leaseId: found.leaseId,
    };
  }
}

test('reference: on random requests, releases and gone holders the indexed book grants, queues and explains as the plain one', () => {
  // Machines of one small fleet, seen through fleet files that disagree: set sizes, allowances, pairs.
  const view = fc.record({
    size: fc.constantFrom(9, 12, 20),
    allowance: fc.constantFrom(1, 2, 3),
    pairs: fc.boolean(),
  });
  const op = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('ask' as const),
        machines: fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { minLength: 1, maxLength: 6 }),
        unsafe: fc.boolean(),
        view,
        holder: fc.integer({ min: 0, max: 5 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('grant' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      let book = new LeaseBook();
      const plain = new PlainBook();
      let now = 0;
      const ids = (ls: Lease[]) => ls.map((l) => l.leaseId);
      for (const o of ops) {
        now++;
        if (o.kind === 'ask') {
          const machines = o.machines.map((i) => {
            const m = fleetMachine(i);
            if (m.setSize !== undefined) m.setSize = o.view.size;
            if (m.serviceAllowance !== undefined) m.serviceAllowance = o.view.allowance;
            return m;
          });
          const r = ask(machines, {
            unsafe: o.unsafe,
            pairs: o.view.pairs ? PAIRS : Object.fromEntries(REGIONS.map((x) => [x, []])),
          });
          r.holder.workflowId = `holder-${o.holder}`;
          if (leaseProblems(r).length > 0) continue;
          expect(book.request(r, now)).toEqual(plain.request(r, now));
        } else if (o.kind === 'release') {
          const all = [...plain.held, ...plain.queue];
          const id = all.length ? all[o.pick % all.length].leaseId : 'nobody';
          expect(book.release(id)).toBe(plain.release(id));
        } else if (o.kind === 'drop') {
          const holder = `holder-${o.pick % 6}`;
          expect(ids(book.dropHolder(holder)).sort()).toEqual(ids(plain.dropHolder(holder)).sort());
        } else if (o.kind === 'grant') {
          expect(ids(book.grantWaiting(now))).toEqual(ids(plain.grantWaiting(now)));
        } else {
          // Continue-as-new: a book from the state decides as the one it came from.
          book = new LeaseBook(JSON.parse(JSON.stringify(book.carry())));
        }
        expect(ids(book.holding())).toEqual(ids(plain.held));
        expect(ids(book.waiting())).toEqual(ids(plain.queue));
        for (const w of plain.queue) expect(book.blockerOf(w)).toEqual(plain.blockerOf(w));
      }
      expect(ids(book.grantWaiting(++now))).toEqual(ids(plain.grantWaiting(now)));
    }),
    { numRuns: 500 },
  );
});
