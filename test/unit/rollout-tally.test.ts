import type { AttemptOutcome } from '../../domain/outcomes';
import type { StepResult } from '../../workflows/messages';
import { emptyTally, foldResult } from '../../workflows/rollout-tally';

const result = (name: string, attempt: number, outcome: AttemptOutcome): StepResult => ({
  name,
  attempt,
  outcome,
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
      foldResult(tally, { ...result('m', i + 1, outcome), erredBefore }, 3),
    );
    expect(tally).toEqual({ region: 'eastus', phase: 0, total: 1, done: 1, ...expected });
  });
});
