import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSlice, stageRolloutInput, writeSlice } from '../../store/spec-store';
import { machineCountOf, sliceRegion } from '../../domain/spec-slices';
import type { ProgressResult } from '../../workflows/region';
import { anyMarked, emptyMarks, mark, marked } from '../../workflows/region-marks';
import { RolloutState } from '../../workflows/rollout-state';
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

test('a progress report of a step of 1,000 machines (the children limit) stays under 1 MB', () => {
  const results: ProgressResult[] = Array.from({ length: 1000 }, (_, i) => ({
    name: `machine-with-a-long-name-${String(i).padStart(6, '0')}`,
    attempt: 20,
    outcome: 'PostScriptFailed',
    startedAt: '2026-11-10T23:00:00.000Z',
    finishedAt: '2026-11-11T01:00:00.000Z',
    detail: 'x'.repeat(200),
    counts: { installed: 120, failed: 10, pending: 30, excluded: 10, notSelected: 400 },
    rebooted: true,
    assessedAt: '2026-11-10T22:59:00.000Z',
    region: 'australiasoutheast',
    zone: '3',
    availabilitySet: 'availability-set-with-a-long-name',
    updateDomain: 19,
  }));
  const progress = { region: 'australiasoutheast', step: 'x'.repeat(100), results, seq: 1_000_000 };
  expect(Buffer.byteLength(JSON.stringify(progress))).toBeLessThan(MB);
});

describe('slicing', () => {
  const input = syntheticRollout(2_000);

  it('cuts a region into whole steps in plan order, at most 500 machines a slice', () => {
    for (const region of input.regions) {
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
    const region = input.regions[0];
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
    expect(staged.regions).toEqual([]);
    expect(machineCountOf(staged)).toBe(machineCountOf(input));
    staged.slicedRegions!.forEach((r, i) => {
      const slices = r.slices.map((ref) => readSlice(dir, ref));
      expect(slices.flatMap((s) => s.machines)).toEqual(input.regions[i].machines);
      expect(r.stepCount).toBe(input.regions[i].steps.length);
    });
    const ref = staged.slicedRegions![0].slices[0];
    writeFileSync(join(dir, ref.ref), '{"region":"tampered","steps":[],"machines":[]}');
    expect(() => readSlice(dir, ref)).toThrow(/does not match its sha256/);
    expect(() => readSlice(dir, { ...ref, ref: '../x.json' })).toThrow(/bad slice reference/);
  });

  it('writes the same content to the same file', () => {
    const dir = tempDir('store');
    const slice = sliceRegion(input.regions[0])[0];
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

describe('a sliced rollout started before tallies (a record per machine)', () => {
  const dir = tempDir('store');
  const staged = stageRolloutInput(syntheticRollout(1_000), { dir, inlineLimitBytes: 0 });
  const state = new RolloutState(staged);

  it('learns machines from their reports and pages them', () => {
    const [region] = staged.slicedRegions!;
    const names = readSlice(dir, region.slices[0]).machines.map((m) => m.name);
    state.record(
      names.map((name, i) => ({
        name,
        region: region.region,
        attempt: 1,
        outcome: i === 0 ? 'InstallFailed' : 'Succeeded',
        counts: { installed: 1, failed: 0, pending: 0, excluded: 0, notSelected: 0 },
        rebooted: false,
      })),
    );
    const report = state.report();
    expect(report.machines).toEqual([]);
    const excluded = staged.excluded.length;
    expect(report.paged).toMatchObject({ recorded: excluded + names.length, succeeded: names.length - 1 });
    expect(report.paged!.regions.find((r) => r.region === region.region)).toMatchObject({
      total: region.machineCount,
      done: names.length,
      notSucceeded: 1,
    });
    expect(report.errors.count).toBe(1);
    const all = [...state.machinePage(0, 7), ...state.machinePage(7, 1_000_000)];
    expect(all.map((m) => m.name)).toEqual([...staged.excluded.map((e) => e.name), ...names]);
    expect(state.machinePage(0, 5_000)).toHaveLength(Math.min(1000, all.length));
  });

  it('counts machines not reported yet as unresolved', () => {
    const phase = staged.slicedRegions![0].phase;
    expect(state.phaseVerdict(phase).verdict).not.toBe('promote');
  });
});
