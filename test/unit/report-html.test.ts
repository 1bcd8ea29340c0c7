import { renderRolloutHtml } from '../../client/report-html';
import { progressLines, summaryTable } from '../../client/progress';
import type { MachineReport, RolloutReport } from '../../workflows/messages';

const at = (hours: number) => new Date(Date.UTC(2026, 10, 10, 22) + hours * 3_600_000).toISOString();

function machine(name: string, region: string, extra: Partial<MachineReport> = {}): MachineReport {
  return {
    name,
    region,
    phase: 0,
    outcome: 'Succeeded',
    rebooted: true,
    patches: [
      { patchId: 'KB5031234', state: 'Installed' },
      { patchId: 'KB5030000', state: 'NotSelected' },
    ],
    attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(0), finishedAt: at(1) }],
    installed: 1,
    failed: 0,
    pending: 0,
    excluded: 0,
    notSelected: 1,
    ...extra,
  };
}

/** Two phases, three regions: zones, an availability set by update domain, standalone machines. */
function sampleReport(): RolloutReport {
  return {
    rolloutId: 'nov-2026',
    status: 'Completed',
    startedBy: 'carol',
    month: '2026-11',
    monthType: 'baseline',
    planned: 0,
    succeeded: 0,
    attempts: 0,
    regions: [],
    deadline: at(24 * 14),
    errors: { count: 1, allowed: 3 },
    phases: [
      { index: 0, regions: ['westcentralus'], status: 'Succeeded', startedAt: at(-0.5), finishedAt: at(3) },
      { index: 1, regions: ['eastus', 'westus'], status: 'Succeeded', startedAt: at(24), finishedAt: at(50) },
    ],
    gates: [
      {
        name: 'phase-1',
        phase: 1,
        decision: 'refused',
        by: 'carol',
        at: at(20),
        comment: 'the starter cannot approve',
      },
      {
        name: 'phase-1',
        phase: 1,
        decision: 'approved',
        by: 'alice & bob',
        at: at(23.5),
        comment: '<script>window.pwned = 1</script><img src=x onerror="alert(1)">',
      },
    ],
    machines: [
      machine('wcu-1', 'westcentralus', { zone: '1' }),
      machine('wcu-2', 'westcentralus', {
        zone: '2',
        attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(1.5), finishedAt: at(2.5) }],
      }),
      machine('eus-1', 'eastus', {
        phase: 1,
        zone: '1',
        attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(24), finishedAt: at(25) }],
      }),
      machine('eus-2', 'eastus', {
        phase: 1,
        zone: '2',
        outcome: 'Succeeded',
        attempts: [
          {
            attempt: 1,
            outcome: 'Pending',
            startedAt: at(26),
            finishedAt: at(28),
            detail: 'the window ran out',
          },
          { attempt: 2, outcome: 'Succeeded', startedAt: at(48), finishedAt: at(49) },
        ],
      }),
      machine('eus-3', 'eastus', {
        phase: 1,
        zone: '2',
        outcome: 'Succeeded',
        rebooted: false,
        patches: [],
        installed: 0,
        notSelected: 0,
        attempts: [{ attempt: 1, outcome: 'Succeeded', detail: 'nothing to install' }],
      }),
      machine('wus-0', 'westus', {
        phase: 1,
        availabilitySet: 'web',
        updateDomain: 0,
        attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(24), finishedAt: at(25) }],
      }),
      machine('wus-1', 'westus', {
        phase: 1,
        availabilitySet: 'web',
        updateDomain: 1,
        outcome: 'InstallFailed',
        detail: '1 patch(es) failed',
        patches: [{ patchId: 'KB5031234', state: 'Failed' }],
        installed: 0,
        failed: 1,
        notSelected: 0,
        attempts: [
          { attempt: 1, outcome: 'InstallFailed', startedAt: at(25), finishedAt: at(26) },
          { attempt: 2, outcome: 'InstallFailed', startedAt: at(49), finishedAt: at(50) },
        ],
      }),
      machine('wus-batch-1', 'westus', {
        phase: 1,
        outcome: 'Unreachable',
        attempts: [{ attempt: 1, outcome: 'Unreachable', detail: 'could not be reached to assess' }],
        patches: [],
        installed: 0,
        notSelected: 0,
        rebooted: false,
      }),
      machine('wus-batch-2', 'westus', {
        phase: 1,
        outcome: 'NotStarted',
        attempts: [],
        patches: [],
        installed: 0,
        notSelected: 0,
        rebooted: false,
      }),
      machine('m1', 'westus', {
        phase: undefined,
        outcome: 'Excluded',
        detail: 'patchMode Manual',
        attempts: [],
        patches: [],
        installed: 0,
        notSelected: 0,
        rebooted: false,
      }),
    ],
  };
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

describe('renderRolloutHtml', () => {
  const report = sampleReport();
  const page = renderRolloutHtml(report);

  test('draws one timeline element per attempt, keyed by machine and attempt, coloured by outcome', () => {
    const attempts = report.machines.flatMap((m) => m.attempts.map((a) => `${m.name}#${a.attempt}`));
    expect(count(page, /data-attempt="/g)).toBe(attempts.length);
    for (const key of attempts) expect(page).toContain(`data-attempt="${key}"`);
    expect(page).toMatch(/data-attempt="wus-1#2" data-outcome="InstallFailed" fill="#d64545"/);
    expect(page).toMatch(/data-attempt="eus-2#1" data-outcome="Pending" fill="#e8a33d"/);
    // An attempt that installed nothing has no span: it sits in the "no install" column.
    expect(page).toMatch(/class="attempt untimed"\s+data-attempt="eus-3#1"/);
  });

  test('groups timeline rows phase, region, then zone, availability set and update domain, or standalone', () => {
    const labels = [...page.matchAll(/class="label label-(\w+)"[^>]*>([^<]*)</g)].map(
      (m) => `${m[1]}:${m[2]}`,
    );
    expect(labels).toEqual([
      'phase:Phase 0 · Succeeded',
      'region:westcentralus',
      'group:zone 1',
      'machine:wcu-1',
      'group:zone 2',
      'machine:wcu-2',
      'phase:Phase 1 · Succeeded',
      'region:eastus',
      'group:zone 1',
      'machine:eus-1',
      'group:zone 2',
      'machine:eus-2',
      'machine:eus-3',
      'region:westus',
      'group:availability set web · UD 0',
      'machine:wus-0',
      'group:availability set web · UD 1',
      'machine:wus-1',
      'group:standalone',
      'machine:wus-batch-1',
      'machine:wus-batch-2',
    ]);
  });

  test('has a legend of the outcomes present, and a gates table with who decided and when', () => {
    const legend = page.slice(page.indexOf('<ul class="legend">'), page.indexOf('</ul>'));
    expect(legend).toContain('Succeeded');
    expect(legend).toContain('InstallFailed');
    expect(legend).not.toContain('DidNotComeBack');
    expect(count(page, /<tr data-gate="phase-1">/g)).toBe(2);
    expect(page).toMatch(/<td>alice &#38; bob<\/td>\s*<td>2026-11-11 21:30:00Z<\/td>/);
  });

  test('renders a hostile comment inert: no tag of it survives, its text is shown escaped', () => {
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).toContain(
      '&#60;script&#62;window.pwned = 1&#60;/script&#62;&#60;img src=x onerror=&#34;alert(1)&#34;&#62;',
    );
  });

  test('is self-contained: no external URL, no script, and a policy that forbids loading anything', () => {
    expect(page).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    const urls = [...page.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(urls).toEqual([
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
    ]);
  });

  test('charts machines by outcome per phase and region, and patches by state per region', () => {
    expect(page).toMatch(
      /<g data-row="phase 1 · westus"[\s\S]*?<text class="axis"[^>]*>4 machines<\/text><\/g/,
    );
    expect(page).toMatch(
      /<g data-row="westus"[\s\S]*?<rect\s+data-segment="failed"[^>]*><title>westus: 1 failed \(/,
    );
    expect(page).toMatch(/<td>KB5031234<\/td>\s*<td class="n">5<\/td>\s*<td class="n bad">1<\/td>/);
    expect(page).toContain('6/9 (66.6%)');
  });

  test('a rollout that has not started any machine still renders, without a bar', () => {
    const fresh: RolloutReport = {
      ...report,
      status: 'WaitingForApproval',
      openGate: 'phase-0',
      gates: [],
      phases: report.phases.map((p) => ({ index: p.index, regions: p.regions, status: 'Pending' })),
      machines: report.machines.map((m) => ({
        ...m,
        outcome: m.outcome === 'Excluded' ? 'Excluded' : 'NotStarted',
        attempts: [],
      })),
    };
    const empty = renderRolloutHtml(fresh);
    expect(count(empty, /data-attempt="/g)).toBe(0);
    expect(empty).toContain('No gate decision recorded; gate phase-0 is open.');
    expect(empty).toMatch(/<\/html>\n$/);
  });
});

test('a rollout with simulated machines says so in the HTML report, its status lines and its summary', () => {
  const report = { ...sampleReport(), simulated: { count: 2, all: false, names: ['a1', 'a2'] } };
  const notice =
    'SIMULATED: 2 machine(s) (a1, a2) use driver "simulated": the simulator patches nothing on them, and their results are not real (set driver: ssh or azure)';
  expect(renderRolloutHtml(report)).toContain(notice.replace(/"/g, '&#34;'));
  expect(progressLines(report)).toContain(`  ${notice}`);
  expect(summaryTable(report).split('\n')[0]).toBe(notice);
  expect(renderRolloutHtml(sampleReport())).not.toContain('SIMULATED');
  expect(summaryTable(sampleReport())).not.toContain('SIMULATED');
});
