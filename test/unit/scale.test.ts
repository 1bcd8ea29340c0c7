import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSlice, stageRolloutInput, writeSlice } from '../../store/spec-store';
import { inlineSpecOf, isStored, machineCountOf, sliceRegion } from '../../domain/spec-slices';
import type { StepReport } from '../../workflows/messages';
import { anyMarked, emptyMarks, mark, marked } from '../../workflows/region-marks';
import { payloadSizes, syntheticRollout } from '../../scripts/scale-sizes';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

jest.setTimeout(120_000);

const MB = 1_000_000;

describe('a rollout of 100,000 machines', () => {
  const sizes = payloadSizes(100_000);

  it('would be far over the 2 MB payload limit inline', () => {
    expect(sizes.machines).toBeGreaterThanOrEqual(100_000);
    expect(sizes.inlineInput).toBeGreaterThan(20 * MB);
  });

  it('keeps every payload under 1 MB once sliced', () => {
    const { machines: _m, inlineInput: _i, slices: _s, ...payloads } = sizes;
    for (const [what, size] of Object.entries(payloads)) expect([what, size < MB]).toEqual([what, true]);
    expect(sizes.slices).toBeGreaterThanOrEqual(200);
  });
});

test('a step report of 1,000 machines (the children limit) stays under 1 MB', () => {
  const report: StepReport = {
    region: 'australiasoutheast',
    seq: 1_000_000,
    step: 'x'.repeat(100),
    results: Array.from({ length: 1000 }, (_, i) => ({
      name: `machine-with-a-long-name-${String(i).padStart(6, '0')}`.padEnd(100, 'x'),
      attempt: 20,
      outcome: 'PostScriptFailed',
      erredBefore: true,
    })),
  };
  expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThan(MB);
});

describe('slicing', () => {
  const input = syntheticRollout(2_000);
  const specOf = inlineSpecOf;

  it('cuts a region into whole steps in plan order, at most 500 machines a slice', () => {
    for (const region of input.regions.map(specOf)) {
      const slices = sliceRegion(region);
      expect(slices.flatMap((s) => s.steps)).toEqual(region.steps);
      expect(slices.flatMap((s) => s.machines)).toEqual(region.machines);
      for (const s of slices) {
        expect(s.machines.length).toBeLessThanOrEqual(500);
        expect(s.machines.map((m) => m.name)).toEqual(s.steps.flatMap((st) => st.machines));
      }
    }
  });

  it('puts a step larger than a slice alone in its own slice', () => {
    const region = specOf(input.regions[0]);
    const slices = sliceRegion(region, 1);
    expect(slices).toHaveLength(region.steps.length);
    expect(slices.map((s) => s.steps)).toEqual(region.steps.map((s) => [s]));
  });

  it('leaves small rollouts inline, unchanged', () => {
    const small = rolloutInputOf({ rolloutId: 'small', fleet: { machines: [vm('a1')] }, now: new Date() });
    expect(stageRolloutInput(small, { dir: tempDir('store') })).toBe(small);
  });

  it('stages a large one as references that read back to the same regions, checked by hash', () => {
    const dir = tempDir('store');
    const staged = stageRolloutInput(input, { dir, sliceMachines: 100, inlineLimitBytes: 0 });
    expect(staged.regions.every((r) => r.slices.every(isStored))).toBe(true);
    expect(machineCountOf(staged)).toBe(machineCountOf(input));
    staged.regions.forEach((r, i) => {
      const slices = r.slices.map((ref) => readSlice(dir, ref));
      expect(slices.flatMap((s) => s.machines)).toEqual(specOf(input.regions[i]).machines);
      expect(r.stepCount).toBe(specOf(input.regions[i]).steps.length);
    });
    const ref = staged.regions[0].slices[0];
    if (!isStored(ref)) throw new Error('expected a stored slice');
    writeFileSync(join(dir, ref.ref), '{"region":"tampered","steps":[],"machines":[]}');
    expect(() => readSlice(dir, ref)).toThrow(/does not match its sha256/);
    expect(() => readSlice(dir, { ...ref, ref: '../x.json' })).toThrow(/bad slice reference/);
  });

  it('writes the same content to the same file', () => {
    const dir = tempDir('store');
    const slice = sliceRegion(specOf(input.regions[0]))[0];
    expect(writeSlice(dir, slice)).toEqual(writeSlice(dir, slice));
  });
});

describe('retry marks', () => {
  it('mark machines by slice and position with their window end', () => {
    const marks = emptyMarks();
    expect(anyMarked(marks)).toBe(false);
    mark(marks, 2, 5, 3, 1_000);
    mark(marks, 2, 5, 0);
    mark(marks, 4, 2, 1, 1_000);
    expect(anyMarked(marks)).toBe(true);
    expect(anyMarked(marks, 1)).toBe(false);
    expect(marked(marks, 2, 3)).toEqual({ windowEnd: 1_000 });
    expect(marked(marks, 2, 0)).toEqual({});
    expect(marked(marks, 2, 1)).toBeUndefined();
    expect(marked(marks, 4, 1)).toEqual({ windowEnd: 1_000 });
    expect(marks.windowEnds).toEqual([null, 1_000]);
    expect(JSON.parse(JSON.stringify(marks))).toEqual(marks);
  });
});
