import { Writable } from 'node:stream';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadFleet, loadPolicy } from '../../client/input';
import { jsonChunks } from '../../client/json-chunks';
import { writeJson } from '../../client/output';
import { forecastRollout, planRollout } from '../../domain/planner';
import type { Fleet } from '../../domain/fleet';
import type { Policy } from '../../domain/policy';
import { POLICY, syntheticFleet } from '../../scripts/bench-planner';
import { hostileValue, PROTOTYPE_NAMES } from '../support/hostile-documents';

/** The streamed text, joined, next to JSON.stringify's (both with a thrown error as its message). */
function bothWays(value: unknown, size?: number): { streamed: string; stringified: string } {
  const attempt = (text: () => string | undefined) => {
    try {
      return text() ?? '(nothing)';
    } catch (err) {
      return `${(err as Error).name}`;
    }
  };
  return {
    streamed: attempt(() => {
      const chunks = [...jsonChunks(value, size)];
      return chunks.length ? chunks.join('') : undefined;
    }),
    stringified: attempt(() => JSON.stringify(value, null, 2)),
  };
}

/** What `offpeak plan --output json` prints, before its newline. */
function planDocument(fleet: Fleet, policy: Policy): unknown {
  const planned = planRollout(fleet, policy);
  if (!planned.ok) throw new Error(planned.problems.map((p) => p.message).join('\n'));
  const { forecast } = forecastRollout(fleet, policy, planned.value, {
    startAt: Date.parse('2026-11-10T00:00:00Z'),
    deadline: Date.parse('2026-12-10T23:59:59Z'),
    approvalMinutes: 60,
  });
  return { ...planned.value, forecast };
}

describe('jsonChunks writes JSON.stringify(value, null, 2) in pieces, byte for byte', () => {
  test('the example fleet plan, in pieces of 64 KiB and of 1 character', () => {
    const root = join(__dirname, '..', '..');
    const fleet = loadFleet(join(root, 'examples', 'fleet.yaml'));
    const document = planDocument(fleet, loadPolicy(join(root, 'examples', 'policy-demo.yaml')));
    const expected = JSON.stringify(document, null, 2);
    expect(expected.length).toBeGreaterThan(50_000);
    expect([...jsonChunks(document)].join('')).toBe(expected);
    expect([...jsonChunks(document, 1)].join('')).toBe(expected);
  });

  test('a generated 20,000-machine plan: the same text, in pieces of about the size asked', () => {
    const document = planDocument(syntheticFleet(20_000), POLICY);
    const expected = JSON.stringify(document, null, 2);
    const chunks = [...jsonChunks(document, 64 * 1024)];
    expect(chunks.join('')).toBe(expected);
    expect(chunks.length).toBeGreaterThan(expected.length / (128 * 1024));
    // A piece ends once it reaches the size: past it by one member at most (a short one here).
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(64 * 1024 + 4096);
  });

  test('hostile values: control characters, lone surrogates, prototype names, non-finite numbers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({
            maxDepth: 4,
            withBoxedValues: true,
            withNullPrototype: true,
            withSparseArray: true,
            withUnicodeString: true,
          }),
          fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...PROTOTYPE_NAMES)), hostileValue),
          fc.array(hostileValue),
        ),
        fc.integer({ min: 1, max: 64 }),
        (value, size) => {
          const { streamed, stringified } = bothWays(value, size);
          expect(streamed).toBe(stringified);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("JSON.stringify's own rules: toJSON with its key, left-out members, wrappers, errors", () => {
    const cases: unknown[] = [
      { at: new Date(Date.UTC(2026, 11, 8)), when: { toJSON: (key: string) => `key ${key}` } },
      [{ toJSON: (key: string) => ({ index: key }) }, undefined, () => 1, Symbol('s'), NaN, -0],
      { gone: undefined, fn: () => 1, sym: Symbol('s'), kept: 1, empty: {}, none: [] },
      { onlyGone: { a: undefined, b: () => 0 } },
      [Object(1), Object('text'), Object(false), '\u2028\u2029', '\ud800', 'a\u0000"\\b'],
      'a string',
      42,
      null,
      undefined,
      () => 1,
      { big: 1n },
      { big: Object(2n) },
      Object.assign(() => 1, { toJSON: () => 'called' }),
      Object.assign(Object.create(null) as object, { __proto__: 1, constructor: 2 }),
    ];
    const circular: Record<string, unknown> = { a: [1] };
    circular.self = { back: circular };
    cases.push(circular);
    const repeated = { shared: 1 };
    cases.push({ one: repeated, two: repeated, list: [repeated, repeated] });
    for (const value of cases) {
      const { streamed, stringified } = bothWays(value, 3);
      expect(streamed).toBe(stringified);
    }
    expect(bothWays(circular).streamed).toBe('TypeError');
    expect(bothWays({ big: 1n }).streamed).toBe('TypeError');
  });
});

/** A reader that takes one piece at a time, after a turn of the event loop, and records the backlog. */
function slowReader(highWaterMark: number) {
  const received: string[] = [];
  let most = 0;
  const reader = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      received.push(chunk);
      setImmediate(done);
    },
  });
  const write = reader.write.bind(reader);
  reader.write = ((chunk: string, ...rest: never[]) => {
    const ok = write(chunk, ...rest);
    most = Math.max(most, reader.writableLength);
    return ok;
  }) as typeof reader.write;
  return { reader, received, most: () => most };
}

describe('writeJson', () => {
  const document = { machines: Array.from({ length: 20_000 }, (_, i) => ({ name: `m-${i}`, minutes: i })) };
  const expected = `${JSON.stringify(document, null, 2)}\n`;

  test('waits for a slow reader: the whole text arrives, and never more than a piece waits', async () => {
    const { reader, received, most } = slowReader(16 * 1024);
    await writeJson(document, reader);
    await new Promise<void>((resolve) => reader.end(resolve));
    expect(received.join('')).toBe(expected);
    expect(expected.length).toBeGreaterThan(1_000_000);
    expect(most()).toBeLessThanOrEqual(16 * 1024 + 64 * 1024 + 1024);
  });

  test('a reader that goes away part way ends the writing quietly', async () => {
    const { reader, received } = slowReader(16 * 1024);
    reader.on('error', () => undefined);
    const original = reader.write.bind(reader);
    reader.write = ((chunk: string, ...rest: never[]) => {
      const ok = original(chunk, ...rest);
      if (received.length === 2) reader.destroy(Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
      return ok;
    }) as typeof reader.write;
    await expect(writeJson(document, reader)).resolves.toBeUndefined();
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(received.join('').length).toBeLessThan(expected.length);
    expect(reader.destroyed).toBe(true);
  });
});
