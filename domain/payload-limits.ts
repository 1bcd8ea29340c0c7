/**
 * Temporal's size limits, and the budgets that keep every rollout under them. Temporal refuses a payload
 * over 2 MB (an activity's result, a workflow's input); a self-hosted server's defaults also cap each gRPC
 * message and each history transaction at 4 MB, which a workflow task's commands must fit
 * (temporalio/temporal#7777; the dev server used here accepted more: docs/scale.md); a history over 50 MB
 * is terminated. A rollout's machine specs travel as slices (an activity's result), and every machine
 * attempt's input travels in its region's history, so both are bounded here, and `plan` refuses what
 * would not fit (domain/payload-check.ts). No Temporal import: the workflows and the CLI use the same numbers.
 */

/** A slice of specs (spec-slices.ts) is returned by an activity: this leaves room under the 2 MB limit. */
export const SLICE_BYTES = 1.5 * 1024 * 1024;

/**
 * One machine attempt's input (its spec and the settings a machine needs). Its region's history holds one
 * per attempt, and a step holds up to 1,500: kept small, a region's run stays far from 50 MB.
 */
export const ATTEMPT_INPUT_BYTES = 64 * 1024;

/** The rollout's settings travel in the rollout's input and every region's. */
export const SETTINGS_BYTES = 256 * 1024;

/**
 * Machine attempts a region starts at once, in bytes of their inputs: every command of a workflow task is
 * sent in one request, so one task's starts never exceed this, however many lanes start a step together
 * (workflows/start-budget.ts). Each start also costs its command (ID, type, summary, search attributes).
 */
export const STARTS_IN_FLIGHT_BYTES = 1024 * 1024;
export const START_COMMAND_BYTES = 1024;

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

/** The UTF-8 length of a string, as Temporal's JSON payloads count it. */
export function utf8Bytes(text: string): number {
  // Most specs are ASCII: the native scan is many times faster than the loop below.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Two bytes below U+0800, three above; a surrogate pair is four (two units of two).
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

/** The bytes a value takes as a JSON payload. */
export const jsonBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value) ?? '');
