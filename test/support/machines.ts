import type { Machine } from '../../domain/fleet';

export type MachineExtra = Partial<Omit<Machine, 'name' | 'region'>>;

/** A parsed fleet machine for pure planner tests: Linux, AutomaticByPlatform, UTC, simulated. */
export function machine(name: string, region: string, extra: MachineExtra = {}): Machine {
  return {
    name,
    region,
    os: 'Linux',
    patchMode: 'AutomaticByPlatform',
    timeZone: 'UTC',
    driver: 'simulated',
    tags: {},
    ...extra,
  };
}
