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
        step: { index: 0, label: 'zone 1 batch 1/1' },
        attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(24), finishedAt: at(25) }],
      }),
      machine('eus-2', 'eastus', {
        phase: 1,
        zone: '2',
        step: { index: 1, label: 'zone 2 batch 1/1' },
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
        step: { index: 1, label: 'zone 2 batch 1/1' },
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
      machine('wus-0a', 'westus', {
        phase: 1,
        availabilitySet: 'web',
        updateDomain: 1,
        attempts: [{ attempt: 1, outcome: 'Succeeded', startedAt: at(25), finishedAt: at(25.5) }],
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
    expect(page).toMatch(
      /<i class="a o-InstallFailed" style="left:[\d.]+%;width:[\d.]+%" data-attempt="wus-1#2"/,
    );
    expect(page).toMatch(/<i class="a o-Pending" style="[^"]+" data-attempt="eus-2#1"/);
    expect(page).toContain('.o-InstallFailed { background: #d64545; }');
    // An attempt that installed nothing has no span: it sits in the "no install" column.
    expect(page).toMatch(/<i class="a u o-Succeeded" data-attempt="eus-3#1"/);
  });

  test("rolls the timeline up by phase, region and step (the plan's, else placement), machines inside on demand", () => {
    const rows = [...page.matchAll(/class="tl-label label-(\w+)"[^>]*>([^<]*)<small[^>]*>([^<]*)</g)].map(
      (m) => `${m[1]}:${m[2].trim()} (${m[3]})`,
    );
    expect(rows).toEqual([
      'phase:Phase 0 · Succeeded (2 machines)',
      'region:westcentralus (2 machines)',
      'step:zone 1 (1 machine)',
      'step:zone 2 (1 machine)',
      'phase:Phase 1 · Succeeded (8 machines · 2 failed)',
      'region:eastus (3 machines)',
      'step:zone 1 batch 1/1 (1 machine)',
      'step:zone 2 batch 1/1 (2 machines)',
      'region:westus (5 machines · 2 failed)',
      'step:availability set web · UD 0 (1 machine)',
      'step:availability set web · UD 1 (2 machines · 1 failed)',
      'step:standalone (2 machines · 1 failed)',
    ]);
    // Each step is a <details>: steps with failures open, the rest closed; failed machines first inside.
    const steps = [
      ...page.matchAll(/<details class="tl-step" data-step="([^"]+)"\s*(open)?>([\s\S]*?)<\/details>/g),
    ];
    expect(steps.map((m) => [m[1], Boolean(m[2])])).toEqual([
      ['westcentralus/zone 1', false],
      ['westcentralus/zone 2', false],
      ['eastus/zone 1 batch 1/1', false],
      ['eastus/zone 2 batch 1/1', false],
      ['westus/availability set web · UD 0', false],
      ['westus/availability set web · UD 1', true],
      ['westus/standalone', true],
    ]);
    const machinesIn = (step: string) =>
      [...steps.find((m) => m[1] === step)![3].matchAll(/data-machine="([^"]+)"/g)].map((m) => m[1]);
    expect(machinesIn('westus/availability set web · UD 1')).toEqual(['wus-1', 'wus-0a']);
    expect(machinesIn('westus/standalone')).toEqual(['wus-batch-1', 'wus-batch-2']);
    expect(machinesIn('eastus/zone 2 batch 1/1')).toEqual(['eus-2', 'eus-3']);
  });

  test('names the failed machines first, with outcomes, steps and attempt spans; the machines table puts them first', () => {
    const failures = page.slice(
      page.indexOf('<section id="failures">'),
      page.indexOf('<section id="timeline">'),
    );
    expect(page.indexOf('<section id="failures">')).toBeGreaterThan(0);
    expect(failures).toContain('Failed machines (2)');
    expect([...failures.matchAll(/<tr data-failed="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'wus-1',
      'wus-batch-1',
    ]);
    expect(failures).toMatch(/1\. InstallFailed 2026-11-11 23:00:00Z – 2026-11-12 00:00:00Z/);
    expect(failures).toMatch(/2\. InstallFailed 2026-11-12 23:00:00Z – 2026-11-13 00:00:00Z/);
    expect(failures).toContain('availability set web · UD 1');
    const table = page.slice(page.indexOf('<table class="machines">'));
    const order = [...table.matchAll(/<tr><td>([^<]+)<\/td>/g)].map((m) => m[1]);
    expect(order).toEqual([
      'wus-1',
      'wus-batch-1',
      'wcu-1',
      'wcu-2',
      'eus-1',
      'eus-2',
      'eus-3',
      'wus-0',
      'wus-0a',
      'wus-batch-2',
      'm1',
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
    // The two charts' SVG namespace, nothing else.
    expect(urls).toEqual(['http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg']);
  });

  test('charts machines by outcome per phase and region, and patches by state per region', () => {
    expect(page).toMatch(
      /<g data-row="phase 1 · westus"[\s\S]*?<text class="axis"[^>]*>5 machines<\/text><\/g/,
    );
    expect(page).toMatch(
      /<g data-row="westus"[\s\S]*?<rect\s+data-segment="failed"[^>]*><title>westus: 1 failed \(/,
    );
    expect(page).toMatch(/<td>KB5031234<\/td>\s*<td class="n">6<\/td>\s*<td class="n bad">1<\/td>/);
    expect(page).toContain('7/10 (70%)');
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
