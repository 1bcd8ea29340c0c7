import { promises as fs } from 'fs';
import * as path from 'path';
import { serialized } from './serial';

/**
 * One change the simulator made to a host. The ledger is the evidence, in tests and in the demo, that
 * each machine was patched and rebooted exactly once per attempt.
 */
export interface LedgerEntry {
  /** ISO timestamp. */
  at: string;
  machine: string;
  /** `MachineTarget.operation.id`. */
  operation: string;
  attempt: number;
  kind: 'install' | 'reboot' | 'script';
  /** install: the patch installed (one entry per patch). */
  patchIds?: string[];
  /** reboot: the boot ids on either side. */
  bootIdBefore?: string;
  bootIdAfter?: string;
  /** script: the script text that ran. */
  script?: string;
}

export const LEDGER_FILE = 'ledger.jsonl';

export function ledgerPath(stateDir: string): string {
  return path.join(stateDir, LEDGER_FILE);
}

/** Appends one JSON line. Appends are serialised in-process; each is one small O_APPEND write. */
export async function appendLedger(stateDir: string, entry: LedgerEntry): Promise<void> {
  const file = path.resolve(ledgerPath(stateDir));
  await serialized(`ledger:${file}`, () => fs.appendFile(file, `${JSON.stringify(entry)}\n`, 'utf8'));
}

/**
 * Every ledger entry under `stateDir`, oldest first; `[]` when nothing was recorded yet. An unterminated
 * last line (a process killed mid-write) is ignored; any other malformed line is an error.
 */
export async function readLedger(stateDir: string): Promise<LedgerEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(ledgerPath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  // The last element is '' after a final newline, or an unterminated line: dropped either way.
  const lines = text.split('\n').slice(0, -1);
  const entries: LedgerEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as LedgerEntry);
    } catch {
      throw new Error(`${ledgerPath(stateDir)}: line ${i + 1} is not JSON`);
    }
  });
  return entries;
}
