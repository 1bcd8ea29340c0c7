/**
 * Which machines of a region a later round retries, in a form small enough to carry across
 * continue-as-new at any fleet size: per slice, one character per machine (a space: not retried;
 * otherwise the index of the machine's window end in a shared table, offset by '0'). 100,000 machines
 * take about 100 KB, whatever their outcomes. Pure: no Temporal imports.
 */
export interface RetryMarks {
  /** Per slice, one character per machine of the slice (absent: nobody in the slice). */
  slices: Record<number, string>;
  /** Distinct window ends; index 0 stands for "no window end". */
  windowEnds: Array<number | null>;
}

const NONE = ' ';
const BASE = 0x30;
/** Stays below the UTF-16 surrogates, so every mark is one valid character. */
const MAX_INDEX = 0xd7ff - BASE;

export const emptyMarks = (): RetryMarks => ({ slices: {}, windowEnds: [null] });

export function mark(
  marks: RetryMarks,
  slice: number,
  size: number,
  position: number,
  windowEnd?: number,
): void {
  let index = windowEnd === undefined ? 0 : marks.windowEnds.indexOf(windowEnd);
  if (index < 0) {
    if (marks.windowEnds.length > MAX_INDEX)
      index = 0; // absurdly many windows: retry without waiting
    else index = marks.windowEnds.push(windowEnd!) - 1;
  }
  const row = marks.slices[slice] ?? NONE.repeat(size);
  marks.slices[slice] = row.slice(0, position) + String.fromCharCode(BASE + index) + row.slice(position + 1);
}

/** Whether the machine at `position` of `slice` is retried, and the window end its retry waits for. */
export function marked(
  marks: RetryMarks,
  slice: number,
  position: number,
): { windowEnd?: number } | undefined {
  const c = marks.slices[slice]?.charAt(position);
  if (!c || c === NONE) return undefined;
  const windowEnd = marks.windowEnds[c.charCodeAt(0) - BASE];
  return windowEnd === null || windowEnd === undefined ? {} : { windowEnd };
}

export const anyMarked = (marks: RetryMarks, slice?: number): boolean =>
  slice === undefined ? Object.keys(marks.slices).length > 0 : (marks.slices[slice] ?? '').trim().length > 0;
