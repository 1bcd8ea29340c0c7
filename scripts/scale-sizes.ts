/**
 * Serialized sizes of every payload of a large rollout (docs/scale.md): the inline input it would have
 * been, the staged input, the largest slice, a region's input, its continue-as-new input in the worst
 * case, the largest step report, the status, and the rollout's own continue-as-new input. Used by the unit test
 * (test/unit/scale.test.ts) and by `npm run bench`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readSlice, stageRolloutInput } from '../store/spec-store';
import { parseFleet } from '../domain/fleet';
import { parsePolicy } from '../domain/policy';
import { planRollout } from '../domain/planner';
import { buildRolloutInput, type RegionSpec, type RolloutInput } from '../domain/rollout-spec';
import { inlineRegion, inlineSpecOf } from '../domain/spec-slices';
import type { RegionCursor, RegionInput, StepReport } from '../workflows/messages';
import { emptyMarks, mark } from '../workflows/region-marks';
import { RolloutState } from '../workflows/rollout-state';
import { projectRoot } from '../servers/binaries';

const EXAMPLES = join(projectRoot(), 'examples');

/** The example fleet's rollout (default policy: off-peak windows), its regions copied until `machines`. */
export function syntheticRollout(machines: number): RolloutInput {
  const fleet = parseFleet(parse(readFileSync(join(EXAMPLES, 'fleet.yaml'), 'utf8')));
  const policy = parsePolicy({});
  if (!fleet.ok || !policy.ok) throw new Error('the example fleet or the default policy is invalid');
  const plan = planRollout(fleet.value, policy.value);
  if (!plan.ok) throw new Error('the example fleet does not plan');
  const base = buildRolloutInput({
    rolloutId: 'scale',
    startedBy: 'bench',
    fleet: fleet.value,
    policy: policy.value,
    plan: plan.value,
    now: new Date('2026-11-10T12:00:00Z'),
  });
  const specs: RegionSpec[] = base.regions.map(inlineSpecOf);
  const perCopy = specs.reduce((n, r) => n + r.machines.length, 0);
  const copies = Math.ceil(machines / perCopy);
  const regions: RegionSpec[] = specs.map((r) => ({ ...r, steps: [], machines: [] }));
  for (let c = 0; c < copies; c++)
    specs.forEach((r, i) => {
      const name = (n: string) => `${n}-c${c}`;
      for (const step of r.steps)
        regions[i].steps.push({ ...step, index: regions[i].steps.length, machines: step.machines.map(name) });
      for (const m of r.machines) regions[i].machines.push({ ...m, name: name(m.name) });
    });
  return { ...base, regions: regions.map((r) => inlineRegion(r)) };
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

export interface PayloadSizes {
  machines: number;
  inlineInput: number;
  stagedInput: number;
  slices: number;
  largestSlice: number;
  regionInput: number;
  regionContinueAsNew: number;
  largestReport: number;
  status: number;
  rolloutContinueAsNew: number;
}

/** Stages a synthetic rollout of `machines` into a temporary spec store and measures every payload. */
export function payloadSizes(machines: number): PayloadSizes {
  const input = syntheticRollout(machines);
  const dir = mkdtempSync(join(tmpdir(), 'offpeak-scale-'));
  try {
    const staged = stageRolloutInput(input, { dir });
    const sliced = staged.regions;
    let largestSlice = 0;
    let largestReport = 0;
    let regionInput = 0;
    let regionContinueAsNew = 0;
    const state = new RolloutState(staged);
    for (const phase of staged.phases) state.startPhase(phase.index, '2026-11-10T23:00:00.000Z');
    for (const region of sliced) {
      const args: RegionInput = {
        rolloutId: staged.rolloutId,
        parentWorkflowId: `offpeak/${staged.rolloutId}`,
        region: region.region,
        phase: region.phase,
        machineCount: region.machineCount,
        slices: region.slices,
        ...(region.laneStarts ? { laneStarts: region.laneStarts } : {}),
        settings: staged.settings,
      };
      regionInput = Math.max(regionInput, bytes(args));
      // Worst case across continue-as-new: every machine retried, each with its own window end, and
      // every one already counted as an error.
      // Each lane marks its own machines, in rows as long as the slices they lie in.
      const lanes = (region.laneStarts ?? [0]).map(() => ({
        round: 2,
        slice: 0,
        step: 0,
        due: emptyMarks(),
        next: emptyMarks(),
        begun: emptyMarks(),
      }));
      const erred = emptyMarks();
      region.slices.forEach((ref, s) => {
        const slice = readSlice(dir, ref);
        largestSlice = Math.max(largestSlice, bytes(slice));
        const laneOf = new Map(slice.steps.flatMap((step) => step.machines.map((n) => [n, step.lane ?? 0])));
        slice.machines.forEach((m, i) => {
          const lane = lanes[laneOf.get(m.name) ?? 0];
          mark(lane.due, s, slice.machines.length, i, Date.UTC(2026, 10, 10) + i * 60_000);
          mark(lane.next, s, slice.machines.length, i, Date.UTC(2026, 10, 11) + i * 60_000);
          mark(erred, s, slice.machines.length, i);
        });
        for (const step of slice.steps) {
          const report: StepReport = {
            region: region.region,
            seq: 99_999,
            step: `${step.label}, retry 2`,
            results: step.machines.map((name) => ({
              name,
              attempt: 2,
              outcome: 'Pending',
              erredBefore: true,
            })),
          };
          largestReport = Math.max(largestReport, bytes(report));
        }
      });
      const cursor: RegionCursor = {
        lanes,
        sent: 99_999,
        reply: { hold: 'paused: someone', stop: false, ack: 99_999 },
        done: region.machineCount,
        erred,
      };
      regionContinueAsNew = Math.max(regionContinueAsNew, bytes({ ...args, cursor }));
    }
    // The rollout continued while every region runs, each with a reply sent and acknowledged.
    const carry = state.carry();
    const continued = {
      ...carry,
      channels: sliced.map((r) => ({
        region: r.region,
        seq: 99_999,
        sent: { hold: 'paused: someone', stop: false, ack: 99_999 },
        ended: false,
      })),
    };
    return {
      machines: sliced.reduce((n, r) => n + r.machineCount, 0),
      inlineInput: bytes(input),
      stagedInput: bytes(staged),
      slices: sliced.reduce((n, r) => n + r.slices.length, 0),
      largestSlice,
      regionInput,
      regionContinueAsNew,
      largestReport,
      status: bytes(state.summary()),
      rolloutContinueAsNew: bytes({ ...staged, continued }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
