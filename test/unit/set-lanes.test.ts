import { BUDGET_WIDTHS, chooseLaneWidths, type WidthInput } from '../../domain/planner/set-lanes';

/** `count` machines of `minutes` each, slowest first. */
const same = (count: number, minutes = 20) => new Float64Array(count).fill(minutes);

/** `sets` availability sets of 200 machines (5 update domains of 40, 40 at once), as the width choice reads them. */
function region(zone: number, standalone: number, sets: number) {
  const names = Array.from({ length: sets }, (_, k) => `set-${k}`);
  let next = 0;
  const machines = new Map(names.map((name) => [name, Array.from({ length: 200 }, () => next++)]));
  const uds = new Map(Array.from({ length: 5 }, (_, ud) => [ud, { slowest: same(40), cap: 40 }]));
  const input: WidthInput = {
    zones: [{ slowest: same(zone), cap: Math.min(zone, 500) }],
    standalone: standalone > 0 ? { slowest: same(standalone), cap: Math.min(standalone, 500) } : null,
    sets: new Map(names.map((name) => [name, { uds, noUd: 0 }])),
  };
  return { parts: { setNames: names, sets: machines }, chains: new Map(names.map((n) => [n, 100])), input };
}

describe('chooseLaneWidths', () => {
  it('narrows the zone and standalone batches to what leaves every set its lane', () => {
    // 500 + 32 × 40 + 500 = 2,280 at the budgets' widths; batches of 100 leave 1,300 for the sets' 1,280.
    const { parts, chains, input } = region(500, 500, 32);
    expect(chooseLaneWidths(parts, chains, input)).toEqual({ zone: 100, standalone: 100 });
  });

  it("keeps the budgets' widths, as they are, when the zone lane is the longest anyway", () => {
    // A zone of 10,000 in 20 batches of 500 (400 minutes) against the sets walking together (300).
    const { parts, chains, input } = region(10_000, 500, 32);
    expect(chooseLaneWidths(parts, chains, input)).toBe(BUDGET_WIDTHS);
  });

  it('narrows only the standalone batches when that is enough', () => {
    // Zone 100 (one step), standalone 500: 100 + 1,280 + 500; standalone batches of 100 make 1,480.
    const { parts, chains, input } = region(100, 500, 32);
    expect(chooseLaneWidths(parts, chains, input)).toEqual({ zone: Infinity, standalone: 100 });
  });
});
