import type { OsType } from '../fleet';
import { canStartInstall, INSTALL_MIN_REMAINING_MS, latestInstallEnd } from '../windows';
import type { WindowTrack } from './window-track';

/** A machine as the forecast sees it: its windows and its expected durations (shared by like machines). */
export interface ModelMachine {
  track: WindowTrack;
  os: OsType;
  installMs: number;
  rebootMs: number;
}

/** Per fleet machine, what the model needs, in flat arrays (a million machines share a few profiles). */
export interface ModelArrays {
  /** The machine's profile: one object per track, OS and durations, so looking it up allocates nothing. */
  machine(i: number): ModelMachine;
  /** Install work left (ms); starts at the expected install time. */
  leftMs: Float64Array;
  /** End of the window of the machine's last attempt. */
  windowEnd: Float64Array;
}

export type AttemptForecast =
  | {
      kind: 'ran';
      startAt: number;
      /** Install (what fitted) plus reboot. */
      finishAt: number;
      /** Install work left for a later attempt: the window (or the deadline) cut it. */
      leftMs: number;
      /** The window's end: a retry waits for the window after it. */
      windowEnd: number;
      cutByDeadline: boolean;
    }
  | { kind: 'missed'; reason: string };

/**
 * One attempt as workflows/machine.ts runs it, with the expected durations instead of the host's
 * answers: wait for a window (from `notBefore` when it is a retry) with at least the install's start
 * reserve left, install until the window's end less the reboot reserve (or the deadline), then reboot.
 * Assessment and health checks take no time here. `installMs` is the install work still to do.
 */
export function forecastAttempt(
  m: ModelMachine,
  readyAt: number,
  installMs: number,
  deadline: number,
  notBefore?: number,
): AttemptForecast {
  let t = notBefore !== undefined && !m.track.alwaysOpen ? Math.max(readyAt, notBefore) : readyAt;
  let k = -1;
  for (;;) {
    if (t > deadline) return { kind: 'missed', reason: 'the deadline passes before a window opens' };
    if (m.track.alwaysOpen) break;
    k = m.track.firstEndingAfter(t);
    const w = k < 0 ? undefined : m.track.at(k);
    if (!w || w.start > deadline) return { kind: 'missed', reason: 'no window opens before the deadline' };
    if (w.start > t) {
      t = w.start;
      continue;
    }
    if (canStartInstall(w, t)) break;
    t = w.end + 1000; // the workflow sleeps one second past the window it could not use
  }
  const w = k < 0 ? undefined : m.track.at(k);
  const cut = Math.min(w ? latestInstallEnd(w, m.os) : Infinity, deadline);
  const installEnd = t + installMs;
  if (installEnd <= cut)
    return {
      kind: 'ran',
      startAt: t,
      finishAt: installEnd + m.rebootMs,
      leftMs: 0,
      windowEnd: w ? w.end : Infinity,
      cutByDeadline: false,
    };
  const done = Math.max(0, cut - t);
  return {
    kind: 'ran',
    startAt: t,
    finishAt: t + done + m.rebootMs,
    leftMs: installMs - done,
    windowEnd: w ? w.end : Infinity,
    cutByDeadline: cut === deadline,
  };
}

/**
 * Whether a lane's follower may start machine `m` at `at` (docs/planner.md, "Pipelined steps"): only when
 * its first attempt from there runs whole, in the window it finds open or the one it would wait for. One
 * that a window or the deadline would cut waits for its own step instead. `recheckAt`: until when a "no"
 * stands (once too little of that window is left to start, a start waits for the next window).
 */
export function followerFit(
  m: ModelMachine,
  at: number,
  deadline: number,
): { fits: boolean; recheckAt: number } {
  const a = forecastAttempt(m, at, m.installMs, deadline);
  if (a.kind === 'missed') return { fits: false, recheckAt: Infinity };
  return { fits: a.leftMs === 0, recheckAt: Math.max(at + 1, a.windowEnd - INSTALL_MIN_REMAINING_MS) };
}

/**
 * When a machine alone, ready at `readyAt` and retried window after window without waiting for any
 * other machine, would be patched: the earliest any schedule could finish it. Infinity when it cannot
 * be finished within `maxAttempts` (or its windows run out).
 */
export function earliestFinish(m: ModelMachine, readyAt: number, maxAttempts: number): number {
  let left = m.installMs;
  let t = readyAt;
  let notBefore: number | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const a = forecastAttempt(m, t, left, Infinity, notBefore);
    if (a.kind === 'missed') return Infinity;
    if (a.leftMs === 0) return a.finishAt;
    left = a.leftMs;
    t = a.finishAt;
    notBefore = a.windowEnd;
  }
  return Infinity;
}
