import type { Fleet, Machine } from './fleet';
import { approverNameProblems } from './operator-messages';
import type { Plan } from './plan';
import type { Policy } from './policy';
import type { Parsed, Problem } from './problems';
import { DEFAULT_MINUTES, planRollout } from './planner';
import {
  buildRolloutInput,
  rolloutRelease,
  type RolloutInput,
  sharedSchedules,
  stepMachineIndices,
} from './rollout-spec';
import type { MaintenanceSchedule } from './windows/maintenance-schedule';
import { payloadProblems } from './payload-check';
import { INSTALL_MIN_REMAINING_MS, REBOOT_MIN_REMAINING_MS } from './windows';

/**
 * Everything `rollout start` does before it contacts the server, as one pure function that `plan` runs
 * too: plan, check what only the plan can tell (gates beyond the last phase, windows too short for an
 * install), and build the workflows' input. So nothing `plan` accepts can make `start` or a workflow
 * fail. Problems are data; paths say which document they are in (`fleet: ...`, `policy: ...`).
 */

/** Workflow IDs are built from it: `offpeak/<rollout>`. */
export const ROLLOUT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The default rollout ID: `rollout-<UTC timestamp>`. */
export function newRolloutId(now: Date): string {
  return `rollout-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
}

export interface PreStart {
  rolloutId: string;
  startedBy: string;
  fleet: Fleet;
  policy: Policy;
  now: Date;
}

export function prepareRolloutInput(args: PreStart): Parsed<{ plan: Plan; input: RolloutInput }> {
  const checked = checkRolloutStart(args);
  if (!checked.ok) return checked;
  return {
    ok: true,
    value: { plan: checked.value, input: buildRolloutInput({ ...args, plan: checked.value }) },
  };
}

/**
 * The plan and every check of `prepareRolloutInput`, without building the input (a million machines'
 * specs): what `offpeak plan` runs. The checks read what the input would be built from (the release,
 * each machine's shared schedule), so they are the same checks.
 */
export function checkRolloutStart(args: PreStart): Parsed<Plan> {
  const problems: Problem[] = [];
  if (!ROLLOUT_ID_PATTERN.test(args.rolloutId))
    problems.push({
      path: 'rolloutId',
      message:
        'must start with a letter or digit and hold only letters, digits, ".", "_" or "-" (at most 100)',
    });
  problems.push(...approverNameProblems(args.startedBy, 'startedBy'));
  const planned = planRollout(args.fleet, args.policy);
  if (!planned.ok) problems.push(...planned.problems.map((p) => ({ ...p, path: `policy: ${p.path}` })));
  if (problems.length || !planned.ok) return { ok: false, problems };

  const plan = planned.value;
  problems.push(
    ...deadlineProblems(rolloutRelease(args.policy, args.now), args.now),
    ...gateProblems(args.policy, plan),
    ...windowProblems(args.fleet, args.policy, plan),
  );
  // Sizes last: they measure the specs, which the checks above must find valid.
  if (!problems.length) problems.push(...payloadProblems({ ...args, plan }));
  return problems.length ? { ok: false, problems } : { ok: true, value: plan };
}

/**
 * A rollout keeps its release's deadline however late it starts (release + deadlineDays): one whose
 * deadline has already passed would skip every machine, so it is refused with the way out.
 */
function deadlineProblems(release: ReturnType<typeof rolloutRelease>, now: Date): Problem[] {
  const { deadline, month, releaseDate } = release;
  if (deadline > now.getTime()) return [];
  return [
    {
      path: 'policy: month',
      message: `the deadline of release ${month} (released ${releaseDate}) passed at ${new Date(deadline).toISOString()}: choose a later month or raise deadlineDays`,
    },
  ];
}

/** A gate before a phase the plan does not have would never hold anything: say so instead. */
function gateProblems(policy: Policy, plan: Plan): Problem[] {
  const { beforePhases } = policy.approvals;
  if (beforePhases === 'all') return [];
  const n = plan.phases.length;
  const has =
    n === 0 ? 'the plan has no phases' : `the plan has ${n} phase${n === 1 ? '' : 's'} (0 to ${n - 1})`;
  return beforePhases.flatMap((phase, i) =>
    phase < n
      ? []
      : [{ path: `policy: approvals.beforePhases[${i}]`, message: `phase ${phase} does not exist: ${has}` }],
  );
}

/**
 * Every planned machine's window must hold one install and its reserves: the install cannot start with
 * less than 15 minutes left, and must end early enough for its reboot to start (10 minutes on Windows,
 * 15 on Linux; none with `rebootSetting: Never`). Otherwise the machine could never be patched. The check
 * uses each window's nominal length; a daylight-saving night can make an off-peak window an hour shorter.
 */
function windowProblems(fleet: Fleet, policy: Policy, plan: Plan): Problem[] {
  // Region by region and step by step, as the input lists the machines; each with its spec's schedule.
  const scheduleOf = sharedSchedules(fleet, policy);
  const problems: Problem[] = [];
  for (const steps of stepMachineIndices(fleet, plan))
    for (const indices of steps)
      for (const i of indices) {
        const { schedule } = scheduleOf(fleet.machines[i]);
        if (!schedule) continue;
        const problem = windowProblem(fleet.machines[i], schedule, policy);
        if (problem) problems.push({ path: `fleet: machines[${i}]`, message: problem });
      }
  return problems;
}

const MINUTE_MS = 60_000;

function windowProblem(machine: Machine, schedule: MaintenanceSchedule, policy: Policy): string | undefined {
  const window = schedule.durationMinutes;
  const install = (machine.durations ?? DEFAULT_MINUTES[machine.os]).installMinutes;
  const reserve = policy.rebootSetting === 'Never' ? 0 : REBOOT_MIN_REMAINING_MS[machine.os] / MINUTE_MS;
  const needed = Math.max(install + reserve, INSTALL_MIN_REMAINING_MS / MINUTE_MS);
  if (needed <= window) return undefined;
  const source = machine.maintenanceConfiguration
    ? `maintenance configuration "${machine.maintenanceConfiguration}"`
    : "the policy's offPeak hours";
  return (
    `its ${window}-minute window (${source}) cannot hold one install: ${install} minutes` +
    `${machine.durations ? '' : ` (the ${machine.os} default)`}${reserve ? ` plus ${reserve} minutes kept for the reboot` : ''}` +
    `${needed > install + reserve ? `, and an install needs ${needed} minutes left to start` : ''}`
  );
}
