import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadFleet, loadPolicy } from '../../client/input';
import { type Fleet, parseFleet } from '../../domain/fleet';
import { type Policy, policySchema } from '../../domain/policy';
import { forecastRollout, planRollout } from '../../domain/planner';
import { prepareRolloutInput } from '../../domain/pre-start';
import { POLICY, SHAPES, syntheticFleet } from '../../scripts/bench-planner';

jest.setTimeout(120_000);

/**
 * The planner's speed work (issue 14, part 5) removes passes and allocations, never rules: the plan, its
 * forecast, the rollout's input and the parsed fleet must stay byte for byte what they were. Each is
 * pinned by the SHA-256 of its JSON, recorded from the code before that work (9e2f808); the forecasts of
 * "availability sets only" and "tight services" again after the bound's tightening (window-bound.ts), on
 * the code before the speed work. The pipelined forecasts (the default since the workflows run it) were
 * recorded when they began to, and the inputs again then: a standalone machine's spec carries its
 * subscription and a machine's its expected durations (lane-follower.ts). A change to the plan model changes them on purpose: then record them
 * again (`OFFPEAK_PRINT_DIGESTS=1 npx jest test/unit/planner.identity.test.ts` prints the new ones) and
 * say why in the commit.
 */

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function planned(fleet: Fleet, policy: Policy) {
  const result = planRollout(fleet, policy);
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.value;
}

/** Every artefact of the operator's `offpeak plan`, each as its digest. */
function digests(fleet: Fleet, policy: Policy): Record<string, string> {
  const plan = planned(fleet, policy);
  const assumptions = {
    startAt: Date.parse('2026-11-10T00:00:00Z'),
    deadline: Date.parse('2026-12-10T23:59:59Z'),
    approvalMinutes: 60,
  };
  // The step model is pinned as it was; the pipelined one (the default) from when the workflows ran it.
  const forecast = forecastRollout(fleet, policy, plan, { ...assumptions, laneModel: 'steps' }).forecast;
  const pipelined = forecastRollout(fleet, policy, plan, assumptions).forecast;
  const prepared = prepareRolloutInput({
    rolloutId: 'identity',
    startedBy: 'alice',
    fleet,
    policy: { ...policy, month: '2026-11' },
    now: new Date('2026-11-10T00:00:00Z'),
  });
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return {
    plan: digest(plan),
    forecast: digest(forecast),
    pipelined: digest(pipelined),
    input: digest(prepared.value.input),
  };
}

const examples = join(__dirname, '..', '..', 'examples');

const EXPECTED: Record<string, Record<string, string>> = {
  'example default': {
    plan: 'c83945827f65262628f3614a05dc99f5ad56d5122e6e87830972c7bf67be6bff',
    forecast: '182fba0b6a0ed0fa8b97f4002a3ee1a3e551ef421425c775b93d986f5a97b43f',
    pipelined: '182fba0b6a0ed0fa8b97f4002a3ee1a3e551ef421425c775b93d986f5a97b43f',
    input: '8df9dc6ef1dee9d12cb2bfce417b07949f118bf964d36b96d268b9c9b3384a9c',
  },
  'example policy-demo.yaml': {
    plan: 'c83945827f65262628f3614a05dc99f5ad56d5122e6e87830972c7bf67be6bff',
    forecast: 'e7a362416d79c93e6e8b0abc0977defd1f1db51ba199cd97a2322d3904222f73',
    pipelined: 'e7a362416d79c93e6e8b0abc0977defd1f1db51ba199cd97a2322d3904222f73',
    input: '4b459dfe14f87dfd64970f949a2dc2a9b81a49430a164aba2436163804af8916',
  },
  'realistic mix': {
    plan: '39695f91d03cfa82b3f7c308c866a930205efabff88d5c805dce2026ad48f592',
    forecast: '75454176fc2f97f6c87711a457a3e2bd3ee71b39fdd4a1544ac6e397e5beb6d9',
    pipelined: '4cb1f77e7e9b7cb56d064b98886264c5304bfd8946c05e726260a7a45c77cc30',
    input: 'a3b805f297feb251a9ea712894b62d63ccf609f3f92e3e818c09e1b5d45ccf48',
  },
  'standalone only, budget 20%': {
    plan: '070dc8e45282663a762e4bb4c6b027adfcccd6ae56e711d39acb61cb0ead4a58',
    forecast: '31e5edfa5298b3e317653c15546d09b7670591875570d10bbe1fa6e3d9003917',
    pipelined: 'a403f28d81573c8c2930c63f16a84aef3d44b399ae5ca7d152a474d3045e485d',
    input: '42735bebd4a5b1f7aafa84c9ab156760d19a60df65b0838a7ce0058aac68f4c9',
  },
  'zonal only, budget 20%': {
    plan: '385b6008758ec4e454fc7cf729fea8751c1f5d0cd0cf3d4806c39fe38601789f',
    forecast: '41612314f83b2815e904c3316f1828312ec8994bd11045161b4cc2cffb87e593',
    pipelined: 'cb590f4458d7a45cdab70f38d5cfc3fc41c76835f1dbeccb12080fc02c206956',
    input: 'dfeba1960513e21dc99f208827a5789589dd409a85815831340102dc22d9478e',
  },
  'availability sets only': {
    plan: '4d39fd3da67df87ceed2fe959e7a187073786df82f206678d6f5da93a1a26a9a',
    forecast: 'c851bda7c63f664f0a8c3a5ba75bdc071e9d58084d17f9ebcbcb17d8ccef06bc',
    pipelined: 'e22483f46042bcb1f79201e6a52836924ec819f1d9604c14fe043a64e203c619',
    input: '3845e3bc574c08cbde49353248af9b7e8b9924418d1228fbf18c62a590cb4479',
  },
  'tight services (minAvailable 90%)': {
    plan: 'b575ad02f1186c8a4d4b3c0412b81291bb56ce28006bcdc3e2105fd9139ce353',
    forecast: 'e1049f1328d4a5dcb4f48069025bd7c80d9ea1f9e387b889254116dc9223e476',
    pipelined: 'd6fa4aed67360377abc2d06301f7472b765added8e8416217017d80c5d53d803',
    input: 'f079045a55bf8fae4df3443f185225b7ab2c798079ad0bd4b5bd51095a8958e8',
  },
  'one service per cluster, 50%': {
    plan: 'a9b20cdbcf917b332e254787f5dc8f4cea93d908a909c03a58c7fb37f1159937',
    forecast: '80fc3998fd21e148dc2ad2f3dd5df5c4b4e43a8c4bdc90e5121359daf0abf882',
    pipelined: '99993a52a4087e1a5e195756483720b94b4141b5da9b046d9bda3e11ddad69d7',
    input: '4d8e09c7f96140066a203ca104ab413e03137017df1f7a65f7421c2a1f420bd7',
  },
  '100,000 realistic': { plan: 'b8f1939830cd1e53d1826ba03deae5591dbb440939b9a96703d4d5a0fe08d893' },
  'parsed 20,000': { fleet: '4ff22235af2126dac3294b477fab5f90e836520f7b4a5621055de9060a20b43c' },
};

function check(name: string, actual: Record<string, string>): void {
  if (process.env.OFFPEAK_PRINT_DIGESTS) console.log(`${JSON.stringify(name)}: ${JSON.stringify(actual)},`);
  expect(actual).toEqual(EXPECTED[name]);
}

describe('the plan stays byte for byte the same', () => {
  for (const policyFile of [undefined, 'policy-demo.yaml'])
    test(`examples/fleet.yaml with ${policyFile ?? 'the default policy'}`, () => {
      const fleet = loadFleet(join(examples, 'fleet.yaml'));
      const policy = loadPolicy(policyFile && join(examples, policyFile));
      check(`example ${policyFile ?? 'default'}`, digests(fleet, policy));
    });

  for (const [name, shape, policy] of SHAPES)
    test(`a generated fleet of 20,000 machines: ${name}`, () => {
      const fleet = syntheticFleet(20_000, shape, 7);
      check(name, digests(fleet, policySchema.parse({ disruptionBudget: '20%', ...policy })));
    });

  test('a generated fleet of 100,000 machines, realistic mix (the plan alone)', () => {
    check('100,000 realistic', { plan: digest(planned(syntheticFleet(100_000), POLICY)) });
  });

  test('a generated fleet read back from its JSON parses to the same fleet', () => {
    const fleet = syntheticFleet(20_000, SHAPES[0][1], 7);
    const parsed = parseFleet(JSON.parse(JSON.stringify(fleet)));
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    check('parsed 20,000', { fleet: digest(parsed.value) });
  });
});
