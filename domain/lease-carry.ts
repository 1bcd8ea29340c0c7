import type { Lease, LeaseBookCarry, LeaseBookState, LeaseMachine } from './lease-types';

/**
 * The fleet guard's book as it crosses continue-as-new, compactly (pure). One object per machine with
 * every fact is ~100 bytes a machine: 100,000 machines in flight is ~10 MB, over Temporal's payload
 * limit. The carry keeps every machine exactly (a book from it is the book it came from, in the same
 * order), but as columns:
 * - the machines' names, one string per lease, front-coded (each name says how many leading
 *   characters it shares with the one before it, then the rest);
 * - each other fact (region, zone, set, update domain, set size, service, allowance) as indexes into one
 *   table of values shared by every lease, written as runs of arithmetic progressions (a step of 100
 *   machines of one region is one run; services 0 to 99 in order are one run too).
 */

/** Temporal's default payload (blob) size limit: what the carry must stay well under. */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** The machine facts carried as columns, in order. */
const COLUMNS = [
  'region',
  'zone',
  'availabilitySet',
  'updateDomain',
  'setSize',
  'service',
  'serviceAllowance',
] as const satisfies ReadonlyArray<keyof LeaseMachine>;

/** A name shares at most this many leading characters with the previous one (one base-36 digit). */
const MAX_SHARED = 35;

export function carryOf(state: LeaseBookState): LeaseBookCarry {
  const values: Array<string | number> = [];
  const indexOf = new Map<string, number>();
  /** 0 is "no such fact"; a value is 1 + its place in the table. */
  const index = (v: string | number | undefined): number => {
    if (v === undefined) return 0;
    const key = `${typeof v}:${v}`;
    let i = indexOf.get(key);
    if (i === undefined) {
      values.push(v);
      indexOf.set(key, (i = values.length));
    }
    return i;
  };
  const carry = ({ machines, ...rest }: Lease) => ({
    ...rest,
    names: frontCode(machines.map((m) => m.name)),
    facts: COLUMNS.map((c) => runs(machines.map((m) => index(m[c])))).join(';'),
  });
  const held = state.held.map(carry);
  const waiting = state.waiting.map(carry);
  return { values, held, waiting };
}

export function stateOf(carry: LeaseBookCarry): LeaseBookState {
  const lease = ({ names, facts, ...rest }: LeaseBookCarry['held'][number]): Lease => {
    const columns = facts.split(';').map(unruns);
    const decoded = frontDecode(names);
    // A carry this code did not write would rebuild a wrong book: better a failed task than that.
    if (columns.length !== COLUMNS.length || columns.some((c) => c.length !== decoded.length))
      throw new Error(`lease ${rest.leaseId}: its carried facts do not match its ${decoded.length} machines`);
    const machines = decoded.map((name, k) => {
      const m: Record<string, unknown> = { name };
      COLUMNS.forEach((c, j) => {
        const i = columns[j][k];
        if (i > 0) m[c] = carry.values[i - 1];
      });
      return m as unknown as LeaseMachine;
    });
    return { ...rest, machines };
  };
  return { held: carry.held.map(lease), waiting: carry.waiting.map(lease) };
}

const escape = (s: string) => s.replace(/%/g, '%25').replace(/,/g, '%2C');
const unescape = (s: string) => s.replace(/%2C/g, ',').replace(/%25/g, '%');

/** Names, each as one base-36 digit (characters shared with the previous name) and the rest, comma-joined. */
export function frontCode(names: string[]): string {
  let previous = '';
  return names
    .map((name) => {
      let shared = 0;
      while (shared < MAX_SHARED && shared < name.length && name[shared] === previous[shared]) shared++;
      previous = name;
      return shared.toString(36) + escape(name.slice(shared));
    })
    .join(',');
}

export function frontDecode(coded: string): string[] {
  if (coded === '') return [];
  let previous = '';
  return coded.split(',').map((entry) => {
    previous = previous.slice(0, parseInt(entry[0], 36)) + unescape(entry.slice(1));
    return previous;
  });
}

/** Integers as runs `start[+step|-step][*length]`, comma-joined: a run continues while the step holds. */
export function runs(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length;) {
    const step = i + 1 < xs.length ? xs[i + 1] - xs[i] : 0;
    let n = 1;
    while (i + n < xs.length && xs[i + n] - xs[i + n - 1] === step) n++;
    out.push(`${xs[i]}${n > 1 && step !== 0 ? (step > 0 ? `+${step}` : step) : ''}${n > 1 ? `*${n}` : ''}`);
    i += n;
  }
  return out.join(',');
}

export function unruns(coded: string): number[] {
  const out: number[] = [];
  if (coded === '') return out;
  for (const run of coded.split(',')) {
    const m = /^(-?\d+)([+-]\d+)?(?:\*(\d+))?$/.exec(run);
    if (!m) throw new Error(`not a run: "${run}"`);
    const [start, step, n] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 1)];
    for (let k = 0; k < n; k++) out.push(start + k * step);
  }
  return out;
}
