import { SUBSCRIPTION_ID } from './azure-resource';
import {
  DRIVERS,
  FLEET_BOUNDS,
  ID_NAME,
  NO_CONTROL,
  OS_TYPES,
  PATCH_MODES,
  SITE_NAME,
  ZONES,
} from './fleet-rules';
import { RESERVED_KEYS } from './problems';

/**
 * The fast path of a machine's schema (fleet.ts): zod takes about 20 µs a machine, 20 s for a fleet of a
 * million. A machine written in the common fields only (no `simulation`, `ssh` or `azure`), every one of
 * them valid, is checked here by the same rules and comes out as the schema would give it: the same
 * fields in the same order, the same defaults. Anything else, a wrong value or an unusual field, is
 * left to the schema (`undefined`), which then names every problem: so this path never reports a
 * problem and never accepts what the schema refuses. test/unit/fleet-fast.test.ts holds the two equal
 * on hostile documents.
 */

type Doc = Record<string, unknown>;

/** The schema's fields; `true`: the fast path checks it (the others send the machine to the schema). */
export const FIELDS: Readonly<Record<string, boolean>> = {
  name: true,
  region: true,
  zone: true,
  availabilitySet: true,
  updateDomain: true,
  faultDomain: true,
  os: true,
  image: true,
  patchMode: true,
  timeZone: true,
  maintenanceConfiguration: true,
  subscription: true,
  site: true,
  tags: true,
  driver: true,
  simulation: false,
  ssh: false,
  azure: false,
  durations: true,
};

const isPlain = (v: unknown): v is Doc =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

const isString = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;

const isLabel = (v: unknown): v is string => isString(v, 1, FLEET_BOUNDS.nameLength) && NO_CONTROL.test(v);

const isIntIn = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

const isMinutes = (v: unknown, positive: boolean): v is number =>
  typeof v === 'number' &&
  (positive ? v > 0 : v >= 0) &&
  v <= FLEET_BOUNDS.expectedMinutes &&
  Number.isFinite(v);

const oneOf = (list: readonly string[], v: unknown): boolean => typeof v === 'string' && list.includes(v);

/** The value the machine schema gives for `input`, or undefined: then the schema must read it. */
export function fastMachine(input: unknown): Doc | undefined {
  if (!isPlain(input)) return undefined;
  for (const key in input)
    if (!Object.hasOwn(FIELDS, key) || !FIELDS[key] || input[key] === undefined) return undefined;
  // Every own key holds a value (checked above), so a field is present exactly when it is defined.
  const v = input;
  if (!(isString(v.name, 1, FLEET_BOUNDS.machineNameLength) && ID_NAME.test(v.name))) return undefined;
  if (!(isString(v.region, 1, FLEET_BOUNDS.nameLength) && ID_NAME.test(v.region))) return undefined;
  const zone = typeof v.zone === 'number' ? String(v.zone) : v.zone;
  if (zone !== undefined && !oneOf(ZONES, zone)) return undefined;
  if (v.availabilitySet !== undefined && !isLabel(v.availabilitySet)) return undefined;
  if (v.updateDomain !== undefined && !isIntIn(v.updateDomain, 0, FLEET_BOUNDS.updateDomains - 1))
    return undefined;
  if (v.faultDomain !== undefined && !isIntIn(v.faultDomain, 0, FLEET_BOUNDS.faultDomains - 1))
    return undefined;
  if (!oneOf(OS_TYPES, v.os)) return undefined;
  if (v.patchMode !== undefined && !oneOf(PATCH_MODES, v.patchMode)) return undefined;
  if (v.timeZone !== undefined && !isString(v.timeZone, 1, FLEET_BOUNDS.nameLength)) return undefined;
  if (v.maintenanceConfiguration !== undefined && !isLabel(v.maintenanceConfiguration)) return undefined;
  if (
    v.subscription !== undefined &&
    !(typeof v.subscription === 'string' && SUBSCRIPTION_ID.test(v.subscription))
  )
    return undefined;
  if (v.site !== undefined && !(isString(v.site, 0, FLEET_BOUNDS.nameLength) && SITE_NAME.test(v.site)))
    return undefined;
  // The drivers with settings of their own (ssh, azure) are the schema's to check.
  if (v.driver !== undefined && v.driver !== DRIVERS[0]) return undefined;
  const image = v.image === undefined ? undefined : fastImage(v.image);
  if (v.image !== undefined && !image) return undefined;
  const durations = v.durations === undefined ? undefined : fastDurations(v.durations);
  if (v.durations !== undefined && !durations) return undefined;
  if (v.tags !== undefined && !fastTags(v.tags)) return undefined;

  // The schema's output: its fields in its order, defaults filled in.
  const out: Doc = { name: v.name, region: v.region };
  if (zone !== undefined) out.zone = zone;
  if (v.availabilitySet !== undefined) out.availabilitySet = v.availabilitySet;
  if (v.updateDomain !== undefined) out.updateDomain = v.updateDomain;
  if (v.faultDomain !== undefined) out.faultDomain = v.faultDomain;
  out.os = v.os;
  if (image) out.image = image;
  if (v.patchMode !== undefined) out.patchMode = v.patchMode;
  out.timeZone = v.timeZone ?? 'UTC';
  if (v.maintenanceConfiguration !== undefined) out.maintenanceConfiguration = v.maintenanceConfiguration;
  if (v.subscription !== undefined) out.subscription = v.subscription;
  if (v.site !== undefined) out.site = v.site;
  out.tags = v.tags ?? {};
  out.driver = v.driver ?? DRIVERS[0];
  if (durations) out.durations = durations;
  return out;
}

/** The schema copies a nested object in its own field order: the input itself when it has that order. */
function inOrder(value: Doc, keys: readonly string[]): Doc {
  let k = 0;
  for (const key in value) if (key !== keys[k++]) return Object.fromEntries(keys.map((x) => [x, value[x]]));
  return value;
}

function fastImage(value: unknown): Doc | undefined {
  if (!isPlain(value)) return undefined;
  let n = 0;
  for (const key in value) {
    if (key !== 'publisher' && key !== 'offer' && key !== 'sku') return undefined;
    if (!isLabel(value[key])) return undefined;
    n++;
  }
  return n === 3 ? inOrder(value, ['publisher', 'offer', 'sku']) : undefined;
}

function fastDurations(value: unknown): Doc | undefined {
  if (!isPlain(value)) return undefined;
  let n = 0;
  for (const key in value) {
    if (key !== 'installMinutes' && key !== 'rebootMinutes') return undefined;
    n++;
  }
  if (n !== 2 || !isMinutes(value.installMinutes, true) || !isMinutes(value.rebootMinutes, false))
    return undefined;
  return inOrder(value, ['installMinutes', 'rebootMinutes']);
}

/** Tags as the schema's record gives them: the input itself, unless a key is reserved (the schema drops it). */
function fastTags(value: unknown): boolean {
  if (!isPlain(value)) return false;
  let n = 0;
  for (const key in value) {
    const tag = value[key];
    if (++n > FLEET_BOUNDS.tags || (RESERVED_KEYS as readonly string[]).includes(key)) return false;
    if (!(isString(key, 1, FLEET_BOUNDS.tagNameLength) && NO_CONTROL.test(key))) return false;
    if (!(isString(tag, 0, FLEET_BOUNDS.tagValueLength) && NO_CONTROL.test(tag))) return false;
  }
  return true;
}
