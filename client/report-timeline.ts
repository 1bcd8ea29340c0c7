import { MACHINE_STATE, type MachineState } from '../domain/outcomes';
import type { MachineReport, RolloutReport } from '../workflows/messages';
import { failuresFirst, isFailed } from './failures';
import { escapeHtml, formatInstant, html, raw, type Html } from './html';

/**
 * The HTML report's timeline, rolled up so that it reads at any size: a row per phase, per region and per
 * step (each with its span and counts), the machines of a step inside its `<details>`, shown on demand,
 * failed machines first. Rows are HTML with bars placed in percent of the track: the page is as wide as
 * the window allows, never wider. No script: `<details>` opens without one.
 */

/** Colours by machine state (attempt outcomes among them). */
export const COLOURS: Record<MachineState, string> = {
  Succeeded: '#2e9e5b',
  Pending: '#e8a33d',
  WindowMissed: '#c9b458',
  Unreachable: '#8e7cc3',
  Interrupted: '#7a8fb8',
  InstallFailed: '#d64545',
  PreScriptFailed: '#e0683a',
  PostScriptFailed: '#b8502c',
  DidNotComeBack: '#8b1e2d',
  Unhealthy: '#c2377f',
  Errored: '#5c1a1a',
  Skipped: '#a0a4ab',
  NotStarted: '#d9dce1',
  Excluded: '#eceef1',
};

/** One class per state (`o-InstallFailed`): a bar says its colour in a few bytes. */
export const OUTCOME_CSS = Object.entries(COLOURS)
  .map(([o, c]) => `.o-${o} { background: ${c}; }`)
  .join('\n');

/** Steps with failures open by default when there are at most this many: failures first, on screen. */
const OPEN_FAILING_STEPS = 10;

interface Span {
  start: number;
  end: number;
}

/** The first start and last end of some attempts (NaN-free), or undefined when none has a span. */
function spanOf(machines: readonly MachineReport[], until: number): Span | undefined {
  let start = Infinity;
  let end = -Infinity;
  for (const m of machines)
    for (const a of m.attempts) {
      const s = a.startedAt ? Date.parse(a.startedAt) : NaN;
      if (Number.isNaN(s)) continue;
      const f = a.finishedAt ? Date.parse(a.finishedAt) : NaN;
      start = Math.min(start, s);
      end = Math.max(end, Number.isNaN(f) ? until : f);
    }
  return start <= end ? { start, end } : undefined;
}

/** The report's time range: every attempt's span and every phase's, padded a little. */
function rangeOf(report: RolloutReport): Span {
  let start = Infinity;
  let end = -Infinity;
  const add = (iso: string | undefined) => {
    const t = iso ? Date.parse(iso) : NaN;
    if (Number.isNaN(t)) return;
    start = Math.min(start, t);
    end = Math.max(end, t);
  };
  for (const m of report.machines)
    for (const a of m.attempts) {
      add(a.startedAt);
      add(a.finishedAt);
    }
  for (const p of report.phases) {
    add(p.startedAt);
    add(p.finishedAt);
  }
  if (start > end) return { start: 0, end: 1000 };
  if (end - start < 10) end = start + 10;
  const pad = (end - start) * 0.02;
  return { start: start - pad, end: end + pad };
}

const TICK_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3,
  1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3, 1209600e3,
];

function tickLabel(t: number, step: number): string {
  const iso = new Date(t).toISOString();
  if (step < 1000) return iso.slice(11, 23);
  if (step < 60_000) return iso.slice(11, 19);
  if (step < 86_400_000) return iso.slice(11, 16) === '00:00' ? iso.slice(5, 10) : iso.slice(11, 16);
  return iso.slice(5, 10);
}

/** The machines of a region grouped by the plan's step (or, when a slice was not read, by placement). */
function stepsOf(
  machines: readonly MachineReport[],
): Array<{ key: string; label: string; machines: MachineReport[] }> {
  const steps = new Map<string, { index: number; label: string; machines: MachineReport[] }>();
  for (const m of machines) {
    const label = m.step?.label ?? placementOf(m);
    const key = m.step ? `#${m.step.index}` : label;
    const s = steps.get(key) ?? { index: m.step?.index ?? Infinity, label, machines: [] };
    s.machines.push(m);
    steps.set(key, s);
  }
  return [...steps.entries()]
    .sort((a, b) => a[1].index - b[1].index || a[1].label.localeCompare(b[1].label))
    .map(([key, s]) => ({ key, label: s.label, machines: s.machines }));
}

/** Zone, availability set and update domain, or standalone: the unit a step patches together. */
export function placementOf(m: MachineReport): string {
  if (m.zone !== undefined) return `zone ${m.zone}`;
  if (m.availabilitySet !== undefined)
    return `availability set ${m.availabilitySet} · UD ${m.updateDomain ?? '?'}`;
  return 'standalone';
}

/** "2026-11-10 22:00:00Z – 23:10:00Z": the end without its date when it is the same day. */
export function spanText(startedAt: string | undefined, finishedAt: string | undefined): string {
  const start = formatInstant(startedAt);
  const end = formatInstant(finishedAt);
  if (!end) return `${start} – running`;
  return `${start} – ${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end}`;
}

/** "50 machines · 2 failed" for a row, and its title: every state other than success, failures first. */
function countsOf(machines: readonly MachineReport[]): { short: string; full: string } {
  const by = new Map<MachineState, number>();
  let failed = 0;
  for (const m of machines) {
    if (isFailed(m.outcome)) failed++;
    if (m.outcome !== MACHINE_STATE.Succeeded) by.set(m.outcome, (by.get(m.outcome) ?? 0) + 1);
  }
  const n = `${machines.length} machine${machines.length === 1 ? '' : 's'}`;
  const states = [...by.entries()]
    .sort((a, b) => Number(isFailed(b[0])) - Number(isFailed(a[0])) || b[1] - a[1])
    .map(([o, k]) => `${k} ${o}`);
  return { short: failed ? `${n} · ${failed} failed` : n, full: [n, ...states].join(' · ') };
}

export function timelineSection(report: RolloutReport): Html {
  const range = rangeOf(report);
  const width = range.end - range.start;
  const pct = (t: number) => ((Math.min(Math.max(t, range.start), range.end) - range.start) / width) * 100;
  const at = (t: number) => `${pct(t).toFixed(2)}%`;
  const bar = (s: Span) =>
    `left:${at(s.start)};width:${Math.max(0.15, pct(s.end) - pct(s.start)).toFixed(2)}%`;
  const step = TICK_STEPS.find((s) => width / s <= 8) ?? TICK_STEPS[TICK_STEPS.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(range.start / step) * step; t <= range.end; t += step) ticks.push(t);
  const gates = report.gates.filter((g) => g.decision !== 'refused' && !Number.isNaN(Date.parse(g.at)));

  const planned = report.machines.filter((m) => m.outcome !== MACHINE_STATE.Excluded);
  const failingSteps = new Set<string>();
  for (const m of planned)
    if (isFailed(m.outcome)) failingSteps.add(`${m.phase}/${m.region}/${m.step?.index ?? placementOf(m)}`);
  const openFailing = failingSteps.size <= OPEN_FAILING_STEPS;

  // The hot path at 10,000 machines: one compact line per machine, every value escaped.
  const machineRow = (m: MachineReport): Html => {
    let timed = '';
    let untimed = '';
    for (const a of m.attempts) {
      const start = a.startedAt ? Date.parse(a.startedAt) : NaN;
      const title = `attempt ${a.attempt}: ${a.outcome}${
        Number.isNaN(start) ? ', nothing installed' : `, ${spanText(a.startedAt, a.finishedAt)}`
      }${a.detail ? ` (${a.detail})` : ''}`;
      const attrs = `data-attempt="${escapeHtml(`${m.name}#${a.attempt}`)}" title="${escapeHtml(title)}"`;
      if (Number.isNaN(start)) {
        untimed += `<i class="a u o-${a.outcome}" ${attrs}></i>`;
        continue;
      }
      const f = a.finishedAt ? Date.parse(a.finishedAt) : NaN;
      timed += `<i class="a o-${a.outcome}" style="${bar({ start, end: Number.isNaN(f) ? range.end : f })}" ${attrs}></i>`;
    }
    const gutter =
      m.attempts.length === 0 && m.outcome === MACHINE_STATE.NotStarted ? 'not started' : untimed;
    const name = escapeHtml(m.name);
    const failed = isFailed(m.outcome);
    return raw(
      `<div class="tl-row m${failed ? ' failed' : ''}" data-machine="${name}">` +
        `<span class="l"${failed || name.length > 30 ? ` title="${name}: ${m.outcome}"` : ''}>${name}</span>` +
        `<span class="g">${gutter}</span><span class="t">${timed}</span></div>\n`,
    );
  };

  const rollupRow = (
    kind: string,
    label: string,
    machines: MachineReport[],
    span: Span | undefined,
    failed: boolean,
  ) => {
    const counts = countsOf(machines);
    return html`<span class="tl-label label-${kind}" title="${label}: ${counts.full}"
        >${label} <small class="${failed ? 'bad' : ''}">${counts.short}</small></span
      ><span class="tl-gutter"></span
      ><span class="tl-track"
        >${span ? raw(`<i class="span${failed ? ' failed' : ''}" style="${bar(span)}"></i>`) : ''}</span
      >`;
  };

  const phases = report.phases.map((phase) => {
    const inPhase = planned.filter((m) => m.phase === phase.index);
    const phaseSpan =
      phase.startedAt && phase.finishedAt
        ? { start: Date.parse(phase.startedAt), end: Date.parse(phase.finishedAt) }
        : spanOf(inPhase, range.end);
    const regions = phase.regions.map((region) => {
      const machines = inPhase.filter((m) => m.region === region);
      const steps = stepsOf(machines).map((s) => {
        const failed = s.machines.some((m) => isFailed(m.outcome));
        const open = failed && openFailing;
        return html`<details class="tl-step" data-step="${region}/${s.label}" ${open ? raw('open') : ''}>
          <summary class="tl-row step">
            ${rollupRow('step', s.label, s.machines, spanOf(s.machines, range.end), failed)}
          </summary>
          ${failuresFirst(s.machines).map(machineRow)}
        </details>`;
      });
      const failed = machines.some((m) => isFailed(m.outcome));
      return html`<div class="tl-row region" data-region="${region}">
          ${rollupRow('region', region, machines, spanOf(machines, range.end), failed)}
        </div>
        ${steps}`;
    });
    const failed = inPhase.some((m) => isFailed(m.outcome));
    const label = `Phase ${phase.index} · ${phase.status}`;
    return html`<div class="tl-phase" data-phase="${phase.index}">
      <div class="tl-row phase">${rollupRow('phase', label, inPhase, phaseSpan, failed)}</div>
      ${regions}
    </div>`;
  });

  return html`<div class="tl" role="table" aria-label="Timeline of the rollout's attempts">
    <div class="tl-grid" aria-hidden="true">
      ${ticks.map((t) => raw(`<b style="left:${at(t)}"></b>`))}
      ${gates.map((g) => raw(`<b class="gate" style="left:${at(Date.parse(g.at))}"></b>`))}
    </div>
    <div class="tl-row axis">
      <span class="tl-label">UTC · ${new Date(range.start).toISOString().slice(0, 10)}</span
      ><span class="tl-gutter">no install</span
      ><span class="tl-track"
        >${ticks.map((t) => html`<span class="tick" style="left:${at(t)}">${tickLabel(t, step)}</span>`)}
        ${gates.map(
          (g) =>
            html`<span
              class="gate-mark"
              style="left:${at(Date.parse(g.at))}"
              title="gate ${g.name} ${g.decision} by ${g.by} at ${formatInstant(g.at)}"
              >◆</span
            >`,
        )}</span
      >
    </div>
    ${phases}
  </div>`;
}

export const TIMELINE_CSS = `
.tl { position: relative; border: 1px solid var(--line); border-radius: 6px; font-size: 12px; }
.tl-row { display: grid; grid-template-columns: 280px 64px minmax(0, 1fr); align-items: center; min-height: 18px; }
.tl-label, .tl-row.m .l { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 0 6px; }
.tl-gutter, .tl-row.m .g { background: #fafbfc; height: 100%; display: flex; align-items: center; gap: 3px; padding: 0 3px; color: var(--muted); font-size: 11px; overflow: hidden; }
.tl-track, .tl-row.m .t { position: relative; z-index: 1; height: 18px; margin-right: 8px; }
.tl-grid { position: absolute; left: 344px; right: 8px; top: 0; bottom: 0; pointer-events: none; }
.tl-grid b { position: absolute; top: 0; bottom: 0; border-left: 1px solid var(--line); }
.tl-grid b.gate { border-left: 1.5px dashed #4a5fc1; }
.tl-row.axis { height: 26px; color: var(--muted); font-size: 11px; }
.tl-row.axis .tick { position: absolute; top: 4px; transform: translateX(-50%); white-space: nowrap; }
.tl-row.axis .gate-mark { position: absolute; top: 2px; transform: translateX(-50%); color: #4a5fc1; pointer-events: auto; }
.tl-row.phase { background: var(--band); font-weight: 700; }
.tl-row.region .tl-label { padding-left: 18px; font-weight: 600; }
.tl-step > summary { cursor: pointer; list-style: none; }
.tl-step > summary::-webkit-details-marker { display: none; }
.tl-step > summary .tl-label { padding-left: 32px; }
.tl-step > summary .tl-label::before { content: "▸ "; color: var(--muted); }
.tl-step[open] > summary .tl-label::before { content: "▾ "; }
.tl-row.m .l { padding-left: 50px; color: var(--muted); }
.tl-row.m.failed .l { color: #8b1e2d; font-weight: 600; }
.tl-label small { color: var(--muted); font-weight: 400; }
.tl-label small.bad { color: #b3261e; }
.tl i { position: absolute; top: 3px; bottom: 3px; border-radius: 2px; min-width: 3px; }
.tl i.span { background: #b9c4d4; top: 5px; bottom: 5px; }
.tl i.span.failed { background: #e7a9a9; }
.tl i.u { position: static; display: inline-block; width: 9px; height: 12px; }
.tl i.a:hover { outline: 1px solid var(--fg); }
`;
