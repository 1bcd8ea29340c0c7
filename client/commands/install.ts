import type { Command } from 'commander';
import { SIMULATED_MEMO_KEY, simulatedMarkerOf, simulatedNotice } from '../../domain/simulated';
import { Option } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Fleet, Machine } from '../../domain/fleet';
import type { Plan, PlanStep } from '../../domain/plan';
import { longestLane, MAX_BATCH_MACHINES } from '../../domain/planner';
import {
  CLASSIFICATIONS,
  REBOOT_SETTINGS,
  type Classification,
  type Policy,
  type RebootSetting,
} from '../../domain/policy';
import { FINAL_ROLLOUT_STATUSES, OUTCOME, ROLLOUT_STATUS } from '../../domain/outcomes';
import { buildRolloutInput, DEFAULT_TASK_QUEUE, type RolloutInput } from '../../domain/rollout-spec';
import { machineCountOf } from '../../domain/spec-slices';
import { leaseFactsOf } from '../../domain/lease-facts';
import { payloadProblems } from '../../domain/payload-check';
import { stageRolloutInput } from '../../store/spec-store';
import { SA } from '../../workflows/messages';
import { rolloutWorkflowId } from '../../workflows/ids';
import { OperationError, UsageError } from '../errors';
import { loadPolicy } from '../input';
import { note } from '../output';
import { connectClient, noWorkerWarning } from '../temporal';
import { newRolloutId, planOrThrow, ROLLOUT_ID_PATTERN } from '../prepare';
import { rolloutReport, rolloutSummary } from '../report';
import { fleetFromOption, selectMachines } from './assess';
import { dataOutputOption, printData } from './compliance';
import { whoAmI } from './options';
import { summaryOf } from '../command-index';

export interface InstallRequest {
  rolloutId: string;
  by: string;
  machines: string[];
  classifications?: Classification[];
  include?: string[];
  exclude?: string[];
  reboot?: RebootSetting;
  unsafe: boolean;
}

const isKb = (s: string) => /^(kb)?\d{4,}$/i.test(s.trim());

/**
 * An on-demand install as a rollout of the selected machines: windows open now, no gates, one attempt.
 *
 * Safe (default): every selected machine is planned as AutomaticByPlatform (Manual and OS-managed machines
 * included: the run is explicit), together with the other machines of the same services (when the policy
 * has `serviceCapacity`), so each service's capacity counts all its machines; then only the selected
 * machines are kept in the steps. Removing machines from a valid step keeps it valid (fewer machines of a
 * zone, update domain, batch or service down), so every availability rule of the plan still holds.
 * Unsafe: only the selected machines, no service capacity, and each region's machines in one step.
 */
export function installInput(
  fleet: Fleet,
  basePolicy: Policy,
  request: InstallRequest,
  now: Date,
): RolloutInput {
  const selected = selectMachines(fleet, request.machines);
  const wanted = new Set(selected.map((m) => m.name));
  const policy: Policy = {
    ...basePolicy,
    phases: undefined,
    windows: 'always',
    maxAttempts: 1,
    approvals: { beforePhases: [], approvers: [], fourEyes: false },
    serviceCapacity: request.unsafe ? undefined : basePolicy.serviceCapacity,
    ...(request.classifications?.length ? { classifications: request.classifications } : {}),
    ...(request.reboot ? { rebootSetting: request.reboot } : {}),
    kbNumbersToInclude: [...basePolicy.kbNumbersToInclude, ...(request.include ?? []).filter(isKb)],
    packageNameMasksToInclude: [
      ...basePolicy.packageNameMasksToInclude,
      ...(request.include ?? []).filter((s) => !isKb(s)),
    ],
    kbNumbersToExclude: [...basePolicy.kbNumbersToExclude, ...(request.exclude ?? []).filter(isKb)],
    packageNameMasksToExclude: [
      ...basePolicy.packageNameMasksToExclude,
      ...(request.exclude ?? []).filter((s) => !isKb(s)),
    ],
  };
  const tag = policy.serviceCapacity?.tag;
  const services = new Set(tag ? selected.map((m) => m.tags[tag]).filter((v) => v !== undefined) : []);
  const planned: Machine[] = fleet.machines
    .filter(
      (m) =>
        wanted.has(m.name) || (tag !== undefined && m.tags[tag] !== undefined && services.has(m.tags[tag])),
    )
    .map((m) => ({ ...m, patchMode: 'AutomaticByPlatform' }));
  const planningFleet: Fleet = { ...fleet, machines: planned };
  const full = planOrThrow(planningFleet, policy);

  const regions = full.regions
    .map((r) => {
      let steps: PlanStep[] = r.steps
        .map((s) => ({ ...s, machines: s.machines.filter((m) => wanted.has(m)) }))
        .filter((s) => s.machines.length > 0);
      if (request.unsafe && steps.length) {
        const machines = steps.flatMap((s) => s.machines);
        const estimate = Math.max(...steps.map((s) => s.estimateMinutes));
        // At once, as far as one step can hold (MAX_BATCH_MACHINES: Temporal's limits, not a rule).
        const batches = Math.ceil(machines.length / MAX_BATCH_MACHINES);
        steps = Array.from({ length: batches }, (_, b) => ({
          index: b,
          lane: 0,
          kind: 'standalone' as const,
          label:
            batches === 1
              ? `UNSAFE: all ${machines.length} machine(s) at once`
              : `UNSAFE: ${machines.length} machine(s), batch ${b + 1}/${batches} of at most ${MAX_BATCH_MACHINES}`,
          machines: machines.slice(b * MAX_BATCH_MACHINES, (b + 1) * MAX_BATCH_MACHINES),
          estimateMinutes: estimate,
        }));
      }
      // Lanes left empty by the selection are dropped: lanes stay numbered from 0.
      const lanes = [...new Set(steps.map((s) => s.lane))];
      steps = steps.map((s, index) => ({ ...s, index, lane: lanes.indexOf(s.lane) }));
      return { ...r, steps, estimateMinutes: longestLane(steps) };
    })
    .filter((r) => r.steps.length > 0);
  const phaseIndex = new Map<number, number>();
  for (const p of full.phases)
    if (regions.some((r) => r.phase === p.index)) phaseIndex.set(p.index, phaseIndex.size);
  const plan: Plan = {
    ...full,
    phases: full.phases
      .filter((p) => phaseIndex.has(p.index))
      .map((p) => {
        const names = regions.filter((r) => r.phase === p.index).map((r) => r.region);
        return {
          ...p,
          index: phaseIndex.get(p.index)!,
          regions: names,
          estimateMinutes: Math.max(
            ...regions.filter((r) => names.includes(r.region)).map((r) => r.estimateMinutes),
          ),
        };
      }),
    regions: regions.map((r) => ({ ...r, phase: phaseIndex.get(r.phase)! })),
    machines: full.machines.filter((m) => wanted.has(m.name)),
  };
  const sources = {
    fleet: planningFleet,
    policy,
    plan,
    now,
    // The guard counts the whole fleet (every machine of a set or service, whatever its patch mode), and
    // an unsafe install's machines too: it may break the rules among them, never beside other runs.
    leaseFacts: leaseFactsOf(fleet, basePolicy, () => true),
  };
  // Temporal's size limits, as `plan` checks them for rollouts (domain/payload-check.ts).
  const tooLarge = payloadProblems(sources);
  if (tooLarge.length) throw new UsageError(tooLarge);
  const input = buildRolloutInput({ rolloutId: request.rolloutId, startedBy: request.by, ...sources });
  // An on-demand run is not a month's rollout that started late: it gets `deadlineDays` from now, even
  // when its release's deadline has passed.
  const deadline = Math.max(input.settings.deadline, now.getTime() + policy.deadlineDays * 86_400_000);
  return {
    ...input,
    settings: { ...input.settings, deadline, ...(request.unsafe ? { unsafe: true } : {}) },
  };
}

/** An install has no one to resume it: a halt ends its wait too. */
const ENDS_WAIT = new Set([...FINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS.Halted]);

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description(summaryOf('install'))
    .option('--fleet <file>', 'fleet file (default: $OFFPEAK_FLEET)')
    .requiredOption(
      '--machine <name...>',
      'machines to patch (any patch mode: an explicit run includes Manual machines)',
    )
    .option(
      '--policy <file>',
      'policy file: selection, reboot, budgets and service capacity (windows and gates are ignored)',
    )
    .addOption(
      new Option('--classification <c...>', 'classifications to install').choices([...CLASSIFICATIONS]),
    )
    .option(
      '--include <kb-or-mask...>',
      'KBs (KB5031234) or package masks (openssl*) to install whatever their classification',
    )
    .option('--exclude <kb-or-mask...>', 'KBs or package masks never to install (exclusions win)')
    .addOption(new Option('--reboot <setting>', 'reboot setting').choices([...REBOOT_SETTINGS]))
    .option(
      '--unsafe',
      'ignore zones, update domains, batches and service capacity: each region at once (recorded)',
    )
    .option('--id <id>', 'rollout ID (default: install-<UTC timestamp>)')
    .option('--by <name>', 'who asks (default: $USER)')
    .option('--wait', "wait until it ends and print each machine's outcome")
    .addOption(dataOutputOption())
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ offpeak install --fleet examples/fleet.yaml --machine eus-web-01 eus-web-02 --include KB5031234 --wait',
        '  $ offpeak install --fleet fleet.yaml --machine db-1 db-2 --classification Critical Security Other --reboot Never',
        '  $ offpeak install --fleet fleet.yaml --machine web-1 web-2 web-3 --unsafe --by carol   # all at once, recorded',
      ].join('\n'),
    )
    .action(
      async (opts: {
        fleet?: string;
        machine: string[];
        policy?: string;
        classification?: Classification[];
        include?: string[];
        exclude?: string[];
        reboot?: RebootSetting;
        unsafe?: boolean;
        id?: string;
        by?: string;
        wait?: boolean;
        output: string;
      }) => {
        const now = new Date();
        const rolloutId = opts.id ?? newRolloutId(now).replace(/^rollout-/, 'install-');
        if (!ROLLOUT_ID_PATTERN.test(rolloutId))
          throw UsageError.of(
            '--id',
            'must start with a letter or digit and hold only letters, digits, ".", "_" or "-" (at most 100)',
          );
        const { fleet } = fleetFromOption(opts.fleet);
        const by = opts.by ?? whoAmI();
        const unsafe = Boolean(opts.unsafe);
        const input = installInput(
          fleet,
          loadPolicy(opts.policy),
          { ...opts, rolloutId, by, machines: opts.machine, unsafe },
          now,
        );
        const count = machineCountOf(input);
        const simulated = simulatedMarkerOf(fleet, input);
        const { client } = await connectClient();
        try {
          await client.workflow.start('rolloutWorkflow', {
            taskQueue: DEFAULT_TASK_QUEUE,
            workflowId: rolloutWorkflowId(rolloutId),
            // A large install's slices go to the spec store, as a rollout's do (docs/scale.md).
            args: [stageRolloutInput(input)],
            staticSummary: `${unsafe ? 'UNSAFE (availability rules bypassed) ' : ''}on-demand install by ${by}: ${count} machine(s)`,
            memo: {
              offpeak: { kind: 'install', unsafe, by, machines: opts.machine, month: input.settings.month },
              ...(simulated ? { [SIMULATED_MEMO_KEY]: simulated } : {}),
            },
            typedSearchAttributes: [
              { key: SA.kind, value: 'rollout' },
              { key: SA.rollout, value: rolloutId },
            ],
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            throw UsageError.of('--id', `a rollout "${rolloutId}" already exists`);
          throw err;
        }
        const notice = simulatedNotice(simulated, count);
        if (notice) note(notice);
        if (unsafe)
          note(
            `UNSAFE install by ${by}: availability rules bypassed (recorded on ${rolloutWorkflowId(rolloutId)})`,
          );
        note(
          `Started ${rolloutWorkflowId(rolloutId)}: ${count} machine(s) in ${input.regions.reduce((n, r) => n + r.stepCount, 0)} step(s); see \`offpeak rollout status ${rolloutId}\``,
        );
        const warning = await noWorkerWarning(client);
        if (warning) note(warning);
        if (!opts.wait) {
          process.stdout.write(`${rolloutId}\n`);
          return;
        }
        // An install waits until it ends, or halts (an operator decides what next: its report says why).
        while (!ENDS_WAIT.has((await rolloutSummary(client, rolloutId)).status))
          await new Promise((r) => setTimeout(r, 1000));
        const report = await rolloutReport(client, rolloutId);
        const headers = ['machine', 'region', 'outcome', 'installed', 'failed', 'pending', 'rebooted'];
        printData(
          opts.output,
          headers,
          report.machines.map((m) => [
            m.name,
            m.region,
            m.outcome,
            m.installed,
            m.failed,
            m.pending,
            m.rebooted ? 'yes' : 'no',
          ]),
          report,
        );
        if (
          report.status !== ROLLOUT_STATUS.Completed ||
          report.machines.some((m) => m.outcome !== OUTCOME.Succeeded)
        )
          throw new OperationError(`install ${report.status}${report.reason ? `: ${report.reason}` : ''}`);
      },
    );
}
