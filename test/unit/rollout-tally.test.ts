import fc from 'fast-check';
import { stageRolloutInput } from '../../store/spec-store';
import { countsAsError, RETRYABLE_OUTCOMES, type AttemptOutcome } from '../../domain/outcomes';
import type { ProgressResult } from '../../workflows/region';
import { RolloutState } from '../../workflows/rollout-state';
import { emptyTally, foldResult } from '../../workflows/rollout-tally';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';

const OUTCOMES: AttemptOutcome[] = [
  'Succeeded',
  'InstallFailed',
  'Pending',
  'Unreachable',
  'WindowMissed',
  'PreScriptFailed',
  'PostScriptFailed',
  'DidNotComeBack',
  'Unhealthy',
  'Errored',
  'Skipped',
];

const result = (name: string, region: string, attempt: number, outcome: AttemptOutcome): ProgressResult => ({
  name,
  region,
  attempt,
  outcome,
  counts: { installed: 0, failed: 0, pending: 0, excluded: 0, notSelected: 0 },
  rebooted: false,
});

describe('a region tally', () => {
  it.each<
    [
      string,
      Array<[AttemptOutcome, boolean?]>,
      { attempts: number; succeeded: number; errors: number; failing: number },
    ]
  >([
    ['a success', [['Succeeded']], { attempts: 1, succeeded: 1, errors: 0, failing: 0 }],
    [
      'pending, then patched',
      [['Pending'], ['Succeeded']],
      { attempts: 2, succeeded: 1, errors: 0, failing: 0 },
    ],
    [
      'pending on the last attempt',
      [['Pending'], ['Pending'], ['Pending']],
      { attempts: 3, succeeded: 0, errors: 1, failing: 1 },
    ],
    [
      'an install failure patched by its retry',
      [['InstallFailed'], ['Succeeded', true]],
      { attempts: 2, succeeded: 1, errors: 1, failing: 0 },
    ],
    [
      'an install failure, then pending',
      [['InstallFailed'], ['Pending', true], ['Pending', true]],
      { attempts: 3, succeeded: 0, errors: 1, failing: 1 },
    ],
    ['unhealthy', [['Unhealthy']], { attempts: 1, succeeded: 0, errors: 1, failing: 1 }],
    ['skipped', [['Skipped']], { attempts: 0, succeeded: 0, errors: 0, failing: 0 }],
  ])('%s', (_, attempts, expected) => {
    const tally = emptyTally('eastus', 0, 1);
    attempts.forEach(([outcome, erredBefore], i) =>
      foldResult(tally, { ...result('m', 'eastus', i + 1, outcome), erredBefore }, 3),
    );
    expect(tally).toEqual({ region: 'eastus', phase: 0, total: 1, done: 1, ...expected });
  });
});

/** A machine's attempts as the region runs them: a retry only after a retryable outcome, at most `max`. */
const attemptsArb = (max: number) =>
  fc.array(fc.constantFrom(...OUTCOMES), { minLength: 1, maxLength: max }).map((outcomes) => {
    const end = outcomes.findIndex((o) => !RETRYABLE_OUTCOMES.has(o));
    return end < 0 ? outcomes : outcomes.slice(0, end + 1);
  });

describe('tallies against a record per machine', () => {
  const max = 3;
  const names = ['e1', 'e2', 'e3', 'e4', 'w1', 'w2', 'w3'];
  const regionOf = (name: string) => (name.startsWith('e') ? 'eastus' : 'westus');
  const inline = rolloutInputOf({
    rolloutId: 'tally',
    fleet: {
      machines: names.map((n) => vm(n, { region: regionOf(n) })),
      regionPairs: { eastus: 'westus' },
    },
    policy: { windows: 'always', month: '2026-11', maxAttempts: max, errorBudget: 2 },
    now: new Date('2026-11-10T00:00:00Z'),
  });
  const staged = stageRolloutInput(inline, { dir: tempDir('tally-store'), inlineLimitBytes: 0 });

  it('give the same error count, phase verdicts and successes after every report', () => {
    fc.assert(
      fc.property(
        fc.tuple(...names.map(() => attemptsArb(max))),
        fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
        (perMachine, order) => {
          const records = new RolloutState(inline);
          const tallies = new RolloutState(staged, { tallied: true });
          // Interleave the machines' attempts (each machine's own in order), as concurrent steps would.
          const queues = perMachine.map((outcomes, m) =>
            outcomes.map((outcome, i) => ({
              name: names[m],
              attempt: i + 1,
              outcome,
              before: outcomes.slice(0, i),
            })),
          );
          let k = 0;
          while (queues.some((q) => q.length > 0)) {
            const open = queues.filter((q) => q.length > 0);
            const next = open[(order[k++ % order.length] ?? 0) % open.length].shift()!;
            const progress = result(next.name, regionOf(next.name), next.attempt, next.outcome);
            // What the region knows from its retry marks: an earlier attempt already counted as an error.
            const erredBefore = next.before.some((o, i) => countsAsError(o, i + 1 >= max));
            records.record([progress]);
            tallies.record([{ ...progress, ...(erredBefore ? { erredBefore } : {}) }]);

            expect(tallies.errorTally()).toEqual(records.errorTally());
            for (const phase of inline.phases)
              expect(tallies.phaseVerdict(phase.index)).toEqual(records.phaseVerdict(phase.index));
            const machines = records.report().machines.filter((m) => m.outcome !== 'Excluded');
            const paged = tallies.report().paged!;
            expect(paged.succeeded).toBe(machines.filter((m) => m.outcome === 'Succeeded').length);
            for (const region of paged.regions) {
              const mine = machines.filter((m) => m.region === region.region && m.outcome !== 'NotStarted');
              expect([region.region, region.done, region.notSucceeded]).toEqual([
                region.region,
                mine.length,
                mine.filter((m) => m.outcome !== 'Succeeded').length,
              ]);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('carry their state into a continued run', () => {
    const first = new RolloutState(staged, { tallied: true });
    first.record([result('e1', 'eastus', 1, 'Unhealthy'), result('w1', 'westus', 1, 'Succeeded')]);
    first.status = 'Halted';
    first.reason = 'error budget exceeded';
    first.override();
    const carried = JSON.parse(JSON.stringify(first.carry())) as ReturnType<RolloutState['carry']>;
    const next = new RolloutState(staged, { carry: carried });
    expect(next.report()).toEqual(first.report());
    expect(next.errorTally()).toEqual(first.errorTally());
    // The forgiven error stays forgiven: one more error is within a budget of 2.
    next.record([result('e2', 'eastus', 1, 'Unhealthy')]);
    expect(next.errorTally()).toEqual({ count: 2, allowed: 2, exceeded: false });
    expect(JSON.stringify(carried)).not.toContain('"e1"');
  });

  it('keep exclusions out of the status: the result lists them, a running rollout pages them', () => {
    const withExcluded = { ...staged, excluded: [{ name: 'x1', region: 'eastus', reason: 'Manual mode' }] };
    const state = new RolloutState(withExcluded, { tallied: true });
    expect(state.report().paged!.excluded).toBeUndefined();
    expect(state.report(true).paged!.excluded).toEqual(withExcluded.excluded);
    expect(state.machinePage(0, 10)).toEqual([
      expect.objectContaining({ name: 'x1', region: 'eastus', outcome: 'Excluded', detail: 'Manual mode' }),
    ]);
    expect(state.machinePage(1, 10)).toEqual([]);
  });

  it('are refused to a rollout that keeps records', () => {
    expect(() => new RolloutState(inline).carry()).toThrow(/only a tallied rollout/);
  });
});
