// Every fast-check property in `npm test` runs one fixed seed, so a red CI run is a change's, never the
// luck of the draw; a test that names its own seed keeps it. OFFPEAK_PROPERTY_SEED=random (or a number)
// draws others, as a soak does: fast-check prints the seed and path of a counterexample, and
// OFFPEAK_PROPERTY_SEED=<seed> replays it.
const fc = require('fast-check');

const FIXED_SEED = 2026;
const asked = process.env.OFFPEAK_PROPERTY_SEED;
const seed = asked === 'random' ? Date.now() % 2 ** 31 : asked === undefined ? FIXED_SEED : Number(asked);
if (!Number.isInteger(seed))
  throw new Error(`OFFPEAK_PROPERTY_SEED must be an integer or "random", not ${asked}`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
