import type { MachineSpec } from '../../domain/rollout-spec';
import type { SpecSlice } from '../../domain/spec-slices';
import { nextStep, positionsOf, type LaneRound } from '../../workflows/lane-steps';
import { emptyMarks, mark } from '../../workflows/region-marks';

// The look-ahead a lane asks its next step's lease by (workflows/lane-steps.ts): the step its loop runs next.

const machine = (name: string) => ({ name, region: 'eastus' }) as MachineSpec;
function slice(steps: Array<[string, string[], number?]>): SpecSlice {
  const names = steps.flatMap(([, machines]) => machines);
  return {
    region: 'eastus',
    machines: names.map(machine),
    steps: steps.map(([label, machines, lane]) => ({
      label,
      machines,
      ...(lane ? { lane } : {}),
    })) as SpecSlice['steps'],
  };
}
const s0 = slice([
  ['zone 1', ['a1', 'a2']],
  ['set 1 ud 0', ['b1'], 1],
  ['zone 2', ['a3']],
]);
const s1 = slice([['zone 3', ['a4', 'a5']]]);

const round = (over: Partial<LaneRound> = {}): LaneRound => ({
  lane: 0,
  round: 1,
  due: emptyMarks(),
  last: 1,
  peek: (i) => [s0, s1][i],
  ...over,
});
const next = (r: LaneRound, at: number, step: number) => {
  const found = nextStep(r, at, step, { slice: [s0, s1][at], position: positionsOf([s0, s1][at]) });
  return found && { key: found.key, label: found.label, machines: found.machines.map((m) => m.name) };
};

test.each([
  [
    'the next step of the lane in the slice, past another lane’s',
    round(),
    0,
    0,
    { key: 'round-1/slice-0/step-2', label: 'zone 2', machines: ['a3'] },
  ],
  [
    'across an inline slice',
    round(),
    0,
    2,
    { key: 'round-1/slice-1/step-0', label: 'zone 3', machines: ['a4', 'a5'] },
  ],
  [
    'the other lane: its own step only',
    round({ lane: 1 }),
    0,
    0,
    { key: 'round-1/slice-0/step-1', label: 'set 1 ud 0', machines: ['b1'] },
  ],
  ['none past the lane’s last step of the round', round(), 1, 0, undefined],
  ['none past the lane’s last slice', round({ last: 0 }), 0, 2, undefined],
  [
    'none when the next slice is not at hand (stored, unread)',
    round({ peek: (i) => (i === 0 ? s0 : undefined) }),
    0,
    2,
    undefined,
  ],
])('%s', (_, r, at, step, expected) => {
  expect(next(r, at, step)).toEqual(expected);
});

test('a retry round looks only at the machines due, and skips slices with none', () => {
  const due = emptyMarks();
  mark(due, 1, s1.machines.length, 1); // a5 only
  expect(next(round({ round: 2, due }), 0, 0)).toEqual({
    key: 'round-2/slice-1/step-0',
    label: 'zone 3, retry 1',
    machines: ['a5'],
  });
});
