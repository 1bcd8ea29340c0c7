/**
 * `JSON.stringify(value, null, 2)` in pieces of about `size` characters, byte for byte the same text,
 * so that a large document (a million machines' plan is 180 MB of JSON) is never one string. The walk
 * keeps its place in a stack of open arrays and objects instead of recursing, so it can stop after any
 * piece and go on when the reader wants more. It follows JSON.stringify's rules: `toJSON(key)`, the
 * wrapper objects of primitives, non-finite numbers as null, undefined, functions and symbols left out
 * of objects and null in arrays, a TypeError for a BigInt or a circle; strings and keys are quoted by
 * JSON.stringify itself. test/unit/json-chunks.test.ts compares both on plans, generated and hostile values.
 */

interface Open {
  holder: object;
  /** The object's keys (JSON.stringify's order, Object.keys); undefined for an array. */
  keys: string[] | undefined;
  length: number;
  next: number;
  /** Whether a member was written yet: an object whose members are all left out is `{}`. */
  written: boolean;
}

const BLANK = Symbol('left out');

export function* jsonChunks(value: unknown, size = 64 * 1024): Generator<string, void, undefined> {
  const stack: Open[] = [];
  const pads = [''];
  const pad = (depth: number) => (pads[depth] ??= '  '.repeat(depth));
  let out = '';

  /** Appends a value's text, or opens it; BLANK for what JSON.stringify leaves out. */
  const write = (raw: unknown, key: string | number): typeof BLANK | undefined => {
    const v =
      typeof raw === 'object' || typeof raw === 'function' || typeof raw === 'bigint'
        ? jsonValue(raw, key)
        : raw;
    if (v === null) out += 'null';
    else if (typeof v === 'string') out += JSON.stringify(v);
    else if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null';
    else if (typeof v === 'boolean') out += v ? 'true' : 'false';
    else if (typeof v === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
    else if (typeof v === 'object') {
      if (stack.some((o) => o.holder === v)) throw new TypeError('Converting circular structure to JSON');
      const keys = Array.isArray(v) ? undefined : Object.keys(v);
      const length = keys ? keys.length : (v as unknown[]).length;
      out += keys ? '{' : '[';
      stack.push({ holder: v, keys, length, next: 0, written: false });
    } else return BLANK; // undefined, a function, a symbol
    return undefined;
  };

  if (write(value, '') === BLANK) return;
  while (stack.length > 0) {
    const open = stack[stack.length - 1];
    if (open.next === open.length) {
      stack.pop();
      if (open.written) out += `\n${pad(stack.length)}`;
      out += open.keys ? '}' : ']';
    } else if (open.keys) {
      const key = open.keys[open.next++];
      const member = (open.holder as Record<string, unknown>)[key];
      // A member left out writes nothing, its separator included: rolled back when it is.
      const before = out;
      out += `${open.written ? ',' : ''}\n${pad(stack.length)}${quoted(key)}: `;
      if (write(member, key) === BLANK) out = before;
      else open.written = true;
    } else {
      const index = open.next++;
      out += `${open.written ? ',' : ''}\n${pad(stack.length)}`;
      open.written = true;
      if (write((open.holder as unknown[])[index], index) === BLANK) out += 'null';
    }
    if (out.length >= size) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}

/** Keys repeat from object to object (a plan's machines): each quoted once, up to a bound. */
const QUOTED = new Map<string, string>();

function quoted(key: string): string {
  let text = QUOTED.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (QUOTED.size < 1024) QUOTED.set(key, text);
  }
  return text;
}

/** What JSON.stringify writes for `value` under `key`: after `toJSON`, primitives unwrapped. */
function jsonValue(value: unknown, key: string | number): unknown {
  let v = value;
  if ((typeof v === 'object' && v !== null) || typeof v === 'function' || typeof v === 'bigint') {
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') v = (toJSON as (key: string) => unknown).call(v, String(key));
  }
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Number) return Number(v);
  if (v instanceof String) return String(v);
  if (v instanceof Boolean || v instanceof BigInt) return v.valueOf();
  return v;
}
