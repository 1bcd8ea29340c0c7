import fc from 'fast-check';
import type { Fleet, Machine } from '../../domain/fleet';
import { type Policy, policySchema } from '../../domain/policy';
import { forecastRollout, formatForecastTable, planRollout, type Forecast } from '../../domain/planner';
import { unsplitMeasure } from '../../domain/planner/bounds';
import { fleetArb, policyArb } from '../support/fleet-arbitraries';
import { machine, type MachineExtra } from '../support/machines';

/** A machine with deterministic durations: 30 minutes of install, 10 of reboot. */
function vm(name: string, region: string, extra: MachineExtra = {}): Machine {
  return machine(name, region, { durations: { installMinutes: 30, rebootMinutes: 10 }, ...extra });
}

const DAILY_02_UTC = {
  startDateTime: '2026-01-01 02:00',
  duration: '01:30',
  timeZone: 'UTC',
  recurEvery: '1Day',
};

function forecast(
  machines: Machine[],
  policyInput: Record<string, unknown>,
  start: string,
  options: { deadline?: string; approvalMinutes?: number; configs?: Fleet['maintenanceConfigurations'] } = {},
): Forecast {
  const fleet: Fleet = { machines, regionPairs: {}, maintenanceConfigurations: options.configs ?? {} };
  const policy: Policy = policySchema.parse(policyInput);
  const planned = planRollout(fleet, policy);
  if (!planned.ok) throw new Error(planned.problems.map((p) => p.message).join('\n'));
  return forecastRollout(fleet, policy, planned.value, {
    startAt: Date.parse(start),
    deadline: Date.parse(options.deadline ?? '2026-12-31T23:59:59Z'),
    approvalMinutes: options.approvalMinutes ?? 0,
  }).forecast;
}

describe('forecastRollout', () => {
  it('waits for the off-peak window in the machine’s own time zone, then installs and reboots', () => {
    // 22:00 in New York in December is 03:00 UTC the next day.
    const f = forecast([vm('a', 'eastus', { timeZone: 'America/New_York' })], {}, '2026-12-08T12:00:00Z');
    expect(f).toEqual({
      startAt: '2026-12-08T12:00:00.000Z',
      finishAt: '2026-12-09T03:40:00.000Z',
      lowerBoundFinishAt: '2026-12-09T03:40:00.000Z',
      deadline: '2026-12-31T23:59:59.000Z',
      phases: [{ index: 0, startAt: '2026-12-08T12:00:00.000Z', finishAt: '2026-12-09T03:40:00.000Z' }],
      regions: [
        { region: 'eastus', startAt: '2026-12-08T12:00:00.000Z', finishAt: '2026-12-09T03:40:00.000Z' },
      ],
      late: [],
    });
  });

  it('is DST-correct: the same local window is an hour earlier in UTC in summer', () => {
    const f = forecast([vm('a', 'eastus', { timeZone: 'America/New_York' })], {}, '2026-07-08T12:00:00Z');
    expect(f.finishAt).toBe('2026-07-09T02:40:00.000Z');
  });

  it('runs the steps of a region one after another, and the regions of a phase side by side', () => {
    const machines = [
      vm('a1', 'eastus', { zone: '1' }),
      vm('a2', 'eastus', { zone: '1', durations: { installMinutes: 50, rebootMinutes: 10 } }),
      vm('b1', 'northeurope'),
      vm('c1', 'swedencentral'),
    ];
    const f = forecast(
      machines,
      { disruptionBudget: 1, phases: [['northeurope'], ['eastus', 'swedencentral']] },
      '2026-12-08T21:00:00Z',
    );
    expect(f.phases).toEqual([
      { index: 0, startAt: '2026-12-08T21:00:00.000Z', finishAt: '2026-12-08T22:40:00.000Z' },
      { index: 1, startAt: '2026-12-08T22:40:00.000Z', finishAt: '2026-12-09T00:20:00.000Z' },
    ]);
    // In plan order (phase by phase). eastus: a2 (the slower) from 22:40 to 23:40, then a1 until 00:20.
    expect(f.regions).toEqual([
      { region: 'northeurope', startAt: '2026-12-08T21:00:00.000Z', finishAt: '2026-12-08T22:40:00.000Z' },
      { region: 'eastus', startAt: '2026-12-08T22:40:00.000Z', finishAt: '2026-12-09T00:20:00.000Z' },
      { region: 'swedencentral', startAt: '2026-12-08T22:40:00.000Z', finishAt: '2026-12-08T23:20:00.000Z' },
    ]);
  });

  it('adds the assumed approval before a gated phase', () => {
    const machines = [vm('a', 'northeurope'), vm('b', 'eastus')];
    const policy = {
      windows: 'always',
      phases: [['northeurope'], ['eastus']],
      approvals: { beforePhases: [1] },
    };
    const f = forecast(machines, policy, '2026-12-08T12:00:00Z', { approvalMinutes: 240 });
    expect(f.phases).toEqual([
      { index: 0, startAt: '2026-12-08T12:00:00.000Z', finishAt: '2026-12-08T12:40:00.000Z' },
      { index: 1, startAt: '2026-12-08T16:40:00.000Z', finishAt: '2026-12-08T17:20:00.000Z' },
    ]);
  });

  it('a gate that expires before the assumed approval halts there: its phase and later ones are late', () => {
    const machines = [vm('a', 'northeurope'), vm('b', 'eastus'), vm('c', 'japaneast')];
    const policy = {
      windows: 'always',
      phases: [['northeurope'], ['eastus'], ['japaneast']],
      approvals: { beforePhases: [1], expireAfterMinutes: 60 },
    };
    const f = forecast(machines, policy, '2026-12-08T12:00:00Z', { approvalMinutes: 120 });
    const why = 'gate "phase-1" expires after 60m, before the assumed approval';
    expect(f.late).toEqual([
      { name: 'b', reason: why },
      { name: 'c', reason: why },
    ]);
    expect(f.finishAt).toBe('2026-12-08T12:40:00.000Z');
  });

  it("bounds an update domain by its slowest machine: it is down for all of that machine's time", () => {
    // A set of 10 (2 at once per update domain): in each update domain one 60 + 10 minute machine and
    // one of 5 + 10. Summed over the cap the domains would take 42.5 minutes each; the slow machine alone
    // takes 70, so no schedule finishes the five domains before 5 x 70 minutes after 22:00.
    const machines = Array.from({ length: 10 }, (_, k) =>
      vm(`s${k}`, 'eastus', {
        availabilitySet: 'web',
        updateDomain: k % 5,
        durations: { installMinutes: k < 5 ? 60 : 5, rebootMinutes: 10 },
      }),
    );
    const f = forecast(machines, {}, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-09T03:50:00.000Z');
    expect(f.finishAt).toBe('2026-12-09T03:50:00.000Z');
  });

  it('bounds a zone by its slowest machine, zones one after another', () => {
    // Two zones of five, all five at once (budget 5): in each one 60 + 10 minute machine and four of
    // 5 + 10. Summed over the budget a zone would take 26 minutes; its slow machine alone takes 70.
    const machines = Array.from({ length: 10 }, (_, k) =>
      vm(`z${k}`, 'eastus', {
        zone: k < 5 ? '1' : '2',
        durations: { installMinutes: k % 5 === 0 ? 60 : 5, rebootMinutes: 10 },
      }),
    );
    const f = forecast(machines, { disruptionBudget: 5 }, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-09T00:20:00.000Z');
    expect(f.finishAt).toBe('2026-12-09T00:20:00.000Z');
  });

  it('bounds an update domain of cap + 1 like machines by two whole installs: its second step spills past the night', () => {
    // A set of 10 (2 at once per update domain): three 30 + 10 minute machines in update domain 0, one in
    // each of 1..7. Split at will, domain 0 would be down 60 minutes and the set 340: 03:40, inside the
    // 22:00-04:00 night. But an install is cut only by its window's end, so inside one night each install is
    // one piece, and three of them two at a time take two whole installs (80 minutes): 360 minutes do not
    // fit before the window's end less the reserves, some install ends the next night (22:00), then reboots.
    const machines = Array.from({ length: 10 }, (_, k) =>
      vm(`s${k}`, 'eastus', { availabilitySet: 'web', updateDomain: Math.max(0, k - 2) }),
    );
    const f = forecast(machines, { offPeak: { start: '22:00', end: '04:00' } }, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-09T22:10:00.000Z');
    // The last step starts at 03:20, is cut at 03:45 and finishes its last 5 minutes the next night.
    expect(f.finishAt).toBe('2026-12-09T22:15:00.000Z');
  });

  it('bounds a zone of cap + 1 like machines by two whole installs when they fit in one window', () => {
    // Three 30 + 10 minute machines, two at a time: split at will 60 minutes, in one piece each 80.
    const machines = ['a', 'b', 'c'].map((name) => vm(name, 'eastus', { zone: '1' }));
    const f = forecast(machines, { disruptionBudget: 2 }, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-08T23:20:00.000Z');
    expect(f.finishAt).toBe('2026-12-08T23:20:00.000Z');
  });

  it("counts whole installs night by night: one group per night's end may have a split install", () => {
    // Three zones of three 30 + 10 minute machines, two at a time, in a 22:00-01:00 night (installs until
    // 00:45, downtime until 00:55: 175 minutes). Whole, a zone is down 80 minutes (split at will 60), so
    // the chain does not fit one night. Over two nights, only the zone installing at 00:45 can have an
    // install cut (the machines installing then are down together): at least 80 + 80 + 60 = 220 minutes
    // down, 45 of them the next night, from 22:00.
    const machines = Array.from({ length: 9 }, (_, k) =>
      vm(`z${k}`, 'eastus', { zone: (['1', '2', '3'] as const)[k % 3] }),
    );
    const policy = { disruptionBudget: 2, offPeak: { start: '22:00', end: '01:00' } };
    const f = forecast(machines, policy, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-09T22:45:00.000Z');
    expect(f.finishAt).toBe('2026-12-09T23:15:00.000Z');
  });

  it('keeps the split figure when the work spans nights: whole installs are counted only inside one window', () => {
    // The same three machines in a 50-minute night (22:00-22:50, installs until 22:35): two whole installs
    // do not fit, so some install ends the next night. Split, the zone installs 45 minutes: 35 the first
    // night, 10 the next (22:10), then reboots: 22:20. (Counting two whole installs across the nights
    // would claim 22:35; the bound does not, since an install cut by the first night's end goes on in the next.)
    const machines = ['a', 'b', 'c'].map((name) => vm(name, 'eastus', { zone: '1' }));
    const policy = { disruptionBudget: 2, offPeak: { start: '22:00', end: '22:50' } };
    const f = forecast(machines, policy, '2026-12-08T22:00:00Z');
    expect(f.lowerBoundFinishAt).toBe('2026-12-09T22:20:00.000Z');
    expect(Date.parse(f.finishAt)).toBeGreaterThanOrEqual(Date.parse(f.lowerBoundFinishAt));
  });

  it('an install cut by its window (at the end less the reboot reserve) is finished in a retry, after the other steps', () => {
    const machines = [
      vm('long', 'eastus', {
        zone: '1',
        maintenanceConfiguration: 'nightly',
        durations: { installMinutes: 100, rebootMinutes: 5 },
      }),
      vm('short', 'eastus', {
        zone: '2',
        maintenanceConfiguration: 'nightly',
        durations: { installMinutes: 10, rebootMinutes: 5 },
      }),
      vm('short2', 'eastus', {
        zone: '2',
        maintenanceConfiguration: 'nightly',
        durations: { installMinutes: 10, rebootMinutes: 5 },
      }),
    ];
    const f = forecast(machines, { disruptionBudget: 1 }, '2026-12-08T00:00:00Z', {
      configs: { nightly: DAILY_02_UTC },
    });
    // Zone 1 (fewest machines) first: "long" from 02:00, cut at 03:15 (75 of 100 minutes), reboots until
    // 03:20. Zone 2: "short" cannot start with 10 minutes of the window left, so it waits for the next
    // night: 02:00-02:15, then short2 02:15-02:30. The retry of "long" (25 minutes left) follows:
    // 02:30 + 25 + 5 = 03:00.
    expect(f.finishAt).toBe('2026-12-09T03:00:00.000Z');
    expect(f.late).toEqual([]);
  });

  it('reboots as the workflows decide: never under rebootSetting Never, nor on hotpatch months for hotpatch images', () => {
    const hotpatch = {
      os: 'Windows' as const,
      image: {
        publisher: 'MicrosoftWindowsServer',
        offer: 'WindowsServer',
        sku: '2022-datacenter-azure-edition-core',
      },
    };
    const at = '2026-12-08T22:00:00Z';
    const finish = (policy: Record<string, unknown>, monthType: 'baseline' | 'hotpatch', extra = {}) => {
      const fleet: Fleet = {
        machines: [vm('a', 'eastus', extra)],
        regionPairs: {},
        maintenanceConfigurations: {},
      };
      const parsed = policySchema.parse(policy);
      const planned = planRollout(fleet, parsed);
      if (!planned.ok) throw new Error('unexpected');
      return forecastRollout(fleet, parsed, planned.value, {
        startAt: Date.parse(at),
        deadline: Date.parse('2026-12-31T00:00:00Z'),
        approvalMinutes: 0,
        monthType,
      }).forecast.finishAt;
    };
    expect(finish({}, 'baseline')).toBe('2026-12-08T22:40:00.000Z');
    expect(finish({ rebootSetting: 'Never' }, 'baseline')).toBe('2026-12-08T22:30:00.000Z');
    expect(finish({}, 'hotpatch', hotpatch)).toBe('2026-12-08T22:30:00.000Z');
    expect(finish({ rebootSetting: 'Always' }, 'hotpatch', hotpatch)).toBe('2026-12-08T22:30:00.000Z');
    expect(finish({}, 'baseline', hotpatch)).toBe('2026-12-08T22:40:00.000Z');
    expect(finish({}, 'hotpatch')).toBe('2026-12-08T22:40:00.000Z');
  });

  it('names every machine that cannot make the deadline, and why', () => {
    const machines = [
      vm('weekly', 'eastus', { maintenanceConfiguration: 'sundays' }),
      vm('huge', 'eastus', {
        maintenanceConfiguration: 'nightly',
        durations: { installMinutes: 400, rebootMinutes: 5 },
      }),
      vm('fine', 'eastus', { maintenanceConfiguration: 'nightly' }),
    ];
    const f = forecast(machines, { disruptionBudget: 3 }, '2026-12-08T00:00:00Z', {
      deadline: '2026-12-12T23:59:59Z',
      configs: {
        nightly: DAILY_02_UTC,
        sundays: { ...DAILY_02_UTC, startDateTime: '2026-01-04 02:00', recurEvery: '1Week Sunday' },
      },
    });
    expect(f.late).toEqual([
      { name: 'weekly', reason: 'no window opens before the deadline' },
      {
        name: 'huge',
        reason: 'its install (6h 40m) does not fit into 3 window(s): 2h 55m left after the last attempt',
      },
    ]);
  });

  it('machines of a step reached after the deadline are late', () => {
    const machines = [vm('a', 'eastus', { zone: '1' }), vm('b', 'eastus', { zone: '1' })];
    const f = forecast(machines, { disruptionBudget: 1 }, '2026-12-08T23:00:00Z', {
      deadline: '2026-12-08T23:30:00Z',
    });
    expect(f.late).toEqual([
      { name: 'b', reason: 'the region reaches its step "zone 1 batch 2/2" after the deadline' },
    ]);
  });

  it('prints phases, regions, steps and late machines', () => {
    const fleet: Fleet = { machines: [vm('a', 'eastus')], regionPairs: {}, maintenanceConfigurations: {} };
    const policy = policySchema.parse({});
    const planned = planRollout(fleet, policy);
    if (!planned.ok) throw new Error('unexpected');
    const detail = forecastRollout(fleet, policy, planned.value, {
      startAt: Date.parse('2026-12-08T12:00:00Z'),
      deadline: Date.parse('2026-12-08T20:00:00Z'),
      approvalMinutes: 0,
    });
    expect(formatForecastTable(planned.value, detail, { assumptions: 'test' })).toBe(
      [
        'Forecast from 2026-12-08 12:00 UTC (test)',
        'Finishes 2026-12-08 12:00 UTC, lower bound 2026-12-08 22:40 UTC, deadline 2026-12-08 20:00 UTC',
        '',
        'Phase 0: 2026-12-08 12:00 UTC -> 2026-12-08 12:00 UTC',
        '  eastus: 2026-12-08 12:00 UTC -> 2026-12-08 12:00 UTC',
        '       0  2026-12-08 12:00 UTC -> 2026-12-08 12:00 UTC  standalone',
        '',
        'Late: 1 machine(s) cannot be patched before the deadline',
        '  a: no window opens before the deadline',
        '',
      ].join('\n'),
    );
  });
});

describe('unsplitMeasure: runs in one piece, at most cap at once', () => {
  const measure = (durations: number[], cap: number) => unsplitMeasure(Float64Array.from(durations), cap);

  it.each([
    // [durations, cap, least measure, why]
    [[40, 40, 40], 2, 80, 'cap + 1 like runs: two whole runs (split at will: 60)'],
    [[10, 10, 10, 10, 10, 10, 10], 3, 30, 'like runs: ceil(7 / 3) runs'],
    [[60, 50, 30], 2, 80, 'one of two slots holds two of the three: at least 50 + 30'],
    [[60, 5, 5], 2, 60, 'the longest run'],
    [[30, 30, 30, 30], 1, 120, 'one at a time: the sum'],
    [[20, 20, 20], 4, 20, 'fewer runs than the cap: the longest'],
    [
      [40, 35, 30, 30, 30],
      2,
      90,
      'one of two slots holds three of the five: at least 30 + 30 + 30 (the sum over 2: 82.5)',
    ],
    [[], 3, 0, 'nothing'],
  ])('%j, %i at once: %i (%s)', (durations, cap, expected) => {
    expect(measure(durations, cap)).toBe(expected);
  });

  it('is never above a schedule: first fit of the runs, longest first, on cap slots', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        (durations, cap) => {
          // Each run on the slot that frees first: a schedule with at most cap at once, contiguous from 0.
          const slots = new Array<number>(cap).fill(0);
          for (const d of [...durations].sort((a, b) => b - a)) slots[slots.indexOf(Math.min(...slots))] += d;
          expect(measure(durations, cap)).toBeLessThanOrEqual(Math.max(0, ...slots));
        },
      ),
    );
  });
});

describe('forecast and window-aware bound, on random fleets with real windows', () => {
  const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'] as const;
  const CONFIGS: Fleet['maintenanceConfigurations'] = {
    nightly: DAILY_02_UTC,
    tokyo: {
      startDateTime: '2026-01-01 01:00',
      duration: '03:55',
      timeZone: 'Asia/Tokyo',
      recurEvery: '1Day',
    },
    weekends: {
      startDateTime: '2026-01-03 20:00',
      duration: '03:00',
      timeZone: 'America/New_York',
      recurEvery: '1Week Saturday,Sunday',
    },
  };
  const windowsArb = fc.array(
    fc.record({
      zone: fc.constantFrom(...ZONES),
      config: fc.option(fc.constantFrom('nightly', 'tokyo', 'weekends'), { nil: undefined, freq: 3 }),
    }),
    { minLength: 1, maxLength: 8 },
  );
  const offPeakArb = fc.constantFrom(
    { start: '22:00', end: '06:00' },
    { start: '01:00', end: '04:00' },
    { start: '20:00', end: '23:30' },
  );

  it('the forecast never beats its bound; phases, regions and steps nest in time', () => {
    fc.assert(
      fc.property(
        fleetArb,
        policyArb,
        windowsArb,
        offPeakArb,
        fc.integer({ min: 0, max: 364 * 24 }),
        fc.integer({ min: 0, max: 600 }),
        (base, basePolicy, windows, offPeak, startHour, approvalMinutes) => {
          const fleet: Fleet = {
            ...base,
            maintenanceConfigurations: CONFIGS,
            machines: base.machines.map((m, i) => {
              const w = windows[i % windows.length];
              return { ...m, timeZone: w.zone, ...(w.config ? { maintenanceConfiguration: w.config } : {}) };
            }),
          };
          const policy: Policy = {
            ...basePolicy,
            offPeak,
            approvals: { ...basePolicy.approvals, beforePhases: [1, 3] },
          };
          const planned = planRollout(fleet, policy);
          if (!planned.ok) return;
          const startAt = Date.parse('2026-01-01T00:00:00Z') + startHour * 3_600_000;
          const detail = forecastRollout(fleet, policy, planned.value, {
            startAt,
            deadline: startAt + 30 * 86_400_000,
            approvalMinutes,
            laneModel: 'steps',
          });
          const f = detail.forecast;
          const ms = Date.parse;
          if (f.late.length === 0) expect(ms(f.finishAt)).toBeGreaterThanOrEqual(ms(f.lowerBoundFinishAt));
          expect(ms(f.lowerBoundFinishAt)).toBeGreaterThanOrEqual(startAt);
          let previous = startAt;
          for (const phase of f.phases) {
            expect(ms(phase.startAt)).toBeGreaterThanOrEqual(previous);
            previous = ms(phase.finishAt);
          }
          expect(ms(f.finishAt)).toBe(previous);
          planned.value.regions.forEach((region, k) => {
            const span = f.regions[k];
            const phase = f.phases[region.phase];
            expect(span.startAt).toBe(phase.startAt);
            expect(ms(span.finishAt)).toBeLessThanOrEqual(ms(phase.finishAt));
            // Each lane from the region's start, its steps one after another.
            const laneAt = new Map<number, number>();
            (detail.steps.get(region.region) ?? []).forEach((step, s) => {
              const lane = region.steps[s].lane;
              expect(step.startAt).toBe(laneAt.get(lane) ?? ms(span.startAt));
              expect(step.finishAt).toBeGreaterThanOrEqual(step.startAt);
              laneAt.set(lane, step.finishAt);
            });
            for (const t of laneAt.values()) expect(t).toBeLessThanOrEqual(ms(span.finishAt));
          });
          const planned1 = new Set(planned.value.machines.filter((m) => !m.excluded).map((m) => m.name));
          for (const m of f.late) expect(planned1.has(m.name)).toBe(true);
          // Pipelined steps (the default, as the workflows run them: domain/planner/pipelined-lane.ts) obey
          // the same rules, so they never beat the same bound either; a lane's steps start in order.
          const pipelined = forecastRollout(fleet, policy, planned.value, {
            startAt,
            deadline: startAt + 30 * 86_400_000,
            approvalMinutes,
          });
          const p = pipelined.forecast;
          expect(p.lowerBoundFinishAt).toBe(f.lowerBoundFinishAt);
          if (p.late.length === 0) expect(ms(p.finishAt)).toBeGreaterThanOrEqual(ms(p.lowerBoundFinishAt));
          for (const m of p.late) expect(planned1.has(m.name)).toBe(true);
          planned.value.regions.forEach((region, k) => {
            const laneAt = new Map<number, number>();
            (pipelined.steps.get(region.region) ?? []).forEach((step, s) => {
              const lane = region.steps[s].lane;
              expect(step.startAt).toBeGreaterThanOrEqual(laneAt.get(lane) ?? ms(p.regions[k].startAt));
              expect(step.finishAt).toBeLessThanOrEqual(ms(p.regions[k].finishAt));
              laneAt.set(lane, step.startAt);
            });
          });
        },
      ),
      { numRuns: Number(process.env.OFFPEAK_PROPERTY_RUNS ?? 150) },
    );
  });
});

describe('window-aware bound against schedules that start machines as others end', () => {
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  // A zone's machines started as slots free, in a given order, each attempt as the workflows run one:
  // it starts with at least 15 minutes of its window left, installs until the window's end less its
  // reserve, reboots, and what is left waits for a later window. Zones one after another, each under its
  // budget. Such a schedule obeys every rule the bound assumes, and comes closer to it than steps do.
  interface Item {
    installMs: number;
    rebootMs: number;
    reserveMs: number;
  }
  function rollingFinish(
    zones: Item[][],
    caps: number[],
    windows: Array<[number, number]>,
    at: number,
  ): number {
    const attempt = (ready: number, left: number, m: Item) => {
      for (const [start, end] of windows) {
        const s = Math.max(ready, start);
        if (s > end - 15 * MINUTE) continue;
        const pieceEnd = Math.min(s + left, end - m.reserveMs);
        const done = Math.max(0, pieceEnd - s);
        return { finish: s + done + m.rebootMs, left: left - done, windowEnd: end };
      }
      throw new Error('windows ran out');
    };
    let t = at;
    zones.forEach((zone, z) => {
      const slots = new Array<number>(caps[z]).fill(t);
      const queue = zone.map((m) => ({ m, left: m.installMs, notBefore: t }));
      let end = t;
      while (queue.length > 0) {
        const k = slots.indexOf(Math.min(...slots));
        const item = queue.shift()!;
        const a = attempt(Math.max(slots[k], item.notBefore), item.left, item.m);
        slots[k] = a.finish;
        end = Math.max(end, a.finish);
        if (a.left > 0) queue.push({ m: item.m, left: a.left, notBefore: a.windowEnd });
      }
      t = end;
    });
    return t;
  }

  it('no such schedule, in any order of zones and machines, beats the bound', () => {
    const machineArb = fc.record({
      install: fc.integer({ min: 1, max: 60 }),
      reboot: fc.integer({ min: 0, max: 20 }),
      os: fc.constantFrom('Linux' as const, 'Windows' as const),
      zone: fc.constantFrom('1' as const, '2' as const, '3' as const),
      order: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(machineArb, { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(['22:00', '06:00'], ['22:00', '23:30'], ['01:00', '02:10'], ['20:00', '21:00']),
        fc.integer({ min: 0, max: 47 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        (drafts, budget, [from, to], startHour, zoneRank) => {
          const machines = drafts.map((d, k) =>
            vm(`m${k}`, 'eastus', {
              zone: d.zone,
              os: d.os,
              durations: { installMinutes: d.install, rebootMinutes: d.reboot },
            }),
          );
          const startAt = Date.parse('2026-12-08T00:00:00Z') + startHour * HOUR;
          const f = forecast(
            machines,
            { disruptionBudget: budget, offPeak: { start: from, end: to } },
            new Date(startAt).toISOString(),
          );
          // Daily windows in UTC (the machines' time zone), from the day before the start.
          const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
          const length = (minutes(to) - minutes(from) + 24 * 60) % (24 * 60);
          const day0 = Date.parse('2026-12-07T00:00:00Z');
          const windows = Array.from({ length: 40 }, (_, d): [number, number] => {
            const start = day0 + d * 24 * HOUR + minutes(from) * MINUTE;
            return [start, start + length * MINUTE];
          });
          const zones = (['1', '2', '3'] as const)
            .map((zone, z) => ({ zone, rank: zoneRank[z] }))
            .sort((a, b) => a.rank - b.rank)
            .map(({ zone }) =>
              drafts
                .filter((d) => d.zone === zone)
                .sort((a, b) => a.order - b.order)
                .map((d) => ({
                  installMs: d.install * MINUTE,
                  rebootMs: d.reboot * MINUTE,
                  reserveMs: (d.os === 'Linux' ? 15 : 10) * MINUTE,
                })),
            )
            .filter((zone) => zone.length > 0);
          const caps = zones.map((zone) => Math.min(budget, zone.length));
          expect(rollingFinish(zones, caps, windows, startAt)).toBeGreaterThanOrEqual(
            Date.parse(f.lowerBoundFinishAt),
          );
        },
      ),
      { numRuns: Number(process.env.OFFPEAK_PROPERTY_RUNS ?? 300) },
    );
  });
});
