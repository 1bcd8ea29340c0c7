import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { parseJsonDocument } from '../../client/json-document';
import { fleetDocumentArb, policyDocumentArb } from '../support/hostile-documents';

/**
 * The JSON fast path of `readDocument` must read every document exactly as the YAML parser does, or
 * leave it to the YAML parser: never a different value, never a document YAML refuses.
 */

function yamlOf(text: string): { value: unknown } | { error: true } {
  try {
    return { value: parseYaml(text, { prettyErrors: false }) };
  } catch {
    return { error: true };
  }
}

/** The fast path agrees with YAML, and says whether it took the document. */
function agrees(text: string): boolean {
  const fast = parseJsonDocument(text);
  if (fast === undefined) return false;
  expect(yamlOf(text)).toEqual({ value: fast });
  return true;
}

const layouts = [
  (v: unknown) => JSON.stringify(v),
  (v: unknown) => JSON.stringify(v, null, 2),
  (v: unknown) => JSON.stringify(v, null, '\t'),
  (v: unknown) => `\n  ${JSON.stringify(v, null, 1).replace(/,/g, ' ,\n ').replace(/:/g, ' : ')}\n`,
];

describe('JSON documents are read as the YAML parser reads them', () => {
  test('generated JSON values, with any string content and layout', () => {
    let taken = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ stringUnit: 'binary' })),
          fc.array(fc.jsonValue({ stringUnit: 'binary' })),
        ),
        fc.constantFrom(...layouts),
        (value, layout) => {
          if (agrees(layout(value))) taken++;
        },
      ),
      { numRuns: 400 },
    );
    expect(taken).toBeGreaterThan(300);
  });

  test('hostile fleet and policy documents', () => {
    fc.assert(
      fc.property(
        fc.oneof(fleetDocumentArb, policyDocumentArb),
        fc.constantFrom(...layouts),
        (doc, layout) => {
          const text = layout(doc);
          if (text !== undefined) agrees(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  test.each([
    [
      'numbers at the edges',
      '{"a": [1e400, -1e400, -0, 1E5, 0.1, 12345678901234567890123, 9007199254740993]}',
    ],
    ['escapes', String.raw`{"a\u003ab": "x\/y\"z\\", "c": "\ud83d\ude00 \ud800 \u0000 \b\f\n\r\t"}`],
    ['a colon and quotes inside strings', String.raw`{"k\":": "v\\", "w": "\\\":\\"}`],
    ['prototype names', '{"__proto__": {"x": 1}, "constructor": "c", "toString": []}'],
    ['nesting', '[[[{"a": [{}, [], {"b": null}]}]], true, false, null, "s"]'],
  ])('%s', (_, text) => {
    expect(agrees(text)).toBe(true);
  });

  test.each([
    ['a repeated key', '{"machines": [{"name": "a", "name": "b"}]}'],
    ['a repeated key at the top', '{"machines": [], "regionPairs": {}, "machines": [1]}'],
    ['a repeated key after an escaped one', String.raw`{"a\"": 1, "a": 2, "a": 3}`],
  ])('%s is left to the YAML parser, which refuses it', (_, text) => {
    expect(parseJsonDocument(text)).toBeUndefined();
    expect(yamlOf(text)).toEqual({ error: true });
  });

  test.each([
    ['YAML', 'machines:\n  - name: a\n'],
    ['YAML flow style', '{machines: [{name: a}]}'],
    ['a comment after the JSON', '{"a": 1} # note'],
    ['a byte-order mark', '\ufeff{"a": 1}'],
    ['a second document', '{"a": 1}\n---\n{"b": 2}\n'],
    ['a bare scalar', '"text"'],
    ['broken JSON', '{"a": 1,}'],
  ])('%s is left to the YAML parser', (_, text) => {
    expect(parseJsonDocument(text)).toBeUndefined();
  });
});
