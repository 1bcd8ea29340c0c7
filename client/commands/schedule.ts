import type { Command } from 'commander';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type CalendarSpec,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { resolveTimeZone } from '../../domain/timezones';
import {
  WEEKS_OF_MONTH,
  WEEKDAYS,
  instantToLocalMs,
  nextOccurrences,
  parseMaintenanceConfiguration,
  parseRecurEvery,
} from '../../domain/windows';
import { DAY_MS, formatDate } from '../../domain/windows/civil-date';
import { SA, type ScheduledRolloutInput } from '../../workflows/messages';
import { NotFoundError, UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { note } from '../output';
import { connectClient } from '../temporal';
import { prepareRollout, ROLLOUT_ID_PATTERN } from '../prepare';
import { dataOutputOption, printData } from './compliance';
import { whoAmI } from './options';
import { withExamples } from '../command';
import { stageRolloutInput } from '../../store/spec-store';
import { machineCountOf } from '../../domain/spec-slices';
import { summaryOf } from '../command-index';

/**
 * How a monthly "nth weekday + offset" recurrence becomes a Temporal schedule spec.
 *
 * - `calendar`: one calendar spec, `dayOfMonth` in [7(n−1)+1+k, 7n+k] AND `dayOfWeek` = weekday+k. The
 *   n-th weekday of a month is exactly the weekday that falls on day 7(n−1)+1..7n, so the shifted pair is
 *   exact whenever the shifted range stays inside days 1–28 (present in every month). That covers
 *   Second and Third with any offset −6..6 (days 2–27), First with k ≥ 0 and Fourth with k ≤ 0, so the
 *   default `Month Second Tuesday [OffsetN]` never needs renewal.
 * - `explicit-dates`: Last, First with a negative offset and Fourth with a positive one can move into the
 *   month before or after, which no calendar spec can say. The next `months` dates are computed by the
 *   windows code (`nextOccurrences`, the same as maintenance configurations) and listed as explicit
 *   calendar entries; `schedule describe` shows how many are left and `schedule create --replace` renews.
 */
export interface MonthlySpec {
  spec: ScheduleSpec;
  representation: 'calendar' | 'explicit-dates';
  /** explicit-dates: the last listed run, local date. */
  until?: string;
}

const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;
/** Temporal's day names, Monday first like `WEEKDAYS`. */
const DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;

export function monthlyScheduleSpec(args: {
  recurEvery: string;
  at: string;
  timeZone: string;
  now: number;
  months?: number;
}): MonthlySpec {
  const parsed = parseRecurEvery(args.recurEvery);
  if (!parsed.ok) throw UsageError.of('--recur', parsed.message);
  const r = parsed.value;
  if (r.kind !== 'monthlyByWeekday' || r.interval !== 1)
    throw UsageError.of(
      '--recur',
      `"${args.recurEvery}" must be monthly by weekday, e.g. "Month Second Tuesday Offset4"`,
    );
  const [hour, minute] = args.at.split(':').map(Number);
  const n = WEEKS_OF_MONTH.indexOf(r.weekOfMonth) + 1;
  const k = r.offsetDays;
  const lo = 7 * (n - 1) + 1 + k;
  const hi = 7 * n + k;
  if (r.weekOfMonth !== 'Last' && lo >= 1 && hi <= 28) {
    const dayOfWeek = DAYS[(((WEEKDAYS.indexOf(r.weekday) + k) % 7) + 7) % 7];
    const calendar: CalendarSpec = {
      dayOfMonth: { start: lo, end: hi },
      dayOfWeek,
      hour,
      minute,
      comment: args.recurEvery,
    };
    return { spec: { calendars: [calendar], timezone: args.timeZone }, representation: 'calendar' };
  }
  const localToday = formatDate(Math.floor(instantToLocalMs(args.timeZone, args.now) / DAY_MS));
  const schedule = parseMaintenanceConfiguration({
    startDateTime: `${localToday} ${args.at}`,
    duration: '01:30',
    timeZone: args.timeZone,
    recurEvery: args.recurEvery,
  });
  if (!schedule.ok) throw UsageError.of('--recur', schedule.problems.map((p) => p.message).join('; '));
  const calendars: CalendarSpec[] = nextOccurrences(schedule.value, args.now, args.months ?? 24).map((w) => {
    const [y, m, d] = formatDate(Math.floor(instantToLocalMs(args.timeZone, w.start) / DAY_MS))
      .split('-')
      .map(Number);
    return { year: y, month: MONTHS[m - 1], dayOfMonth: d, hour, minute, comment: args.recurEvery };
  });
  const last = calendars[calendars.length - 1];
  return {
    spec: { calendars, timezone: args.timeZone },
    representation: 'explicit-dates',
    until: `${last.year as number}-${String(MONTHS.indexOf(last.month as (typeof MONTHS)[number]) + 1).padStart(2, '0')}-${String(last.dayOfMonth).padStart(2, '0')}`,
  };
}

export const scheduleId = (id: string): string => `offpeak/${id}`;

const SCHEDULE_ID = 'the schedule ID (as `schedule create --id` set it; `offpeak schedule list` shows them)';

interface ScheduleMemo {
  recurEvery: string;
  at: string;
  timeZone: string;
  representation: MonthlySpec['representation'];
  until?: string;
  fleet: string;
  policy?: string;
  machines: number;
  createdBy: string;
}

interface CreateOptions {
  id: string;
  fleet: string;
  policy?: string;
  recur: string;
  offset?: string;
  at: string;
  timeZone: string;
  by?: string;
  paused?: boolean;
  replace?: boolean;
}

/** Validates everything and builds the schedule's options; nothing touches Temporal. */
export function scheduleOptions(
  opts: CreateOptions,
  now: Date,
): { options: ScheduleOptions; memo: ScheduleMemo } {
  if (!ROLLOUT_ID_PATTERN.test(opts.id) || opts.id.length > 80)
    throw UsageError.of(
      '--id',
      'must start with a letter or digit and hold only letters, digits, ".", "_" or "-" (at most 80)',
    );
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(opts.at))
    throw UsageError.of('--at', `"${opts.at}" must be a time of day as HH:mm`);
  const timeZone = resolveTimeZone(opts.timeZone);
  if (!timeZone) throw UsageError.of('--time-zone', `unknown time zone "${opts.timeZone}"`);
  let recurEvery = opts.recur;
  if (opts.offset !== undefined) {
    if (!/^[+-]?\d+$/.test(opts.offset))
      throw UsageError.of('--offset', `"${opts.offset}" must be a whole number of days, −6..6`);
    if (/offset/i.test(recurEvery)) throw UsageError.of('--offset', '--recur already has an offset');
    recurEvery = `${recurEvery} Offset${Number(opts.offset)}`;
  }
  const monthly = monthlyScheduleSpec({ recurEvery, at: opts.at, timeZone, now: now.getTime() });
  const fleet = loadFleet(opts.fleet);
  const policy = loadPolicy(opts.policy);
  if (policy.month)
    throw UsageError.of('policy: month', 'a schedule runs every month: remove "month" from the policy');
  const by = opts.by ?? whoAmI();
  // A large fleet's template goes to the spec store as slices once; every month's rollout reuses them.
  const template = stageRolloutInput(
    prepareRollout({ rolloutId: opts.id, startedBy: by, fleet, policy, now }),
  );
  const parsed = parseRecurEvery(recurEvery);
  const offsetDays = parsed.ok && parsed.value.kind === 'monthlyByWeekday' ? parsed.value.offsetDays : 0;
  const input: ScheduledRolloutInput = {
    version: 1,
    scheduleId: opts.id,
    offsetDays,
    timeZone,
    deadlineDays: policy.deadlineDays,
    unplannedBaselineMonths: policy.unplannedBaselineMonths,
    template,
  };
  const machines = machineCountOf(template);
  const memo: ScheduleMemo = {
    recurEvery,
    at: opts.at,
    timeZone,
    representation: monthly.representation,
    until: monthly.until,
    fleet: opts.fleet,
    policy: opts.policy,
    machines,
    createdBy: by,
  };
  const options: ScheduleOptions = {
    scheduleId: scheduleId(opts.id),
    spec: monthly.spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledRolloutWorkflow',
      workflowId: `offpeak-scheduled/${opts.id}`,
      taskQueue: DEFAULT_TASK_QUEUE,
      args: [input],
      staticSummary: `Offpeak schedule ${opts.id}: ${recurEvery} at ${opts.at} ${timeZone}, ${machines} machine(s)`,
      typedSearchAttributes: [{ key: SA.kind, value: 'scheduled' }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day', pauseOnFailure: true },
    state: { paused: Boolean(opts.paused), note: `created by ${by}` },
    memo: { offpeak: memo },
  };
  return { options, memo };
}

async function describeOrThrow(client: Client, id: string): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(scheduleId(id)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new NotFoundError('ID', `no schedule "${id}"`);
    throw err;
  }
}

const memoOf = (d: { memo?: Record<string, unknown> }) => d.memo?.offpeak as ScheduleMemo | undefined;
const localTime = (date: Date, timeZone: string) =>
  `${new Date(instantToLocalMs(timeZone, date.getTime())).toISOString().slice(0, 16).replace('T', ' ')} ${timeZone}`;

export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description(summaryOf('schedule'));

  schedule
    .command('create')
    .description(
      'Validate and plan a fleet now, and start its rollout every month on a Temporal Schedule (overlap: skip)',
    )
    .requiredOption('--id <id>', 'schedule ID; each month runs rollout <id>-<YYYY-MM>')
    .requiredOption(
      '--fleet <file>',
      'fleet file: a snapshot is taken now (re-run with --replace after changing it)',
    )
    .option('--policy <file>', 'policy file (snapshot, like the fleet)')
    .option('--recur <text>', 'Azure recurEvery, monthly by weekday', 'Month Second Tuesday')
    .option('--offset <days>', 'days after (or before, negative) the weekday, -6..6 (Azure OffsetN)')
    .option(
      '--at <HH:mm>',
      'local start time of the rollout; machines still wait for their own windows',
      '00:00',
    )
    .option('--time-zone <tz>', 'IANA or Windows time zone of --at and of the dates', 'UTC')
    .option('--by <name>', "who creates it (default: $USER); recorded as the rollouts' starter")
    .option('--paused', 'create it paused')
    .option('--replace', 'update an existing schedule of that ID (new fleet/policy snapshot, new dates)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ offpeak schedule create --id monthly --fleet fleet.yaml --policy policy.yaml --offset 1 --at 20:00 --time-zone "Eastern Standard Time"',
        '  $ offpeak schedule create --id late --fleet fleet.yaml --recur "Month Last Friday Offset6" --replace',
      ].join('\n'),
    )
    .action(async (opts: CreateOptions) => {
      const { options, memo } = scheduleOptions(opts, new Date());
      const { client } = await connectClient();
      try {
        await client.schedule.create(options);
        note(`Created schedule ${options.scheduleId}`);
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        if (!opts.replace)
          throw UsageError.of('--id', `schedule "${opts.id}" already exists: pass --replace to update it`);
        await client.schedule.getHandle(options.scheduleId).update((prev) => ({
          ...prev,
          spec: options.spec,
          action: options.action,
          policies: options.policies,
          state: { ...prev.state, note: `replaced by ${memo.createdBy}` },
        }));
        note(
          `Updated schedule ${options.scheduleId} (the memo keeps its creation details; the plan and dates are new)`,
        );
      }
      if (memo.representation === 'explicit-dates')
        note(
          `"${memo.recurEvery}" can leave its month, so its dates are listed explicitly until ${memo.until}: renew with --replace before then.`,
        );
      process.stdout.write(`${opts.id}\n`);
    });

  withExamples(
    schedule
      .command('list')
      .description('Offpeak schedules with their next run')
      .addOption(dataOutputOption()),
    'offpeak schedule list',
    'offpeak schedule list -o json | jq -r ".[] | select(.state == \\"paused\\") | .id"',
  ).action(async (opts: { output: string }) => {
    const { client } = await connectClient();
    const rows: Array<Record<string, string | number | null>> = [];
    for await (const s of client.schedule.list()) {
      if (!s.scheduleId.startsWith('offpeak/')) continue;
      const memo = memoOf(s);
      rows.push({
        id: s.scheduleId.slice('offpeak/'.length),
        state: s.state.paused ? 'paused' : 'active',
        recurEvery: memo?.recurEvery ?? '',
        at: memo ? `${memo.at} ${memo.timeZone}` : '',
        nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
        lastRun: s.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
      });
    }
    rows.sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const headers = ['id', 'state', 'recurEvery', 'at', 'nextRun', 'lastRun'];
    printData(
      opts.output,
      headers,
      rows.map((r) => headers.map((h) => r[h] ?? '-')),
      rows,
    );
  });

  withExamples(
    schedule
      .command('describe')
      .argument('<id>', SCHEDULE_ID)
      .description('A schedule: its rule, representation, overlap policy, next runs and recent rollouts')
      .addOption(dataOutputOption())
      .option('--count <n>', 'next runs to show', '6'),
    'offpeak schedule describe monthly',
    'offpeak schedule describe monthly --count 12 -o json',
  ).action(async (id: string, opts: { output: string; count: string }) => {
    const { client } = await connectClient();
    const d = await describeOrThrow(client, id);
    const memo = memoOf(d);
    const tz = memo?.timeZone ?? 'UTC';
    const next = d.info.nextActionTimes.slice(0, Number(opts.count) || 6);
    const json = {
      id,
      paused: d.state.paused,
      note: d.state.note,
      overlap: d.policies.overlap,
      ...memo,
      nextRuns: next.map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : undefined,
      })),
    };
    const headers = ['run', 'local', 'utc'];
    const rows: Array<Array<string | number>> = next.map((t, i) => [
      `next ${i + 1}`,
      localTime(t, tz),
      t.toISOString(),
    ]);
    for (const a of json.recentRuns)
      rows.push(['ran', localTime(new Date(a.scheduledAt), tz), `${a.takenAt} ${a.workflowId ?? ''}`]);
    if (opts.output === 'table')
      note(
        `Schedule ${id}: ${memo?.recurEvery ?? '?'} at ${memo?.at ?? '?'} ${tz}; ${d.state.paused ? 'PAUSED' : 'active'}; overlap ${d.policies.overlap}; ` +
          `${memo?.representation === 'explicit-dates' ? `explicit dates until ${memo.until}` : 'calendar rule'}; ${memo?.machines ?? '?'} machine(s) from ${memo?.fleet ?? '?'}`,
      );
    printData(opts.output, headers, rows, json);
  });

  for (const [name, description] of [
    ['pause', 'Pause a schedule: no new monthly rollouts (running ones go on)'],
    ['unpause', 'Unpause a schedule'],
    ['delete', 'Delete a schedule (rollouts it started go on)'],
    [
      'trigger',
      "Start this month's rollout now, as the schedule would (its overlap policy: skip if one runs)",
    ],
  ] as const)
    withExamples(
      schedule
        .command(name)
        .argument('<id>', SCHEDULE_ID)
        .description(description)
        .option('--by <name>', 'who (default: $USER), recorded in the schedule note'),
      `offpeak schedule ${name} monthly${name === 'pause' ? ' --by carol' : ''}`,
    ).action(async (id: string, opts: { by?: string }) => {
      const { client } = await connectClient();
      await describeOrThrow(client, id);
      const handle = client.schedule.getHandle(scheduleId(id));
      const by = `${name}${name.endsWith('e') ? 'd' : 'ed'} by ${opts.by ?? whoAmI()}`;
      if (name === 'pause') await handle.pause(by);
      else if (name === 'unpause') await handle.unpause(by);
      else if (name === 'trigger') await handle.trigger();
      else await handle.delete();
      note(
        name === 'trigger'
          ? `trigger: ${scheduleId(id)} starts its rollout now; see \`offpeak schedule describe ${id}\` and \`offpeak rollout list\``
          : `${name}: ${scheduleId(id)}`,
      );
    });
}
