import {
  complianceReport,
  dueOf,
  nextBaselineMonth,
  patchMatches,
  type AssessmentEvidence,
  type AttemptEvidence,
  type ComplianceStatus,
} from '../../domain/compliance';
import type { AvailablePatch } from '../../domain/patches';

const kb = (id: string, classification: AvailablePatch['classification']): AvailablePatch => ({
  patchId: id,
  name: `Update ${id}`,
  kbId: id,
  classification,
  rebootBehavior: 'CanRequestReboot',
  hotpatch: false,
});
const pkg = (
  name: string,
  version: string,
  classification: AvailablePatch['classification'],
): AvailablePatch => ({
  patchId: `${name}=${version}`,
  name,
  version,
  classification,
  rebootBehavior: 'NeverReboots',
  hotpatch: false,
});
const assessment = (
  machine: string,
  at: string,
  patches: AvailablePatch[],
  outcome: AssessmentEvidence['outcome'] = 'Succeeded',
): AssessmentEvidence => ({
  machine,
  assessedAt: `2026-03-${at}Z`,
  outcome,
  patches,
});
const attempt = (
  machine: string,
  at: string,
  patches: AttemptEvidence['patches'],
  extra: Partial<AttemptEvidence> = {},
): AttemptEvidence => ({
  machine,
  rolloutId: 'mar-2026',
  attempt: 1,
  outcome: 'Succeeded',
  closedAt: `2026-03-${at}Z`,
  assessedAt: `2026-03-${at}Z`,
  patches,
  ...extra,
});

const A1 = kb('KB5031234', 'Security');
const A2 = kb('KB5031999', 'Critical');
const A3 = kb('KB5030000', 'Other');
const SSL = pkg('openssl', '3.0.2-0ubuntu1.18', 'Security');

describe('per-machine status', () => {
  test.each<
    [
      string,
      AssessmentEvidence[],
      AttemptEvidence[],
      ComplianceStatus,
      string[],
      { critical: number; security: number; other: number } | undefined,
    ]
  >([
    ['no evidence at all', [], [], 'Unknown', [], undefined],
    [
      'only an unreachable assessment',
      [assessment('m', '10T01:00:00', [], 'Unreachable')],
      [],
      'Unknown',
      [],
      undefined,
    ],
    [
      'an assessment with missing security and critical patches',
      [assessment('m', '10T01:00:00', [A1, A2, A3])],
      [],
      'NonCompliant',
      ['KB5031234', 'KB5031999'],
      { critical: 1, security: 1, other: 1 },
    ],
    [
      'only "Other" patches missing',
      [assessment('m', '10T01:00:00', [A3])],
      [],
      'Compliant',
      [],
      { critical: 0, security: 0, other: 1 },
    ],
    [
      'a later attempt installed them',
      [assessment('m', '10T01:00:00', [A1, A2, A3])],
      [
        attempt('m', '11T01:00:00', [
          { patchId: 'KB5031234', state: 'Installed' },
          { patchId: 'KB5031999', state: 'Installed' },
          { patchId: 'KB5030000', state: 'NotSelected' },
        ]),
      ],
      'Compliant',
      [],
      { critical: 0, security: 0, other: 1 },
    ],
    [
      'a later attempt left one Pending',
      [assessment('m', '10T01:00:00', [A1, A2])],
      [
        attempt(
          'm',
          '11T01:00:00',
          [
            { patchId: 'KB5031234', state: 'Installed' },
            { patchId: 'KB5031999', state: 'Pending' },
          ],
          { outcome: 'Pending' },
        ),
      ],
      'NonCompliant',
      ['KB5031999'],
      { critical: 1, security: 0, other: 0 },
    ],
    [
      'an attempt BEFORE the assessment does not hide what the assessment found',
      [assessment('m', '12T01:00:00', [A1])],
      [attempt('m', '11T01:00:00', [{ patchId: 'KB5031234', state: 'Installed' }])],
      'NonCompliant',
      ['KB5031234'],
      { critical: 0, security: 1, other: 0 },
    ],
    [
      'attempts only: a clean one',
      [],
      [attempt('m', '11T01:00:00', [{ patchId: 'KB5031234', state: 'Installed' }])],
      'Compliant',
      [],
      undefined,
    ],
    [
      'attempts only: one failed patch',
      [],
      [
        attempt('m', '11T01:00:00', [{ patchId: 'KB5031234', state: 'Failed' }], {
          outcome: 'InstallFailed',
        }),
      ],
      'NonCompliant',
      ['KB5031234'],
      undefined,
    ],
    [
      'attempts only, never assessed (unreachable)',
      [],
      [attempt('m', '11T01:00:00', [], { outcome: 'Unreachable', assessedAt: undefined })],
      'Unknown',
      [],
      undefined,
    ],
  ])('%s', (_what, assessments, attempts, status, outstanding, available) => {
    const [m] = complianceReport({ assessments, attempts, fleet: ['m'], query: {} }).machines;
    expect(m.status).toBe(status);
    expect(m.outstanding).toEqual(outstanding);
    expect(m.available).toEqual(available);
  });

  test('the last install is the latest attempt, whatever its outcome, with its counts', () => {
    const attempts = [
      attempt('m', '11T01:00:00', [{ patchId: 'KB5031234', state: 'Failed' }], {
        outcome: 'InstallFailed',
        attempt: 1,
      }),
      attempt(
        'm',
        '12T01:00:00',
        [
          { patchId: 'KB5031234', state: 'Installed' },
          { patchId: 'KB5031999', state: 'Pending' },
        ],
        { outcome: 'Pending', attempt: 2 },
      ),
    ];
    const [m] = complianceReport({ assessments: [], attempts, query: {} }).machines;
    expect(m.lastInstall).toEqual({
      rolloutId: 'mar-2026',
      attempt: 2,
      outcome: 'Pending',
      at: '2026-03-12T01:00:00Z',
      installed: 1,
      failed: 0,
      pending: 1,
    });
    expect(m.lastAssessedAt).toBe('2026-03-12T01:00:00Z');
  });
});

describe('excluded patches: why, and when they are due', () => {
  test('a hotpatch month exclusion is due in the next baseline month; each reason says what has to change', () => {
    const assessments = [assessment('m', '10T01:00:00', [A1, A2])];
    // Attempt in the March 2026 release (after Patch Tuesday, 2026-03-10): April is the next baseline.
    const attempts = [
      attempt('m', '20T01:00:00', [
        { patchId: A1.patchId, state: 'Excluded', reason: 'HotpatchMonth' },
        { patchId: A2.patchId, state: 'Excluded', reason: 'RequiresReboot' },
      ]),
    ];
    const [m] = complianceReport({ assessments, attempts, query: {} }).machines;
    expect(m.status).toBe('NonCompliant');
    expect(m.excluded).toEqual([
      { patchId: A1.patchId, reason: 'HotpatchMonth', due: 'next baseline month: 2026-04' },
      {
        patchId: A2.patchId,
        reason: 'RequiresReboot',
        due: 'when the policy allows reboots (excludeKbsRequiringReboot: false)',
      },
    ]);
  });

  test('the next baseline month crosses the year; an attempt without reasons says so', () => {
    expect(nextBaselineMonth('2026-11')).toBe('2027-01');
    expect(nextBaselineMonth('2026-01')).toBe('2026-04');
    expect(dueOf('Unknown', '2026-03')).toMatch(/^unknown/);
  });
});

describe('fleet-wide, by rollout, by machine, by status', () => {
  const assessments = [
    assessment('a', '10T00:00:00', [A1]),
    assessment('b', '10T00:00:00', [A3]),
    assessment('c', '10T00:00:00', [SSL]),
  ];
  const attempts = [
    attempt('a', '11T00:00:00', [{ patchId: 'KB5031234', state: 'Installed' }], { rolloutId: 'mar-2026' }),
    attempt('c', '11T00:00:00', [{ patchId: SSL.patchId, state: 'Failed' }], {
      rolloutId: 'install-1',
      outcome: 'InstallFailed',
    }),
  ];
  const fleet = ['a', 'b', 'c', 'd'];

  test('percentages over every machine, never-seen machines counted as Unknown', () => {
    const { summary } = complianceReport({ fleet, assessments, attempts, query: {} });
    expect(summary).toEqual({
      machines: 4,
      compliant: 2,
      nonCompliant: 1,
      unknown: 1,
      simulated: 0,
      compliantPercent: 50,
    });
  });

  test('a rollout query considers only the machines and attempts of that rollout', () => {
    const report = complianceReport({ fleet, assessments, attempts, query: { rollout: 'mar-2026' } });
    expect(report.machines.map((m) => [m.machine, m.status])).toEqual([['a', 'Compliant']]);
    expect(report.summary.compliantPercent).toBe(100);
  });

  test('a machine query and a status filter (the summary stays over all machines considered)', () => {
    expect(
      complianceReport({ fleet, assessments, attempts, query: { machine: 'c' } }).machines.map(
        (m) => m.status,
      ),
    ).toEqual(['NonCompliant']);
    const report = complianceReport({
      fleet,
      assessments,
      attempts,
      query: { status: ['NonCompliant', 'Unknown'] },
    });
    expect(report.machines.map((m) => m.machine)).toEqual(['c', 'd']);
    expect(report.summary.machines).toBe(4);
  });
});

describe('by patch (KB or package)', () => {
  test.each([
    ['KB5031234', 'KB5031234', undefined, true],
    ['5031234', 'KB5031234', undefined, true],
    ['kb5031234', 'KB5031234', undefined, true],
    ['KB5031234', 'KB5031235', undefined, false],
    ['openssl', 'openssl=3.0.2-0ubuntu1.18', 'openssl', true],
    ['openssl', 'openssl=3.0.2-0ubuntu1.18', undefined, true],
    ['openssl=3.0.2-0ubuntu1.18', 'openssl=3.0.2-0ubuntu1.18', undefined, true],
    ['openssl=3.0.1', 'openssl=3.0.2-0ubuntu1.18', undefined, false],
    ['libssl', 'openssl=3.0.2-0ubuntu1.18', 'openssl', false],
  ])('%s matches %s (name %s): %s', (query, patchId, name, expected) => {
    expect(patchMatches(query, patchId, name)).toBe(expected);
  });

  test('the latest evidence gives each machine its state; machines that never saw the patch are left out', () => {
    const assessments = [
      assessment('a', '10T00:00:00', [A1]),
      assessment('b', '10T00:00:00', [A1]),
      assessment('c', '10T00:00:00', [A1]),
      assessment('c', '13T00:00:00', []), // installed outside Offpeak, or superseded
      assessment('d', '10T00:00:00', [A3]),
    ];
    const attempts = [
      attempt('a', '11T00:00:00', [{ patchId: 'KB5031234', state: 'Installed' }]),
      attempt('b', '11T00:00:00', [{ patchId: 'KB5031234', state: 'Failed' }], { outcome: 'InstallFailed' }),
    ];
    const report = complianceReport({ assessments, attempts, query: { patch: '5031234' } });
    expect(report.machines.map((m) => [m.machine, m.patch?.state])).toEqual([
      ['a', 'Installed'],
      ['b', 'Failed'],
      ['c', 'NotAvailable'],
    ]);
    expect(report.patch).toEqual({
      query: '5031234',
      applicable: 3,
      installed: 2,
      missing: 1,
      installedPercent: 66.7,
    });
  });

  test('a package still missing after the last assessment is Missing', () => {
    const report = complianceReport({
      assessments: [assessment('c', '10T00:00:00', [SSL])],
      attempts: [],
      query: { patch: 'openssl' },
    });
    expect(report.machines.map((m) => m.patch)).toEqual([{ patchId: SSL.patchId, state: 'Missing' }]);
  });
});
