import type { Machine } from '../../domain/fleet';
import type { RegionPlan } from '../../domain/plan';

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

/**
 * A region's lanes and the most machines they have down at once together (each lane's widest step):
 * what Temporal must let the region's workflow run as children at once.
 */
export function regionAtOnce(region: Pick<RegionPlan, 'steps'>): { lanes: number; machines: number } {
  const widest = new Map<number, number>();
  for (const s of region.steps) widest.set(s.lane, Math.max(widest.get(s.lane) ?? 0, s.machines.length));
  return { lanes: widest.size, machines: [...widest.values()].reduce((n, m) => n + m, 0) };
}
