import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RolloutInput } from '../domain/rollout-spec';
import {
  INLINE_LIMIT_BYTES,
  isStored,
  SLICE_MACHINES,
  laneStartsOf,
  sliceRegion,
  type SlicedRegion,
  type SpecSlice,
  type SpecSliceRef,
  type StoredSliceRef,
} from '../domain/spec-slices';
import { offpeakHome } from '../servers/binaries';

/**
 * The spec store: a directory shared by the CLI (which writes a large rollout's slices, and reads them
 * for its reports) and the orchestration worker (whose `loadSpecSlice` activity reads them). Files are
 * content-addressed (`<sha256>.json`), written once and never changed, so a slice read twice is the same.
 */
export function specStoreDir(): string {
  return process.env.OFFPEAK_SPEC_STORE ?? join(offpeakHome(), 'specs');
}

/** Why a slice could not be read: `bad` will never read (wrong name or content), `unreadable` may later. */
export class SliceError extends Error {
  constructor(
    readonly kind: 'bad' | 'unreadable',
    message: string,
  ) {
    super(message);
    this.name = 'SliceError';
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Writes one slice (idempotent: the same content is the same file) and returns its reference. */
export function writeSlice(dir: string, slice: SpecSlice): StoredSliceRef {
  const text = JSON.stringify(slice);
  const hash = sha256(text);
  const ref = `${hash}.json`;
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${ref}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, ref));
  return { ref, sha256: hash, machines: slice.machines.length };
}

/** Reads a slice (from the store, or from the reference itself when inline) and checks it is the one referenced. */
export function readSlice(dir: string, ref: SpecSliceRef): SpecSlice {
  if (!isStored(ref)) return ref.inline;
  const name = basename(ref.ref);
  if (name !== ref.ref) throw new SliceError('bad', `bad slice reference ${ref.ref}`);
  let text: string;
  try {
    text = readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    // The store may be a network share that is back in a moment.
    throw new SliceError('unreadable', `cannot read slice ${name} from ${dir}: ${(err as Error).message}`);
  }
  if (sha256(text) !== ref.sha256) throw new SliceError('bad', `slice ${name} does not match its sha256`);
  return JSON.parse(text) as SpecSlice;
}

/**
 * What a rollout's workflow receives: small inputs unchanged (their slices inline); larger ones with every
 * region cut into slices of `sliceMachines` written to the spec store, only their references kept inline.
 */
export function stageRolloutInput(
  input: RolloutInput,
  options: { dir?: string; sliceMachines?: number; inlineLimitBytes?: number } = {},
): RolloutInput {
  const limit = options.inlineLimitBytes ?? INLINE_LIMIT_BYTES;
  const inline = input.regions.every((r) => r.slices.every((s) => !isStored(s)));
  if (!inline || JSON.stringify(input).length <= limit) return input;
  const dir = options.dir ?? specStoreDir();
  const regions: SlicedRegion[] = input.regions.map((r) => {
    const slices = r.slices.map((s) => readSlice(dir, s));
    const spec = {
      region: r.region,
      phase: r.phase,
      steps: slices.flatMap((s) => s.steps),
      machines: slices.flatMap((s) => s.machines),
    };
    const cut = sliceRegion(spec, options.sliceMachines ?? SLICE_MACHINES);
    return { ...r, slices: cut.map((s) => writeSlice(dir, s)), laneStarts: laneStartsOf(cut) };
  });
  return { ...input, regions };
}
