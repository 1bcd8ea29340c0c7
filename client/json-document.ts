/**
 * A fleet file of a million machines is 230 MB of JSON: the YAML parser reads that in minutes and
 * gigabytes, JSON.parse in seconds. So a document that is plain JSON is read by JSON.parse, and the
 * YAML parser reads everything else. Both give the same value for a JSON document except for a
 * repeated key, which the YAML parser refuses and JSON.parse lets the last one win: a document whose
 * text holds more keys than its parsed objects do is handed to the YAML parser, which names the key.
 * test/unit/json-document.test.ts checks both readers agree on generated and hostile documents.
 */

const BACKSLASH = 92;
const COLON = 58;

/** The document read by JSON.parse, or undefined when the YAML parser must read it. */
export function parseJsonDocument(text: string): unknown {
  const first = firstNonSpace(text);
  // Only objects and arrays: a bare JSON scalar is rare and YAML reads it the same way anyway.
  if (first !== 0x7b && first !== 0x5b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // not JSON (YAML flow style, comments, a byte-order mark...): YAML decides
  }
  return keysInText(text) === keysInValue(value) ? value : undefined;
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/**
 * The keys a valid JSON text writes: its strings followed by a colon. Strings are skipped whole (from
 * quote to the next quote not escaped), so a colon inside one is not counted.
 */
function keysInText(text: string): number {
  let keys = 0;
  let at = 0;
  for (;;) {
    const open = text.indexOf('"', at);
    if (open < 0) return keys;
    let close = text.indexOf('"', open + 1);
    while (escaped(text, close)) close = text.indexOf('"', close + 1);
    at = close + 1;
    let c = text.charCodeAt(at);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++at);
    if (c === COLON) keys++;
  }
}

/** The quote at `at` is escaped when an odd number of backslashes precede it. */
function escaped(text: string, at: number): boolean {
  let k = at - 1;
  while (text.charCodeAt(k) === BACKSLASH) k--;
  return (at - 1 - k) % 2 === 1;
}

/** Own keys of every object in a parsed JSON value. */
function keysInValue(value: unknown): number {
  let keys = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (typeof v[i] === 'object') stack.push(v[i]);
      continue;
    }
    for (const key in v) {
      keys++;
      const child = (v as Record<string, unknown>)[key];
      if (typeof child === 'object') stack.push(child);
    }
  }
  return keys;
}
