import { z } from 'zod';
import { azureSettingsSchema, parseAzureResourceId, SUBSCRIPTION_ID } from './azure-resource';
import { type Parsed, type Problem, problemsFromZod, reservedKeyProblems } from './problems';
import { isDeclaredRegion, type RegionPairs } from './regions';
import { resolveTimeZone } from './timezones';
import { maintenanceConfigurationSchema, parseMaintenanceConfiguration } from './windows';

import {
  DRIVERS,
  FLEET_BOUNDS,
  ID_NAME,
  ID_NAME_MESSAGE,
  NO_CONTROL,
  NO_CONTROL_MESSAGE,
  OS_TYPES,
  type OsType,
  PATCH_MODES,
  type PatchMode,
  SITE_NAME,
  ZONES,
} from './fleet-rules';
import { fastMachine } from './fleet-fast';

/** The fleet file is a public contract: its names and bounds are in fleet-rules.ts. */
export { DRIVERS, FLEET_BOUNDS, PATCH_MODES } from './fleet-rules';
export type { DriverKind, OsType, PatchMode } from './fleet-rules';

/** A name of the fleet's own (an availability set, a tag, a configuration): printable, at most 100 characters. */
export const labelSchema = z
  .string()
  .min(1)
  .max(FLEET_BOUNDS.nameLength)
  .regex(NO_CONTROL, NO_CONTROL_MESSAGE);
/** Region names end up in workflow IDs: letters, digits, ".", "_", "-". */
const regionSchema = z.string().min(1).max(FLEET_BOUNDS.nameLength).regex(ID_NAME, ID_NAME_MESSAGE);
const faultCount = z.union([z.boolean(), z.number().int().nonnegative().max(FLEET_BOUNDS.faultCount)]);

const simulationSchema = z
  .object({
    /** Seed of this machine's patch set and faults; defaults to a hash of the machine name. */
    seed: z.number().int().optional(),
    installSeconds: z.number().nonnegative().max(FLEET_BOUNDS.simulatedSeconds).optional(),
    rebootSeconds: z.number().nonnegative().max(FLEET_BOUNDS.simulatedSeconds).optional(),
    /** Installs fail on this many attempts (true: on every attempt). */
    failInstall: faultCount.optional(),
    /** Patches stay Pending (the window "runs out") on this many attempts. */
    pendingPatches: faultCount.optional(),
    /** The machine fails its health check after a reboot. */
    unhealthyAfterReboot: z.boolean().optional(),
    /** The machine cannot be reached on this many attempts (true: never). */
    unreachable: faultCount.optional(),
  })
  .strict();

/**
 * How the `ssh` driver reaches a machine. The key is a reference (a file path on the worker, or the
 * name of an environment variable of the worker holding the key), never the key itself; the host key
 * is pinned by its fingerprint, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it.
 */
export const sshSettingsSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'must be a host name or an IP address'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a plain user name (lower case, digits, "_", "-")'),
    keyRef: z.union([
      z
        .object({
          path: z
            .string()
            .min(1)
            .max(4096)
            .refine(
              (p) => !/[\n\r]/.test(p) && !p.includes('PRIVATE KEY'),
              'must be a path to a key file, not a key',
            ),
        })
        .strict(),
      z
        .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') })
        .strict(),
    ]),
    hostKeySha256: z
      .string()
      .regex(
        /^SHA256:[A-Za-z0-9+/]{43}$/,
        'must be the pinned host key fingerprint as `ssh-keygen -lf` prints it: SHA256: and 43 base64 characters',
      ),
    /** Health beyond SSH reachability: a command run on the host (argv, exit 0 is healthy), an HTTP probe (2xx). */
    health: z
      .object({
        command: z
          .array(z.string().min(1).max(4096).regex(NO_CONTROL, NO_CONTROL_MESSAGE))
          .min(1)
          .max(64)
          .optional(),
        httpUrl: z
          .string()
          .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type SshSettings = z.infer<typeof sshSettingsSchema>;

const imageSchema = z.object({ publisher: labelSchema, offer: labelSchema, sku: labelSchema }).strict();

const machineSchema = z
  .object({
    name: z.string().min(1).max(FLEET_BOUNDS.machineNameLength).regex(ID_NAME, ID_NAME_MESSAGE),
    region: regionSchema,
    zone: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(ZONES)).optional(),
    availabilitySet: labelSchema.optional(),
    updateDomain: z
      .number()
      .int()
      .min(0)
      .max(FLEET_BOUNDS.updateDomains - 1)
      .optional(),
    faultDomain: z
      .number()
      .int()
      .min(0)
      .max(FLEET_BOUNDS.faultDomains - 1)
      .optional(),
    os: z.enum(OS_TYPES),
    image: imageSchema.optional(),
    patchMode: z.enum(PATCH_MODES).optional(),
    timeZone: z.string().min(1).max(FLEET_BOUNDS.nameLength).default('UTC'),
    /** Name of an entry of the fleet's `maintenanceConfigurations`; without one, the policy's off-peak hours apply. */
    maintenanceConfiguration: labelSchema.optional(),
    /**
     * The Azure subscription the machine belongs to (a GUID); with `driver: azure` it is the resource ID's
     * and may be left out. Standalone machines of one subscription are spread over batches (docs/planner.md).
     */
    subscription: z.string().regex(SUBSCRIPTION_ID, 'must be an Azure subscription ID (a GUID)').optional(),
    /** Site whose task queue runs this machine's activities (a worker placed next to the machines). */
    site: z.string().max(FLEET_BOUNDS.nameLength).regex(SITE_NAME).optional(),
    tags: z
      .record(
        z.string().min(1).max(FLEET_BOUNDS.tagNameLength).regex(NO_CONTROL, NO_CONTROL_MESSAGE),
        z.string().max(FLEET_BOUNDS.tagValueLength).regex(NO_CONTROL, NO_CONTROL_MESSAGE),
      )
      .refine((tags) => Object.keys(tags).length <= FLEET_BOUNDS.tags, `at most ${FLEET_BOUNDS.tags} tags`)
      .default({}),
    driver: z.enum(DRIVERS).default('simulated'),
    simulation: simulationSchema.optional(),
    /** Connection settings of the `ssh` driver; present exactly when `driver` is `ssh`. */
    ssh: sshSettingsSchema.optional(),
    /** The Azure VM or Arc machine the `azure` driver patches; present exactly when `driver` is `azure`. */
    azure: azureSettingsSchema.optional(),
    /** Expected durations, for the plan's estimate. */
    durations: z
      .object({
        installMinutes: z.number().positive().max(FLEET_BOUNDS.expectedMinutes),
        rebootMinutes: z.number().nonnegative().max(FLEET_BOUNDS.expectedMinutes),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A machine's fields, in the schema's order (the fast path, fleet-fast.ts, knows each of them). */
export const MACHINE_FIELDS: readonly string[] = Object.keys(machineSchema.shape);

/** The document's top level; machines are checked one by one so every problem is reported at once. */
const fleetSchema = z
  .object({
    machines: z.array(z.unknown()).min(1, 'a fleet needs at least one machine'),
    regionPairs: z.record(regionSchema, regionSchema.nullable()).default({}),
    maintenanceConfigurations: z.record(labelSchema, maintenanceConfigurationSchema).default({}),
  })
  .strict();

type MachineInput = z.infer<typeof machineSchema>;

export interface Machine extends Omit<MachineInput, 'patchMode' | 'timeZone'> {
  patchMode: PatchMode;
  /** In lower case; an azure machine's is its resource ID's when the fleet names none. */
  subscription?: string;
  /** Canonical IANA name (Windows names are resolved). */
  timeZone: string;
}

export interface Fleet {
  machines: Machine[];
  regionPairs: RegionPairs;
  maintenanceConfigurations: z.infer<typeof fleetSchema>['maintenanceConfigurations'];
}

/** Azure's defaults when a machine names no patch mode. */
export function defaultPatchMode(os: OsType): PatchMode {
  return os === 'Windows' ? 'AutomaticByOS' : 'ImageDefault';
}

/**
 * Validates a parsed fleet document; every problem is reported at once. Machines in the common fields
 * take the schema's fast path (fleet-fast.ts); `fast: false` sends every machine through the schema,
 * for the test that holds both equal.
 */
export function parseFleet(input: unknown, options: { fast: boolean } = { fast: true }): Parsed<Fleet> {
  const result = fleetSchema.safeParse(input);
  const machinesOnly = z
    .object({ machines: z.array(z.unknown()) })
    .passthrough()
    .safeParse(input);
  if (!result.success && !machinesOnly.success) return { ok: false, problems: problemsFromZod(result.error) };
  const problems: Problem[] = result.success ? [] : problemsFromZod(result.error);
  const document = input as Record<string, unknown>;
  problems.push(
    ...reservedKeyProblems(document.regionPairs, 'regionPairs'),
    ...reservedKeyProblems(document.maintenanceConfigurations, 'maintenanceConfigurations'),
  );
  const raw = result.success
    ? result.data
    : {
        machines: machinesOnly.success ? machinesOnly.data.machines : [],
        regionPairs: {},
        maintenanceConfigurations: {},
      };
  const seen = new Map<string, number>();
  // Names as written (own keys only), so an invalid configuration is not also reported as missing.
  const configs = document.maintenanceConfigurations;
  const configNames = new Set(typeof configs === 'object' && configs !== null ? Object.keys(configs) : []);

  for (const [name, config] of Object.entries(raw.maintenanceConfigurations)) {
    const parsed = parseMaintenanceConfiguration(config);
    if (!parsed.ok)
      for (const p of parsed.problems)
        problems.push({
          path: `maintenanceConfigurations.${name}${p.path ? `.${p.path}` : ''}`,
          message: p.message,
        });
  }

  const machines: Machine[] = [];
  raw.machines.forEach((input, i) => {
    const at = `machines[${i}]`;
    const name = (input as { name?: unknown } | null)?.name;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined)
        problems.push({ path: `${at}.name`, message: `duplicate name "${name}" (also machines[${first}])` });
      else seen.set(name, i);
    }
    problems.push(...reservedKeyProblems((input as { tags?: unknown } | null)?.tags, `${at}.tags`));
    const fast = options.fast ? (fastMachine(input) as MachineInput | undefined) : undefined;
    const parsed = fast ? { success: true as const, data: fast } : machineSchema.safeParse(input);
    if (!parsed.success) {
      problems.push(...problemsFromZod(parsed.error, at));
      return;
    }
    const m = parsed.data;
    if (m.zone !== undefined && m.availabilitySet !== undefined)
      problems.push({ path: at, message: 'a machine cannot have both "zone" and "availabilitySet"' });
    if (m.updateDomain !== undefined && m.availabilitySet === undefined)
      problems.push({ path: `${at}.updateDomain`, message: 'is only valid with "availabilitySet"' });
    if (m.faultDomain !== undefined && m.availabilitySet === undefined)
      problems.push({ path: `${at}.faultDomain`, message: 'is only valid with "availabilitySet"' });
    if (!isDeclaredRegion(m.region, raw.regionPairs))
      problems.push({
        path: `${at}.region`,
        message: `unknown region "${m.region}": use an Azure region name or declare its pair under "regionPairs"`,
      });
    if (m.driver === 'ssh' && !m.ssh)
      problems.push({ path: `${at}.ssh`, message: 'is required with driver "ssh"' });
    if (m.driver !== 'ssh' && m.ssh)
      problems.push({ path: `${at}.ssh`, message: 'is only valid with driver "ssh"' });
    if (m.driver === 'azure' && !m.azure)
      problems.push({ path: `${at}.azure`, message: 'is required with driver "azure" (azure.resourceId)' });
    if (m.driver !== 'azure' && m.azure)
      problems.push({ path: `${at}.azure`, message: 'is only valid with driver "azure"' });
    if (m.driver === 'ssh' && m.os !== 'Linux')
      problems.push({ path: `${at}.os`, message: 'the ssh driver patches Linux machines only' });
    const subscription = subscriptionOf(m, at, problems);
    const timeZone = resolveTimeZone(m.timeZone);
    if (!timeZone) problems.push({ path: `${at}.timeZone`, message: `unknown time zone "${m.timeZone}"` });
    if (m.maintenanceConfiguration !== undefined && !configNames.has(m.maintenanceConfiguration))
      problems.push({
        path: `${at}.maintenanceConfiguration`,
        message: `no maintenance configuration named "${m.maintenanceConfiguration}"`,
      });
    // Completed in place: the schema and the fast path both give an object of their own, and a field
    // set here lands where a copy would put it (an existing one in its place, a new one at the end).
    const machine = m as Machine;
    machine.patchMode = m.patchMode ?? defaultPatchMode(m.os);
    machine.timeZone = timeZone ?? m.timeZone;
    if (subscription !== undefined) machine.subscription = subscription;
    machines.push(machine);
  });

  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    value: {
      machines,
      regionPairs: raw.regionPairs,
      maintenanceConfigurations: raw.maintenanceConfigurations,
    },
  };
}

/** A machine's subscription: as written, or its azure resource ID's; a mismatch is a problem. */
function subscriptionOf(m: MachineInput, at: string, problems: Problem[]): string | undefined {
  const written = m.subscription?.toLowerCase();
  const resource = m.azure ? parseAzureResourceId(m.azure.resourceId) : undefined;
  const fromId = resource?.ok ? resource.value.subscriptionId.toLowerCase() : undefined;
  if (written !== undefined && fromId !== undefined && written !== fromId)
    problems.push({
      path: `${at}.subscription`,
      message: `"${m.subscription}" is not the subscription of azure.resourceId (${fromId})`,
    });
  return written ?? fromId;
}
