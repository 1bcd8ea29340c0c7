import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFleet, type Fleet } from '../domain/fleet';
import { parsePolicy, type Policy } from '../domain/policy';
import type { Parsed } from '../domain/problems';
import { UsageError } from './errors';
import { parseJsonDocument } from './json-document';

/** Reads a YAML or JSON document; an unreadable or malformed file is a usage error naming the file. */
export function readDocument(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw UsageError.of(what, `no such file: ${path}`);
    if (code === 'EISDIR') throw UsageError.of(what, `${path} is a directory, not a file`);
    if (code === 'EACCES') throw UsageError.of(what, `permission denied: ${path}`);
    throw UsageError.of(what, `cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  // Plain JSON by JSON.parse, far faster on a large fleet; the YAML parser for the rest (json-document.ts).
  const json = parseJsonDocument(text);
  if (json !== undefined) return json;
  try {
    // YAML is a superset of JSON: it reads every document JSON.parse did not.
    return parseYaml(text, { prettyErrors: false });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw UsageError.of(what, `${path} is not valid YAML or JSON: ${first}`);
  }
}

function orThrow<T>(parsed: Parsed<T>, prefix: string): T {
  if (parsed.ok) return parsed.value;
  throw new UsageError(
    parsed.problems.map((p) => ({ path: `${prefix}${p.path ? `: ${p.path}` : ''}`, message: p.message })),
  );
}

export function loadFleet(path: string): Fleet {
  return orThrow(parseFleet(readDocument(path, '--fleet')), path);
}

export function loadPolicy(path: string | undefined): Policy {
  return orThrow(parsePolicy(path ? readDocument(path, '--policy') : {}), path ?? 'policy');
}
