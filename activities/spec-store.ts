import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { RolloutInput } from '../domain/rollout-spec';
import {
  INLINE_LIMIT_BYTES,
  SLICE_MACHINES,
  sliceRegion,
  type SlicedRegion,
  type SpecSlice,
  type SpecSliceRef,
} from '../domain/spec-slices';
import { offpeakHome } from '../servers/binaries';

/**
 * The spec store: a directory shared by the CLI (which writes a large rollout's slices) and the
 * orchestration worker (whose `loadSpecSlice` activity reads them). Files are content-addressed
 * (`<sha256>.json`), written once and never changed, so a slice read twice is the same slice.
 */
export function specStoreDir(): string {
  return process.env.OFFPEAK_SPEC_STORE ?? join(offpeakHome(), 'specs');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Writes one slice (idempotent: the same content is the same file) and returns its reference. */
export function writeSlice(dir: string, slice: SpecSlice): SpecSliceRef {
  const text = JSON.stringify(slice);
  const hash = sha256(text);
  const ref = `${hash}.json`;
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${ref}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, ref));
  return { ref, sha256: hash, machines: slice.machines.length };
}

/** Reads a slice and checks it is the one referenced. */
export function readSlice(dir: string, ref: SpecSliceRef): SpecSlice {
  const name = basename(ref.ref);
  if (name !== ref.ref) throw ApplicationFailure.nonRetryable(`bad slice reference ${ref.ref}`, 'BadSlice');
  let text: string;
  try {
    text = readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    // Retryable: the store may be a network share that is back in a moment.
    throw ApplicationFailure.retryable(`cannot read slice ${name} from ${dir}: ${(err as Error).message}`);
  }
  if (sha256(text) !== ref.sha256)
    throw ApplicationFailure.nonRetryable(`slice ${name} does not match its sha256`, 'BadSlice');
  return JSON.parse(text) as SpecSlice;
}

/**
 * What a rollout's workflow receives: small inputs inline, unchanged; larger ones with every region
 * written to the spec store as slices and only per-region summaries and slice references kept inline.
 */
export function stageRolloutInput(
  input: RolloutInput,
  options: { dir?: string; sliceMachines?: number; inlineLimitBytes?: number } = {},
): RolloutInput {
  const limit = options.inlineLimitBytes ?? INLINE_LIMIT_BYTES;
  if (input.slicedRegions || JSON.stringify(input).length <= limit) return input;
  const dir = options.dir ?? specStoreDir();
  const slicedRegions: SlicedRegion[] = input.regions.map((r) => ({
    region: r.region,
    phase: r.phase,
    machineCount: r.machines.length,
    stepCount: r.steps.length,
    slices: sliceRegion(r, options.sliceMachines ?? SLICE_MACHINES).map((s) => writeSlice(dir, s)),
  }));
  return { ...input, regions: [], slicedRegions };
}
