/**
 * The fleet file's names and bounds, in one place for the schema (fleet.ts) and its fast path
 * (fleet-fast.ts). The fleet file is a public contract: these field names and values are stable.
 */

export const PATCH_MODES = ['AutomaticByPlatform', 'AutomaticByOS', 'Manual', 'ImageDefault'] as const;
export type PatchMode = (typeof PATCH_MODES)[number];
export const OS_TYPES = ['Linux', 'Windows'] as const;
export type OsType = (typeof OS_TYPES)[number];
/** How a machine is patched. `simulated` patches nothing: every output that shows such a machine says so. */
export const DRIVERS = ['simulated', 'ssh', 'azure'] as const;
export type DriverKind = (typeof DRIVERS)[number];
/** Zones as a fleet names them ("1" to "3"; a number is read as its digits). */
export const ZONES = ['1', '2', '3'] as const;

/**
 * Bounds on every number and name of a fleet, so that no value can make a timer infinite or a payload
 * huge: simulated durations up to a day, fault counts up to 1,000, expected minutes up to a day. Tags
 * take Azure's own limits (50 per resource, names up to 512 characters, values up to 256).
 */
export const FLEET_BOUNDS = {
  simulatedSeconds: 86_400,
  faultCount: 1000,
  expectedMinutes: 1440,
  nameLength: 100,
  machineNameLength: 200,
  tagNameLength: 512,
  tagValueLength: 256,
  tags: 50,
  updateDomains: 20,
  faultDomains: 3,
} as const;

// eslint-disable-next-line no-control-regex
export const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
export const NO_CONTROL_MESSAGE = 'must not contain control characters';
/** Machine and region names end up in workflow IDs: letters, digits, ".", "_", "-". */
export const ID_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const ID_NAME_MESSAGE =
  'must start with a letter or digit and hold only letters, digits, ".", "_" or "-"';
/** A site names a task queue. */
export const SITE_NAME = /^[A-Za-z0-9._-]+$/;
