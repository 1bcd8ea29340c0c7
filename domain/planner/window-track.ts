import { nextWindow, type MaintenanceSchedule, type TimeWindow } from '../windows';

/**
 * One schedule's windows as a sorted list, enumerated once with `nextWindow` and shared by every machine
 * that has the schedule (a fleet has few schedules and many machines). `null` is a window always open.
 * The list grows on demand, so asking far ahead (the lower bound ignores the deadline) costs only then.
 */
export class WindowTrack {
  private readonly windows: TimeWindow[] = [];
  private exhausted = false;

  constructor(
    readonly schedule: MaintenanceSchedule | null,
    private readonly from: number,
  ) {}

  get alwaysOpen(): boolean {
    return this.schedule === null;
  }

  /** The index of the first window ending after `t` (the one containing it, else the next); -1 if none. */
  firstEndingAfter(t: number): number {
    if (this.schedule === null || !Number.isFinite(t)) return -1;
    while (!this.exhausted && (this.windows.length === 0 || this.windows[this.windows.length - 1].end <= t))
      this.extend();
    let lo = 0;
    let hi = this.windows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.windows[mid].end <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.windows.length ? lo : -1;
  }

  /** Window `k` (from `firstEndingAfter`), or undefined past the schedule's last window. */
  at(k: number): TimeWindow | undefined {
    while (!this.exhausted && k >= this.windows.length) this.extend();
    return this.windows[k];
  }

  private extend(): void {
    const last = this.windows[this.windows.length - 1];
    const next = nextWindow(this.schedule!, last ? last.end : this.from);
    if (next) this.windows.push(next);
    else this.exhausted = true;
  }
}

/**
 * Earliest instant by which `amountMs` of time inside the union of `parts` has passed since `from`.
 * Each part is a track's windows shortened at their end by `endReserveMs` (the share of a window an
 * install may use), or stretched past it when negative. Infinity when the windows run out first.
 */
export function placeInUnion(
  parts: ReadonlyArray<{ track: WindowTrack; endReserveMs: number }>,
  from: number,
  amountMs: number,
): number {
  if (amountMs <= 0) return from;
  if (parts.some((p) => p.track.alwaysOpen)) return from + amountMs;
  // A window stretched past its end (a negative reserve) may still be usable after it has ended.
  const next = parts.map((p) => p.track.firstEndingAfter(from + Math.min(0, p.endReserveMs)));
  let cursor = from;
  let left = amountMs;
  for (;;) {
    // The part whose next usable interval (after the cursor) starts first.
    let best = -1;
    let bestStart = Infinity;
    let bestEnd = 0;
    for (let k = 0; k < parts.length; k++) {
      for (;;) {
        if (next[k] < 0) break;
        const w = parts[k].track.at(next[k]);
        if (!w) {
          next[k] = -1;
          break;
        }
        const end = w.end - parts[k].endReserveMs;
        if (end > cursor) {
          const start = Math.max(w.start, cursor);
          if (start < bestStart) [best, bestStart, bestEnd] = [k, start, end];
          break;
        }
        next[k]++;
      }
    }
    if (best < 0) return Infinity;
    if (bestEnd - bestStart >= left) return bestStart + left;
    left -= bestEnd - bestStart;
    cursor = bestEnd;
  }
}
