import fc from 'fast-check';

/** test/support/property-seed.js: every property in `npm test` draws from one fixed seed. */
describe('the seed of the properties', () => {
  it('is fixed unless OFFPEAK_PROPERTY_SEED asks for another', () => {
    const { seed } = fc.readConfigureGlobal();
    const asked = process.env.OFFPEAK_PROPERTY_SEED;
    if (asked === undefined) expect(seed).toBe(2026);
    else if (asked !== 'random') expect(seed).toBe(Number(asked));
    expect(Number.isInteger(seed)).toBe(true);
  });

  it('makes a property draw the same values in every run', () => {
    const draw = () => fc.sample(fc.array(fc.integer(), { minLength: 5, maxLength: 5 }), 3);
    expect(draw()).toEqual(draw());
  });
});
