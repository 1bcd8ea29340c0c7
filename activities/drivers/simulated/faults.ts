/** The `simulation` knobs of a fleet machine, read defensively from the untyped `MachineTarget.simulation`. */
export interface SimulationKnobs {
  seed?: number;
  installSeconds?: number;
  rebootSeconds?: number;
  failInstall?: boolean | number;
  pendingPatches?: boolean | number;
  unhealthyAfterReboot?: boolean;
  unreachable?: boolean | number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isSwitch = (v: unknown): v is boolean | number => typeof v === 'boolean' || isCount(v);

/** Keeps only well-typed knobs; the fleet parser has validated them already, this only guards the boundary. */
export function readKnobs(simulation: Record<string, unknown> | undefined): SimulationKnobs {
  const s = simulation ?? {};
  const knobs: SimulationKnobs = {};
  if (typeof s.seed === 'number' && Number.isInteger(s.seed)) knobs.seed = s.seed;
  if (isCount(s.installSeconds)) knobs.installSeconds = s.installSeconds;
  if (isCount(s.rebootSeconds)) knobs.rebootSeconds = s.rebootSeconds;
  if (isSwitch(s.failInstall)) knobs.failInstall = s.failInstall;
  if (isSwitch(s.pendingPatches)) knobs.pendingPatches = s.pendingPatches;
  if (typeof s.unhealthyAfterReboot === 'boolean') knobs.unhealthyAfterReboot = s.unhealthyAfterReboot;
  if (isSwitch(s.unreachable)) knobs.unreachable = s.unreachable;
  return knobs;
}

/**
 * Whether a fault applies on an attempt (from 1): `true` on every attempt, a count `n` on attempts
 * 1..n (so `1` fails the first attempt and lets the retry succeed), `false`/`0`/absent never.
 */
export function faultOn(knob: boolean | number | undefined, attempt: number): boolean {
  if (knob === true) return true;
  if (typeof knob === 'number') return attempt <= knob;
  return false;
}
