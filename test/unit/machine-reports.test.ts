import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, RetryState, TerminatedFailure } from '@temporalio/common';
import {
  assembleMachineReports,
  attemptOfWorkflowId,
  erroredReport,
  reportFromResult,
  visibilityShortfall,
  type AssemblyInput,
  type AttemptReport,
  type ListedAttempt,
  type SliceRead,
} from '../../client/machine-reports';
import type { PhaseStatus, RolloutStatus } from '../../workflows/messages';

const zero = { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 };
const ref = (name: string, machines: number) => ({ key: `${name}.json`, machines });

/** Two phases: eastus (two slices) in phase 0, westus (one slice) in phase 1. */
function summaryOf(
  status: RolloutStatus = 'Running',
  phaseStatus: [PhaseStatus, PhaseStatus] = ['Running', 'Pending'],
  extra: { excluded?: Array<{ name: string; region: string; reason: string }> } = {},
): AssemblyInput['summary'] {
  return {
    status,
    phases: [
      { index: 0, regions: ['eastus'], status: phaseStatus[0] },
      { index: 1, regions: ['westus'], status: phaseStatus[1] },
    ],
    regions: [
      { region: 'eastus', phase: 0, slices: [ref('e1', 2), ref('e2', 1)] },
      { region: 'westus', phase: 1, slices: [ref('w1', 1)] },
    ],
    ...extra,
  };
}

const slicesOf = (overrides: Record<string, SliceRead> = {}): Map<string, SliceRead> =>
  new Map(
    Object.entries({
      'e1.json': {
        machines: [
          { name: 'e-b', region: 'eastus', zone: '2' },
          { name: 'e-a', region: 'eastus', zone: '1' },
        ],
      },
      'e2.json': { machines: [{ name: 'e-set', region: 'eastus', availabilitySet: 'db', updateDomain: 3 }] },
      'w1.json': { machines: [{ name: 'w-a', region: 'westus' }] },
      ...overrides,
    }),
  );

function report(attempt: number, outcome: AttemptReport['outcome'], extra: Partial<AttemptReport> = {}) {
  return { attempt, outcome, counts: zero, rebooted: false, ...extra };
}

const listed = (machine: string, attempt: number, r?: AttemptReport, region = 'eastus'): ListedAttempt => ({
  machine,
  region,
  attempt,
  report: r,
});

/** What a machine that was never attempted reports. */
const untouched = { ...zero, rebooted: false, patches: [], attempts: [] };

describe('assembleMachineReports', () => {
  test('lists excluded machines first, then the plan in slice order, every machine once with its placement and phase', () => {
    const { machines, notes } = assembleMachineReports({
      summary: summaryOf('Running', ['Running', 'Pending'], {
        excluded: [{ name: 'x-1', region: 'westus', reason: 'patch mode Manual' }],
      }),
      slices: slicesOf(),
      attempts: [],
    });
    expect(notes).toEqual([]);
    expect(machines).toEqual([
      { name: 'x-1', region: 'westus', outcome: 'Excluded', detail: 'patch mode Manual', ...untouched },
      { name: 'e-b', region: 'eastus', zone: '2', phase: 0, outcome: 'NotStarted', ...untouched },
      { name: 'e-a', region: 'eastus', zone: '1', phase: 0, outcome: 'NotStarted', ...untouched },
      {
        name: 'e-set',
        region: 'eastus',
        availabilitySet: 'db',
        updateDomain: 3,
        phase: 0,
        outcome: 'NotStarted',
        ...untouched,
      },
      { name: 'w-a', region: 'westus', phase: 1, outcome: 'NotStarted', ...untouched },
    ]);
  });

  test("names each machine's step from its slice's steps (the plan's index and label)", () => {
    const steps = [
      { index: 0, label: 'zone 1 batch 1/1', machines: ['e-a'] },
      { index: 1, label: 'zone 2 batch 1/1', machines: ['e-b'] },
    ];
    const { machines } = assembleMachineReports({
      summary: summaryOf(),
      slices: slicesOf({ 'e1.json': { ...(slicesOf().get('e1.json') as { machines: [] }), steps } }),
      attempts: [],
    });
    expect(Object.fromEntries(machines.map((m) => [m.name, m.step]))).toEqual({
      'e-b': { index: 1, label: 'zone 2 batch 1/1' },
      'e-a': { index: 0, label: 'zone 1 batch 1/1' },
      'e-set': undefined,
      'w-a': undefined,
    });
  });

  test('a machine takes its outcome, detail and counts from its latest finished attempt, its installs from all; attempts sorted; rebooted if any', () => {
    const { machines } = assembleMachineReports({
      summary: summaryOf(),
      slices: slicesOf(),
      attempts: [
        listed(
          'e-a',
          2,
          report(2, 'Succeeded', {
            startedAt: '2026-11-11T01:00:00.000Z',
            finishedAt: '2026-11-11T01:10:00.000Z',
            counts: { ...zero, installed: 4, notSelected: 1 },
            assessedAt: '2026-11-11T00:59:00.000Z',
          }),
        ),
        listed(
          'e-a',
          1,
          report(1, 'Pending', {
            detail: '2 patch(es) pending: the window ran out',
            counts: { ...zero, installed: 2, pending: 2 },
            rebooted: true,
            assessedAt: '2026-11-10T00:59:00.000Z',
          }),
        ),
        // The same attempt listed twice (a listing page boundary) counts once.
        listed('e-a', 1, report(1, 'Pending', { detail: 'again' })),
      ],
    });
    expect(machines.find((m) => m.name === 'e-a')).toEqual({
      name: 'e-a',
      region: 'eastus',
      zone: '1',
      phase: 0,
      outcome: 'Succeeded',
      ...zero,
      // Attempt 1 installed 2 before its window ran out; attempt 2 was offered (and installed) 4 others.
      installed: 6,
      notSelected: 1,
      rebooted: true,
      lastAssessedAt: '2026-11-11T00:59:00.000Z',
      patches: [],
      attempts: [
        { attempt: 1, outcome: 'Pending', detail: '2 patch(es) pending: the window ran out' },
        {
          attempt: 2,
          outcome: 'Succeeded',
          startedAt: '2026-11-11T01:00:00.000Z',
          finishedAt: '2026-11-11T01:10:00.000Z',
        },
      ],
    });
  });

  test('the last assessment is the latest attempt that assessed: an unreachable retry does not erase it', () => {
    const { machines } = assembleMachineReports({
      summary: summaryOf(),
      slices: slicesOf(),
      attempts: [
        listed('e-b', 1, report(1, 'Pending', { assessedAt: '2026-11-10T00:59:00.000Z' })),
        listed('e-b', 2, report(2, 'Unreachable', { detail: 'could not be reached to assess' })),
      ],
    });
    expect(machines.find((m) => m.name === 'e-b')).toMatchObject({
      outcome: 'Unreachable',
      detail: 'could not be reached to assess',
      lastAssessedAt: '2026-11-10T00:59:00.000Z',
    });
  });

  test('a running attempt is no outcome: the previous one stands, or the machine has not started', () => {
    const { machines } = assembleMachineReports({
      // Even in a stopped rollout: a machine with an attempt was not skipped.
      summary: summaryOf('Canceled', ['Halted', 'Skipped']),
      slices: slicesOf(),
      attempts: [
        listed('e-a', 1, report(1, 'Unreachable', { detail: 'could not be reached to assess' })),
        listed('e-a', 2),
        listed('e-b', 1),
      ],
    });
    const byName = new Map(machines.map((m) => [m.name, m]));
    expect(byName.get('e-a')).toMatchObject({
      outcome: 'Unreachable',
      detail: 'could not be reached to assess',
      attempts: [{ attempt: 1, outcome: 'Unreachable', detail: 'could not be reached to assess' }],
    });
    expect(byName.get('e-b')).toMatchObject({ outcome: 'NotStarted', attempts: [] });
  });

  const deadline = 'Skipped: the rollout deadline passed';
  const stopped = 'Skipped: the rollout stopped';
  test.each<[RolloutStatus, [PhaseStatus, PhaseStatus], string, string]>([
    ['Running', ['Running', 'Pending'], 'NotStarted', 'NotStarted'],
    ['Halted', ['Halted', 'Pending'], 'NotStarted', 'NotStarted'],
    ['Paused', ['Running', 'Pending'], 'NotStarted', 'NotStarted'],
    ['WaitingForApproval', ['Succeeded', 'WaitingForApproval'], 'NotStarted', 'NotStarted'],
    ['Completed', ['Succeeded', 'Succeeded'], deadline, deadline],
    ['Canceled', ['Halted', 'Skipped'], stopped, 'NotStarted'],
    ['Canceled', ['Succeeded', 'WaitingForApproval'], stopped, 'NotStarted'],
    ['Rejected', ['Succeeded', 'Skipped'], deadline, 'NotStarted'],
  ])('never attempted, rollout %s, phases %j: phase 0 %s, phase 1 %s', (status, phases, east, west) => {
    const { machines } = assembleMachineReports({
      summary: summaryOf(status, phases),
      slices: slicesOf(),
      attempts: [],
    });
    const expected = (outcome: string) => {
      if (outcome === 'NotStarted') return { outcome, detail: undefined, attempts: [] };
      const detail = outcome.replace('Skipped: ', '');
      return { outcome: 'Skipped', detail, attempts: [{ attempt: 1, outcome: 'Skipped', detail }] };
    };
    expect(machines.find((m) => m.name === 'e-a')).toMatchObject(expected(east));
    expect(machines.find((m) => m.name === 'w-a')).toMatchObject(expected(west));
  });

  test('an unreadable slice is noted; its machines known from their attempts follow the plan, by region then name', () => {
    const { machines, notes } = assembleMachineReports({
      summary: summaryOf('Running', ['Succeeded', 'Running']),
      slices: slicesOf({ 'e1.json': { error: 'ENOENT' } }),
      attempts: [
        listed('a-west', 1, report(1, 'Succeeded', { region: 'westus', zone: '3' }), 'westus'),
        listed(
          'e-b',
          1,
          report(1, 'Unhealthy', { region: 'eastus', zone: '2', detail: 'probe failed' }),
          'eastus',
        ),
        listed('e-a', 1, undefined, 'eastus'), // running: only its listing's region is known
      ],
    });
    expect(notes).toEqual([
      'eastus: slice e1.json (2 machine(s)) could not be read (ENOENT); only its machines that have started are listed',
    ]);
    expect(machines.map((m) => [m.name, m.region, m.zone, m.phase, m.outcome])).toEqual([
      ['e-set', 'eastus', undefined, 0, 'NotStarted'],
      ['w-a', 'westus', undefined, 1, 'NotStarted'],
      ['e-a', 'eastus', undefined, 0, 'NotStarted'],
      ['e-b', 'eastus', '2', 0, 'Unhealthy'],
      ['a-west', 'westus', '3', 1, 'Succeeded'],
    ]);
  });

  test('a slice missing from what was read counts as unreadable', () => {
    const slices = slicesOf();
    slices.delete('w1.json');
    const { machines, notes } = assembleMachineReports({ summary: summaryOf(), slices, attempts: [] });
    expect(notes).toEqual([
      'westus: slice w1.json (1 machine(s)) could not be read (not read); only its machines that have started are listed',
    ]);
    expect(machines.map((m) => m.name)).toEqual(['e-b', 'e-a', 'e-set']);
  });
});

describe('attempt records from results and failures', () => {
  test('a result without a memo keeps the memo fields and the patch list, not the window', () => {
    expect(
      reportFromResult({
        name: 'e-a',
        attempt: 2,
        outcome: 'InstallFailed',
        startedAt: 'a',
        finishedAt: 'b',
        detail: '1 patch(es) failed',
        counts: { ...zero, failed: 1 },
        patches: [{ patchId: 'KB1', state: 'Failed' }],
        rebooted: false,
        assessedAt: 'c',
        windowEnd: 5,
      }),
    ).toEqual({
      attempt: 2,
      outcome: 'InstallFailed',
      startedAt: 'a',
      finishedAt: 'b',
      detail: '1 patch(es) failed',
      counts: { ...zero, failed: 1 },
      rebooted: false,
      assessedAt: 'c',
      patches: [{ patchId: 'KB1', state: 'Failed' }],
    });
  });

  test.each([
    [
      'a failed workflow: the root cause',
      new WorkflowFailedError(
        'Workflow execution failed',
        ApplicationFailure.create({
          message: 'outer',
          cause: ApplicationFailure.create({ message: 'dpkg was interrupted' }),
        }),
        RetryState.NON_RETRYABLE_FAILURE,
      ),
      'dpkg was interrupted',
    ],
    [
      'a terminated workflow: the reason',
      new WorkflowFailedError(
        'operator',
        new TerminatedFailure('terminated by operator'),
        RetryState.NON_RETRYABLE_FAILURE,
      ),
      'terminated by operator',
    ],
    ['anything else: its message', new Error('boom'), 'boom'],
  ])('%s is an Errored attempt', (_what, err, detail) => {
    expect(erroredReport(3, err)).toEqual({
      attempt: 3,
      outcome: 'Errored',
      detail,
      counts: zero,
      rebooted: false,
    });
  });

  test.each([
    ['offpeak/nov/eastus/e-a/attempt-1', 1],
    ['offpeak/nov/eastus/e-a/attempt-12', 12],
    ['offpeak/nov/eastus/attempt-3/attempt-2', 2],
    ['offpeak/nov/eastus', undefined],
    ['offpeak/nov/eastus/e-a/attempt-', undefined],
  ])('the attempt of %s is %p', (id, attempt) => {
    expect(attemptOfWorkflowId(id)).toBe(attempt);
  });
});

describe('visibilityShortfall', () => {
  const ok = (name: string, attempt = 1) => listed(name, attempt, report(attempt, 'Succeeded'));
  const pending = (name: string, attempt = 1) => listed(name, attempt, report(attempt, 'Pending'));

  test.each<[string, number, ListedAttempt[], number]>([
    ['caught up', 3, [ok('e-a'), ok('e-b'), pending('e-set')], 0],
    ['an attempt not listed yet', 3, [ok('e-a'), ok('e-b')], 1],
    ['an attempt still shown running', 2, [ok('e-a'), listed('e-b', 1)], 1],
    ['a retry counts as an attempt of its own', 2, [pending('e-a')], 1],
    ['a retry listed', 2, [pending('e-a'), ok('e-a', 2)], 0],
    ['more listed than recorded (the rollout lags)', 0, [ok('e-a')], 0],
    ['nothing recorded, nothing to wait for', 0, [], 0],
  ])('%s', (_what, recorded, attempts, short) => {
    expect(visibilityShortfall({ attempts: recorded }, attempts)).toBe(short);
  });
});

test('patches over attempts: an installed patch stays Installed when a retry is no longer offered it', () => {
  const { machines } = assembleMachineReports({
    summary: summaryOf(),
    slices: slicesOf(),
    attempts: [
      listed(
        'e-a',
        1,
        report(1, 'Interrupted', {
          counts: { ...zero, installed: 1, pending: 1 },
          patches: [
            { patchId: 'a', state: 'Installed' },
            { patchId: 'b', state: 'Pending' },
          ],
        }),
      ),
      listed(
        'e-a',
        2,
        report(2, 'Succeeded', {
          counts: { ...zero, installed: 1 },
          patches: [{ patchId: 'b', state: 'Installed' }],
        }),
      ),
    ],
  });
  const m = machines.find((x) => x.name === 'e-a')!;
  expect({ installed: m.installed, pending: m.pending, patches: m.patches }).toEqual({
    installed: 2,
    pending: 0,
    patches: [
      { patchId: 'a', state: 'Installed' },
      { patchId: 'b', state: 'Installed' },
    ],
  });
});
