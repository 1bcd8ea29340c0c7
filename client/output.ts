import { jsonChunks } from './json-chunks';

/** Machine-readable output goes to stdout; human progress and notes go to stderr. */
export type OutputFormat = 'table' | 'json';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * printJson's text for a document of any size: written in pieces as fast as the reader takes them
 * (never the whole text in memory), and stopped quietly when the reader has gone (`| head`: EPIPE).
 */
export async function writeJson(value: unknown, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  for (const chunk of jsonChunks(value)) if (!(await written(out, chunk))) return;
  await written(out, '\n');
}

/** Writes `text`, waiting while the stream is full; false once the stream can take no more. */
async function written(out: NodeJS.WritableStream, text: string): Promise<boolean> {
  const gone = () => (out as { destroyed?: boolean }).destroyed === true || !out.writable;
  if (gone()) return false;
  if (!out.write(text))
    await new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ['drain', 'close', 'error']) out.off(event, done);
        resolve();
      };
      for (const event of ['drain', 'close', 'error']) out.once(event, done);
    });
  return !gone();
}

export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A plain aligned table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export function bar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
