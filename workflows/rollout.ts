import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { approverRefusal } from '../domain/gates';
import type { RegionSpec, RolloutInput } from '../domain/rollout-spec';
import type { SlicedRegion } from '../domain/spec-slices';
import { SA } from '../servers/search-attributes';
import { setRolloutGauges } from './metrics';
import { regionWorkflowId } from './ids';
import { regionControlSignal, regionEndSignal, regionProgressSignal, regionWorkflow } from './region';
import { RolloutState, type MachineReport, type RolloutCarry, type RolloutReport } from './rollout-state';

export interface GateDecisionSignal {
  gate: string;
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
}

export const gateDecisionSignal = defineSignal<[GateDecisionSignal]>('gateDecision');
export const pauseSignal = defineSignal<[{ by: string; reason?: string }]>('pause');
/** Resumes a pause; resuming a halt needs `override: true`, recorded as a gate decision. */
export const resumeSignal = defineSignal<[{ by: string; override?: boolean; comment?: string }]>('resume');
export const cancelSignal = defineSignal<[{ by: string; reason?: string }]>('cancel');
export const statusQuery = defineQuery<RolloutReport>('status');
/** A page of the rollout's machines (`offset`, `limit` up to 1,000): how the CLI reads a sliced rollout's. */
export const machinesQuery = defineQuery<MachineReport[], [number, number]>('machines');

/** What a tallied rollout carries into its next run: its state and the phase whose regions are running. */
export interface RolloutContinued {
  state: RolloutCarry;
  phase: number;
  regions: Array<{ region: string; ended: boolean }>;
  acked: Record<string, number>;
  sent: Record<string, string>;
}

/** A rollout continues as new past this many history events (Temporal's guidance: well under 10,000). */
const EVENTS_PER_RUN = 8000;

/**
 * The monthly rollout: phases of regions one after another, each phase behind an optional approval gate
 * and promoted only when its health holds. Regions run as children; they report progress by signal.
 *
 * A large (sliced) rollout keeps counts per region instead of a record per machine and continues as new
 * while its regions run (docs/scale.md): its regions are abandoned, not owned, by each run, and tell it
 * they ended by signal. `offpeak rollout report` reads its machines from the machine attempts.
 */
export async function rolloutWorkflow(
  input: RolloutInput & { continued?: RolloutContinued },
): Promise<RolloutReport> {
  const { continued } = input;
  // Versioned change: sliced rollouts started before it keep a record per machine and never continue.
  const tallied =
    continued !== undefined || ((input.slicedRegions ?? []).length > 0 && patched('rollout-continue-as-new'));
  const state = new RolloutState(input, { tallied, carry: continued?.state });
  const { approvals } = input.settings;
  const now = () => new Date(Date.now()).toISOString();
  let openGate: { name: string; phase: number; decision?: 'approved' | 'rejected' } | undefined;
  // A continued run relays once at its start: an acknowledgement may not have gone out before it.
  let controlVersion = continued ? 1 : 0;
  const running: Array<{
    region: string;
    /** Absent in tallied rollouts, whose regions outlive the run that started them. */
    handle?: ChildWorkflowHandle<typeof regionWorkflow>;
    done: boolean;
  }> = continued ? continued.regions.map((r) => ({ region: r.region, done: r.ended })) : [];
  /** Per region, the last progress report recorded: relayed back as `RegionControl.ack`. */
  const acked = new Map<string, number>(Object.entries(continued?.acked ?? {}));
  /** Per region, the last control relayed to it (JSON). */
  const sent = new Map<string, string>(Object.entries(continued?.sent ?? {}));
  // Versioned changes (see patched()): regions wait for each step's acknowledgement, so a halt stops the
  // next step; the status shows a pause while regions run.
  const stepAcks = patched('region-step-acks');
  const pauseStatus = patched('pause-status');

  const setStatus = (status: RolloutReport['status'], waitingFor?: string) => {
    state.status = status;
    state.waitingFor = waitingFor;
    setCurrentDetails(waitingFor ? `**${status}**: ${waitingFor}` : `**${status}**`);
    upsertSearchAttributes([{ key: SA.outcome, value: status }]);
    setRolloutGauges(state.report());
  };

  setHandler(statusQuery, () => state.report());
  setHandler(machinesQuery, (offset, limit) => state.machinePage(offset, limit));
  setHandler(regionProgressSignal, ({ region, results, seq }) => {
    state.record(results);
    setRolloutGauges(state.report());
    if (seq !== undefined) acked.set(region, Math.max(acked.get(region) ?? 0, seq));
    if (state.status !== 'Halted' && state.errorTally().exceeded) {
      const t = state.errorTally();
      state.reason = `error budget exceeded: ${t.count} error(s), at most ${t.allowed} allowed`;
      setStatus('Halted', `an operator to resume with an override, or cancel (${state.reason})`);
      controlVersion++;
    } else if (stepAcks) controlVersion++; // the region waits for the acknowledgement
  });
  setHandler(regionEndSignal, ({ region, failure }) => {
    const r = running.find((x) => x.region === region);
    if (r) r.done = true;
    if (failure && !state.aborted) {
      state.reason = `region ${region} failed: ${failure}`;
      setStatus('Halted', `an operator to resume with an override, or cancel (${state.reason})`);
      controlVersion++;
    }
  });
  setHandler(gateDecisionSignal, ({ gate, decision, by, comment }) => {
    const at = now();
    if (!openGate || openGate.name !== gate || openGate.decision) {
      state.gates.push({
        name: gate,
        phase: -1,
        decision: 'refused',
        by,
        at,
        comment: `no open gate named "${gate}"`,
      });
      return;
    }
    const refusal = approverRefusal(by, input.startedBy, approvals);
    if (refusal) {
      state.gates.push({ name: gate, phase: openGate.phase, decision: 'refused', by, at, comment: refusal });
      return;
    }
    openGate.decision = decision === 'approve' ? 'approved' : 'rejected';
    state.gates.push({ name: gate, phase: openGate.phase, decision: openGate.decision, by, at, comment });
  });
  setHandler(pauseSignal, ({ by, reason }) => {
    state.paused = `${by}${reason ? `: ${reason}` : ''}`;
    if (pauseStatus && state.status === 'Running') setStatus('Paused', `resume (paused by ${state.paused})`);
    controlVersion++;
  });
  setHandler(resumeSignal, ({ by, override, comment }) => {
    if (state.status === 'Halted') {
      const refusal = approverRefusal(by, input.startedBy, { ...approvals, fourEyes: false });
      if (!override || refusal) {
        state.gates.push({
          name: 'resume',
          phase: -1,
          decision: 'refused',
          by,
          at: now(),
          comment: refusal ?? 'resuming a halted rollout needs --override',
        });
        return;
      }
      state.gates.push({ name: 'resume', phase: -1, decision: 'overridden', by, at: now(), comment });
      state.override();
      state.reason = undefined;
      setStatus('Running');
    } else if (pauseStatus && state.status === 'Paused') setStatus('Running');
    state.paused = undefined;
    controlVersion++;
  });
  setHandler(cancelSignal, ({ by, reason }) => {
    state.aborted = true;
    state.reason = `cancelled by ${by}${reason ? `: ${reason}` : ''}`;
    controlVersion++;
  });

  /** Waits while the rollout is paused or halted; false when it was aborted meanwhile. */
  const proceed = async (): Promise<boolean> => {
    while (!state.aborted && (state.paused || state.status === 'Halted')) {
      if (state.paused) setStatus('Paused', `resume (paused by ${state.paused})`);
      await condition(() => state.aborted || (!state.paused && state.status !== 'Halted'));
    }
    if (!state.aborted) setStatus('Running');
    return !state.aborted;
  };

  upsertSearchAttributes([
    { key: SA.kind, value: 'rollout' },
    { key: SA.rollout, value: input.rolloutId },
  ]);
  setStatus(continued ? state.status : 'Running', continued ? state.waitingFor : undefined);

  for (const phase of state.phases) {
    const i = phase.index;
    // A continued run resumes inside the phase it left: earlier phases are settled, its regions started.
    if (continued && i < continued.phase) continue;
    const resuming = continued !== undefined && i === continued.phase;
    if (!resuming && !(await proceed())) break;
    upsertSearchAttributes([{ key: SA.phase, value: i }]);

    if (!resuming && (approvals.beforePhases === 'all' || approvals.beforePhases.includes(i))) {
      openGate = { name: `phase-${i}`, phase: i };
      state.openGate = openGate.name;
      phase.status = 'WaitingForApproval';
      setStatus('WaitingForApproval', `approval of gate "phase-${i}" (${phase.regions.join(', ')})`);
      const gate = openGate;
      const decidedOrAborted = () => gate.decision !== undefined || state.aborted;
      const decided = approvals.expireAfterMinutes
        ? await condition(decidedOrAborted, approvals.expireAfterMinutes * 60_000)
        : await condition(decidedOrAborted).then(() => true);
      state.openGate = undefined;
      if (state.aborted) break;
      if (!decided) {
        state.gates.push({ name: gate.name, phase: i, decision: 'expired', by: 'offpeak', at: now() });
        state.reason = `gate "${gate.name}" expired without a decision`;
        setStatus('Halted', `an operator to resume with an override, or cancel (${state.reason})`);
        if (!(await proceed())) break;
      } else if (gate.decision === 'rejected') {
        phase.status = 'Skipped';
        state.reason = `gate "${gate.name}" rejected`;
        setStatus('Rejected');
        break;
      }
    }

    if (!resuming) {
      phase.status = 'Running';
      phase.startedAt = now();
      setStatus('Running', `phase ${i}: ${phase.regions.join(', ')}`);
      running.length = 0;
    }
    // Inline regions carry their spec; sliced ones (docs/scale.md) only their slice references.
    const phaseRegions: Array<{
      region: string;
      spec: RegionSpec;
      machines: number;
      steps: number;
      sliced?: SlicedRegion;
    }> = [
      ...input.regions
        .filter((r) => r.phase === i)
        .map((r) => ({ region: r.region, spec: r, machines: r.machines.length, steps: r.steps.length })),
      ...(input.slicedRegions ?? [])
        .filter((r) => r.phase === i)
        .map((r) => ({
          region: r.region,
          spec: { region: r.region, phase: r.phase, steps: [], machines: [] },
          machines: r.machineCount,
          steps: r.stepCount,
          sliced: r,
        })),
    ];
    for (const region of resuming ? [] : phaseRegions) {
      const args = {
        rolloutId: input.rolloutId,
        parentWorkflowId: workflowInfo().workflowId,
        spec: region.spec,
        settings: input.settings,
        ...(region.sliced
          ? {
              sliced: {
                slices: region.sliced.slices,
                machineCount: region.machines,
                childrenPerRun: input.childrenPerRun,
              },
            }
          : {}),
        ...(tallied ? { talliedRollout: true } : {}),
      };
      const handle = await startChild(regionWorkflow, {
        workflowId: regionWorkflowId(input.rolloutId, region.region),
        args: [stepAcks ? { ...args, stepAcks } : args],
        // A tallied rollout's runs end by continuing as new while their regions run on.
        parentClosePolicy: tallied ? ParentClosePolicy.ABANDON : ParentClosePolicy.TERMINATE,
        staticSummary: `${region.region}: phase ${i}, ${region.machines} machine(s) in ${region.steps} step(s)`,
        typedSearchAttributes: [
          { key: SA.kind, value: 'region' },
          { key: SA.rollout, value: input.rolloutId },
          { key: SA.region, value: region.region },
          { key: SA.phase, value: i },
        ],
      });
      running.push({ region: region.region, handle: tallied ? undefined : handle, done: false });
    }

    // Relay holds (pause, halt, abort) to the running regions until they all finish: tallied regions
    // say so by signal, the others return their results.
    let finished = false;
    const results = tallied
      ? Promise.resolve([])
      : Promise.all(
          running.map((r) =>
            r.handle!.result().then((res) => {
              r.done = true;
              return res;
            }),
          ),
        ).then((all) => {
          finished = true;
          return all;
        });
    const ended = () => (tallied ? running.every((r) => r.done) : finished);
    const historyFull = () =>
      tallied &&
      (workflowInfo().continueAsNewSuggested ||
        workflowInfo().historyLength >= (input.eventsPerRun ?? EVENTS_PER_RUN));
    let relayed = 0;
    while (!ended()) {
      await condition(() => ended() || controlVersion !== relayed || historyFull());
      if (ended()) break;
      relayed = controlVersion;
      const control = { hold: state.hold(), stop: state.aborted };
      // Only regions still running (one that finishes meanwhile cannot be signalled, and needs nothing
      // more), and with step acknowledgements only those whose control changed: a progress report is
      // answered to its own region, keeping the history at one signal per step.
      const changed = running.filter((r) => {
        if (r.done) return false;
        const message = JSON.stringify({ ...control, ack: acked.get(r.region) ?? 0 });
        if (stepAcks && sent.get(r.region) === message) return false;
        sent.set(r.region, message);
        return true;
      });
      await Promise.all(
        changed.map((r) =>
          getExternalWorkflowHandle(regionWorkflowId(input.rolloutId, r.region))
            .signal(regionControlSignal, { ...control, ack: acked.get(r.region) ?? 0 })
            .catch(() => undefined),
        ),
      );
      // Everything is relayed: the next run starts from the state alone (its regions run on).
      if (historyFull() && !ended())
        await continueAsNew<typeof rolloutWorkflow>({
          ...input,
          continued: {
            state: state.carry(),
            phase: i,
            regions: running.map((r) => ({ region: r.region, ended: r.done })),
            acked: Object.fromEntries(acked),
            sent: Object.fromEntries(sent),
          },
        });
    }
    for (const regionResults of await results) state.record(regionResults);
    phase.finishedAt = now();
    if (state.aborted) {
      phase.status = 'Halted';
      break;
    }

    const verdict = state.status === 'Halted' ? undefined : state.phaseVerdict(i);
    if (verdict?.verdict === 'promote') {
      phase.status = 'Succeeded';
      continue;
    }
    phase.status = 'Halted';
    if (verdict) {
      state.reason = verdict.reason;
      setStatus(
        'Halted',
        `an operator to resume with an override, or cancel (${verdict.verdict}: ${verdict.reason})`,
      );
    }
    if (!(await proceed())) break;
    phase.status = 'Succeeded';
  }

  for (const p of state.phases) if (p.status === 'Pending') p.status = 'Skipped';
  if (state.aborted) setStatus('Aborted');
  else if (state.status !== 'Rejected') setStatus('Completed');
  return state.report(true);
}
