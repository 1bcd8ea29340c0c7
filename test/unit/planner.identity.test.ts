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
 * the code before the speed work. A change to the plan model changes them on purpose: then record them
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
  const forecast = forecastRollout(fleet, policy, plan, {
    startAt: Date.parse('2026-11-10T00:00:00Z'),
    deadline: Date.parse('2026-12-10T23:59:59Z'),
    approvalMinutes: 60,
  }).forecast;
  const prepared = prepareRolloutInput({
    rolloutId: 'identity',
    startedBy: 'alice',
    fleet,
    policy: { ...policy, month: '2026-11' },
    now: new Date('2026-11-10T00:00:00Z'),
  });
  if (!prepared.ok) throw new Error(prepared.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return { plan: digest(plan), forecast: digest(forecast), input: digest(prepared.value.input) };
}

const examples = join(__dirname, '..', '..', 'examples');

const EXPECTED: Record<string, Record<string, string>> = {
  'example default': {
    plan: 'c83945827f65262628f3614a05dc99f5ad56d5122e6e87830972c7bf67be6bff',
    forecast: '182fba0b6a0ed0fa8b97f4002a3ee1a3e551ef421425c775b93d986f5a97b43f',
    input: '8df9dc6ef1dee9d12cb2bfce417b07949f118bf964d36b96d268b9c9b3384a9c',
  },
  'example policy-demo.yaml': {
    plan: 'c83945827f65262628f3614a05dc99f5ad56d5122e6e87830972c7bf67be6bff',
    forecast: 'e7a362416d79c93e6e8b0abc0977defd1f1db51ba199cd97a2322d3904222f73',
    input: '4b459dfe14f87dfd64970f949a2dc2a9b81a49430a164aba2436163804af8916',
  },
  'realistic mix': {
    plan: '39695f91d03cfa82b3f7c308c866a930205efabff88d5c805dce2026ad48f592',
    forecast: '75454176fc2f97f6c87711a457a3e2bd3ee71b39fdd4a1544ac6e397e5beb6d9',
    input: '508b6e22da3fe6e5879a10049e8c25930eb293defc0b1e35e1611f3aa30d66de',
  },
  'standalone only, budget 20%': {
    plan: '070dc8e45282663a762e4bb4c6b027adfcccd6ae56e711d39acb61cb0ead4a58',
    forecast: '31e5edfa5298b3e317653c15546d09b7670591875570d10bbe1fa6e3d9003917',
    input: 'ebc49c57f8d24c30a26c76cdff0fb9025a23f06497e5b9b87f80ed51db18af0b',
  },
  'zonal only, budget 20%': {
    plan: '385b6008758ec4e454fc7cf729fea8751c1f5d0cd0cf3d4806c39fe38601789f',
    forecast: '41612314f83b2815e904c3316f1828312ec8994bd11045161b4cc2cffb87e593',
    input: '71fc062dd5a62159b26f28f26ec38310ac139251c4dcd4ca1d1e73a5a94197bc',
  },
  'availability sets only': {
    plan: '4d39fd3da67df87ceed2fe959e7a187073786df82f206678d6f5da93a1a26a9a',
    forecast: 'c851bda7c63f664f0a8c3a5ba75bdc071e9d58084d17f9ebcbcb17d8ccef06bc',
    input: 'ca55c21433b2ae98d63d872fb455f10603125f2552e1d983a44dd2650508adc5',
  },
  'tight services (minAvailable 90%)': {
    plan: 'b575ad02f1186c8a4d4b3c0412b81291bb56ce28006bcdc3e2105fd9139ce353',
    forecast: 'e1049f1328d4a5dcb4f48069025bd7c80d9ea1f9e387b889254116dc9223e476',
    input: 'e269f20942475ae5dd05df63d359894c7cd029e289321383cfd6040c8b0f2451',
  },
  'one service per cluster, 50%': {
    plan: 'a9b20cdbcf917b332e254787f5dc8f4cea93d908a909c03a58c7fb37f1159937',
    forecast: '80fc3998fd21e148dc2ad2f3dd5df5c4b4e43a8c4bdc90e5121359daf0abf882',
    input: 'd64e63a7d67e55617bea6f6e90e11b2b897f62c3b756863016130e6a9e500a03',
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
