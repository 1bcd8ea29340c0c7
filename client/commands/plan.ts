import type { Command } from 'commander';
import { releaseMonthAt, releaseSettings } from '../../domain/calendar';
import { formatPlanTable, forecastRollout, formatForecastTable } from '../../domain/planner';
import type { Policy } from '../../domain/policy';
import { UsageError } from '../errors';
import { loadFleet, loadPolicy } from '../input';
import { writeJson } from '../output';
import { newRolloutId } from '../../domain/pre-start';
import { checkOrThrow } from '../prepare';
import { outputOption, whoAmI } from './options';
import { simulatedMarker, simulatedNames, simulatedNotice } from '../../domain/simulated';
import { summaryOf } from '../command-index';

/** An instant with its zone: "2026-12-08", "2026-12-08T22:00Z", "2026-12-08T22:00:00+01:00". */
export function parseStart(text: string): number {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text);
  const at = ok ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) : NaN;
  if (Number.isNaN(at))
    throw UsageError.of(
      '--start',
      `"${text}" is not an ISO-8601 instant: expected e.g. 2026-12-08T22:00Z or 2026-12-08 (00:00 UTC)`,
    );
  return at;
}

/** "90m", "4h", "1d12h", "0m": whole days, hours and minutes, in that order. */
export function parseDurationMinutes(text: string, path: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text);
  if (!m || text === '')
    throw UsageError.of(path, `"${text}" is not a duration: expected e.g. 90m, 4h, 1d12h or 0m`);
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function assumptionsText(policy: Policy, approvalMinutes: number, defaultStart: boolean): string {
  const gates = policy.approvals.beforePhases;
  const parts = [defaultStart ? 'the release date, 00:00 UTC' : 'the given start'];
  if (gates === 'all' || gates.length > 0)
    parts.push(approvalMinutes === 0 ? 'approvals at once' : `each approval after ${approvalMinutes}m`);
  parts.push('expected durations, no failures');
  return parts.join('; ');
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(summaryOf('plan'))
    .requiredOption('--fleet <file>', 'fleet file (YAML or JSON)')
    .option('--policy <file>', 'policy file (YAML or JSON)')
    .option('--start <time>', 'forecast from this instant (ISO-8601); default: the release date, 00:00 UTC')
    .option('--assume-approval <duration>', 'forecast each approval gate as decided after this long', '0m')
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      '\nExamples:\n  $ offpeak plan --fleet examples/fleet.yaml\n  $ offpeak plan --fleet examples/fleet.yaml --start 2026-12-08T18:00Z --assume-approval 4h\n  $ offpeak plan --fleet examples/fleet.yaml --policy examples/policy-demo.yaml --output json',
    )
    .action(
      async (opts: {
        fleet: string;
        policy?: string;
        start?: string;
        assumeApproval: string;
        output: string;
      }) => {
        const start = opts.start === undefined ? undefined : parseStart(opts.start);
        const approvalMinutes = parseDurationMinutes(opts.assumeApproval, '--assume-approval');
        const fleet = loadFleet(opts.fleet);
        const policy = loadPolicy(opts.policy);
        // Everything `rollout start` checks before it contacts the server (domain/pre-start.ts).
        const now = new Date();
        const plan = checkOrThrow({
          rolloutId: newRolloutId(now),
          startedBy: whoAmI(),
          fleet,
          policy,
          now,
        });
        // The release: the policy's month, else the latest one on or before the start (or today).
        const month = policy.month ?? releaseMonthAt(start ?? Date.now());
        const release = releaseSettings(month, policy.deadlineDays, policy.unplannedBaselineMonths);
        const startAt = start ?? Date.parse(`${release.releaseDate}T00:00:00Z`);
        const detail = forecastRollout(fleet, policy, plan, {
          startAt,
          deadline: release.deadline,
          approvalMinutes,
          monthType: release.monthType,
        });
        // A machine the simulator would "patch" is named as such (domain/simulated.ts).
        const planned = new Set(plan.machines.filter((m) => !m.excluded).map((m) => m.name));
        const simulated = simulatedMarker(
          simulatedNames(fleet.machines.filter((m) => planned.has(m.name))),
          planned.size,
        );
        if (opts.output === 'json')
          await writeJson({ ...plan, ...(simulated ? { simulated } : {}), forecast: detail.forecast });
        else {
          process.stdout.write(
            `${formatPlanTable(plan)}\n${formatForecastTable(plan, detail, {
              assumptions: assumptionsText(policy, approvalMinutes, start === undefined),
            })}\n`,
          );
          const notice = simulatedNotice(simulated, planned.size);
          if (notice) process.stdout.write(`${notice}\n`);
        }
      },
    );
}
