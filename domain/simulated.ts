import { inlineSpecOf } from './spec-slices';
import type { DriverKind, Fleet } from './fleet';
import type { RolloutInput } from './rollout-spec';

/**
 * The simulator patches nothing. Wherever a simulated machine appears (plan, rollout start, status,
 * report, compliance, fleet import, worker log) Offpeak says so; this module holds the one notice and
 * the marker a rollout carries. Pure.
 */

/** What a rollout records (in its memo) about its simulated machines: names up to a cap, always the count. */
export interface SimulatedMarker {
  count: number;
  all: boolean;
  /** Absent when more than NAMES_CAP machines are simulated (then only `all` or the count is known). */
  names?: string[];
}

export const SIMULATED_MEMO_KEY = 'offpeakSimulated';
const NAMES_CAP = 1000;

export function simulatedNames(machines: ReadonlyArray<{ name: string; driver: DriverKind }>): string[] {
  return machines.filter((m) => m.driver === 'simulated').map((m) => m.name);
}

export function simulatedMarker(names: readonly string[], total: number): SimulatedMarker | undefined {
  if (names.length === 0) return undefined;
  return {
    count: names.length,
    all: names.length === total,
    ...(names.length <= NAMES_CAP ? { names: [...names] } : {}),
  };
}

/**
 * The marker of a rollout about to start (its regions still inline): its planned machines with
 * `driver: simulated`. It goes into the rollout's memo only, never into the workflow input, which
 * carries no machine names once sliced (docs/scale.md).
 */
export function simulatedMarkerOf(
  fleet: Pick<Fleet, 'machines'>,
  input: Pick<RolloutInput, 'regions'>,
): SimulatedMarker | undefined {
  const driver = new Map(fleet.machines.map((m) => [m.name, m.driver]));
  const planned = input.regions.flatMap((r) => inlineSpecOf(r).machines.map((m) => m.name));
  return simulatedMarker(
    planned.filter((name) => driver.get(name) === 'simulated'),
    planned.length,
  );
}

/** Whether a marker names this machine; undefined when the marker cannot tell (too many names kept). */
export function isSimulated(marker: SimulatedMarker | undefined, name: string): boolean | undefined {
  if (!marker) return false;
  if (marker.all) return true;
  return marker.names ? marker.names.includes(name) : undefined;
}

/** The notice, one line: how many, which (the first few), and what it means. */
export function simulatedNotice(marker: SimulatedMarker | undefined, total?: number): string | undefined {
  if (!marker) return undefined;
  const which = marker.all
    ? 'all machines'
    : `${marker.count}${total !== undefined ? ` of ${total}` : ''} machine(s)${
        marker.names
          ? ` (${marker.names.slice(0, 5).join(', ')}${marker.names.length > 5 ? ', ...' : ''})`
          : ''
      }`;
  return `SIMULATED: ${which} use driver "simulated": the simulator patches nothing on them, and their results are not real (set driver: ssh or azure)`;
}
