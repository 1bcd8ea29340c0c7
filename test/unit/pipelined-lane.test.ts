import fc from 'fast-check';
import {
  FollowerPlaces,
  keysOf,
  machineKeys,
  pipelinedRound,
  sameSegment,
  type PipelinedStep,
} from '../../domain/planner/pipelined-lane';

describe('sameSegment: which consecutive steps may overlap', () => {
  it.each([
    [{ kind: 'zone', zone: '1' }, { kind: 'zone', zone: '1' }, true],
    [{ kind: 'zone', zone: '1' }, { kind: 'zone', zone: '2' }, false],
    [{ kind: 'availabilitySet', updateDomain: 0 }, { kind: 'availabilitySet', updateDomain: 0 }, true],
    [{ kind: 'availabilitySet', updateDomain: 0 }, { kind: 'availabilitySet', updateDomain: 1 }, false],
    // The last update domain, then the machines without one: another segment.
    [{ kind: 'availabilitySet', updateDomain: 4 }, { kind: 'availabilitySet' }, false],
    [{ kind: 'standalone' }, { kind: 'standalone' }, true],
    // A one-lane region: a step with a zone part, then one whose zone part is over.
    [{ kind: 'zone', zone: '1', updateDomain: 0 }, { kind: 'availabilitySet', updateDomain: 0 }, false],
    [{ kind: 'zone', zone: '1', updateDomain: 0 }, { kind: 'zone', zone: '1' }, false],
  ])('%j then %j: %s', (a, b, same) => expect(sameSegment(a, b)).toBe(same));
});

describe('keysOf: what a machine counts against', () => {
  it.each([
    [{ zone: '2' }, undefined, ['*', 'track:zone']],
    [{ availabilitySet: 'web' }, 'db', ['*', 'set:web', 'service:db']],
    [{ subscription: 'sub-a' }, undefined, ['*', 'track:standalone', 'subscription:sub-a']],
    [{}, 'db', ['*', 'track:standalone', 'service:db']],
  ])('%j, service %s', (m, service, keys) => expect(keysOf(m, service)).toEqual(keys));
});

describe('machineKeys: each machine its keys, equal keys one array', () => {
  it('shares the array of machines with equal keys, and tells apart names that only concatenate alike', () => {
    const machines = [
      { zone: '1', tags: { svc: 'db' } },
      { zone: '2', tags: { svc: 'db' } },
      { availabilitySet: 'a', subscription: 'b' },
      { availabilitySet: 'a\nb' },
      { subscription: 'x' },
    ];
    const keys = machineKeys(machines, (m) => (m as { tags?: Record<string, string> }).tags?.svc);
    expect(keys(0)).toBe(keys(1)); // the zone's id is no key: the segment keeps a follower in its zone
    expect(keys(0)).toEqual(['*', 'track:zone', 'service:db']);
    expect(keys(2)).toEqual(['*', 'set:a']);
    expect(keys(3)).toEqual(['*', 'set:a\nb']);
    expect(keys(4)).toEqual(['*', 'track:standalone', 'subscription:x']);
  });
});

describe('FollowerPlaces: a follower takes only the places its leader frees, key by key', () => {
  const zone = ['*', 'track:zone'];
  it('starts nothing while the leader is whole, then one machine per freed place, slowest first', () => {
    const places = new FollowerPlaces([zone, zone], [zone, zone, zone], [10, 30, 20]);
    expect(places.next()).toBeUndefined();
    places.end(zone);
    expect(places.next()).toBe(1);
    expect(places.next()).toBeUndefined();
    places.end(zone);
    expect(places.next()).toBe(2);
    places.end(zone); // the follower's own machine 1 ends
    expect(places.next()).toBe(0);
    expect(places.next()).toBeUndefined();
  });

  it("a freed place of one service does not start another service's machine", () => {
    const a = ['*', 'track:zone', 'service:a'];
    const b = ['*', 'track:zone', 'service:b'];
    const places = new FollowerPlaces([a, b], [b, a], [5, 5]);
    places.end(a);
    expect(places.next()).toBe(1);
    expect(places.next()).toBeUndefined();
  });

  it('a machine with a key its leader lacks never follows', () => {
    const web = ['*', 'set:web'];
    const db = ['*', 'set:db'];
    const places = new FollowerPlaces([web, web], [db], [5]);
    places.end(web);
    places.end(web);
    expect(places.next()).toBeUndefined();
  });

  it('stops at a machine that does not fit, which stays next', () => {
    const places = new FollowerPlaces([zone, zone], [zone, zone], [30, 10]);
    places.end(zone);
    places.end(zone);
    expect(places.next((item) => item !== 0)).toBeUndefined();
    expect(places.next()).toBe(0);
    expect(places.next()).toBe(1);
  });

  it('ties go to the machine listed first', () => {
    const places = new FollowerPlaces([zone], [zone, zone], [7, 7]);
    places.end(zone);
    expect(places.next()).toBe(0);
  });
});

describe('pipelinedRound: the availability rules hold at every instant', () => {
  const KEYS = [
    ['*', 'set:a'],
    ['*', 'set:b'],
    ['*', 'set:a', 'service:x'],
    ['*', 'track:standalone', 'subscription:s1'],
    ['*', 'track:standalone', 'service:x'],
  ];
  const laneArb = fc.array(
    fc.record({
      segment: fc.integer({ min: 0, max: 2 }),
      machines: fc.array(
        fc.record({
          key: fc.integer({ min: 0, max: KEYS.length - 1 }),
          minutes: fc.integer({ min: 1, max: 50 }),
        }),
        { minLength: 1, maxLength: 7 },
      ),
    }),
    { minLength: 1, maxLength: 6 },
  );

  it('running machines are of one step, or of a step and its follower, never more of a key than the step had', () => {
    fc.assert(
      fc.property(laneArb, (lane) => {
        let next = 0;
        const stepOf: number[] = [];
        const keys: string[][] = [];
        const minutes: number[] = [];
        const steps: PipelinedStep[] = lane.map((step, s) => ({
          segment: { kind: 'zone', zone: String(step.segment) },
          items: step.machines.map((m) => {
            stepOf.push(s);
            keys.push(KEYS[m.key]);
            minutes.push(m.minutes);
            return next++;
          }),
        }));
        const startAt = new Float64Array(next).fill(NaN);
        const endAt = new Float64Array(next).fill(NaN);
        const round = pipelinedRound(steps, 0, {
          keys: (i) => keys[i],
          minutes: (i) => minutes[i],
          attempt: (i, at) => at + minutes[i],
          // Some machines do not fit when they would follow: they wait for their leader instead.
          fits: (i, at) => (i + at) % 3 !== 0,
          deadline: Infinity,
          startAt,
          endAt,
        });
        for (let i = 0; i < next; i++) expect(Number.isNaN(startAt[i])).toBe(false);
        // At every start: the machines down, by step.
        for (let j = 0; j < next; j++) {
          const at = startAt[j];
          const down = [...Array(next).keys()].filter((i) => startAt[i] <= at && at < endAt[i]);
          const downSteps = [...new Set(down.map((i) => stepOf[i]))].sort((a, b) => a - b);
          expect(downSteps.length).toBeLessThanOrEqual(2);
          if (downSteps.length < 2) continue;
          const [leader, follower] = downSteps;
          expect(follower).toBe(leader + 1);
          expect(lane[follower].segment).toBe(lane[leader].segment);
          const count = (items: number[], key: string) => items.filter((i) => keys[i].includes(key)).length;
          const leaderItems = steps[leader].items as number[];
          for (const key of new Set(down.flatMap((i) => keys[i])))
            expect(count(down, key)).toBeLessThanOrEqual(count(leaderItems, key));
        }
        // Without windows, starting a machine earlier never ends it later: never slower than the steps.
        let stepsFinish = 0;
        for (const step of steps) stepsFinish += Math.max(...step.items.map((i) => minutes[i]));
        expect(round.finishAt).toBeLessThanOrEqual(stepsFinish);
        round.spans.forEach((span, s) =>
          expect(span.finishAt).toBe(Math.max(...steps[s].items.map((i) => endAt[i]))),
        );
      }),
      { numRuns: Number(process.env.OFFPEAK_PROPERTY_RUNS ?? 300) },
    );
  });
});
