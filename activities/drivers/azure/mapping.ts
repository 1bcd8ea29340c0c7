import type { AzureMachineKind } from '../../../domain/azure-resource';
import type { OsType } from '../../../domain/fleet';
import type {
  Assessment,
  AvailablePatch,
  InstallResult,
  PatchInstallState,
  RebootBehavior,
} from '../../../domain/patches';
import type { Classification } from '../../../domain/policy';
import type { RebootSetting } from '../../../domain/policy';
import { DriverError } from '../driver';

/**
 * Between Azure's patch API bodies and Offpeak's patch model. Pure. Shapes follow the REST examples
 * VirtualMachine_AssessPatches.json, VirtualMachine_InstallPatches.json, Machine_AssessPatches.json and
 * Machine_InstallPatches.json (Azure/azure-rest-api-specs); test/fixtures/azure names each.
 */

export interface AzurePatch {
  patchId?: string;
  name?: string;
  version?: string;
  kbId?: string;
  classifications?: string[];
  rebootBehavior?: string;
  installationState?: string;
}

export interface AzureAssessResult {
  status?: string;
  rebootPending?: boolean;
  startDateTime?: string | Date;
  availablePatches?: AzurePatch[];
  /** Arc machines report counts only. */
  availablePatchCountByClassification?: Record<string, number | undefined>;
  error?: { message?: string } | null;
  errorDetails?: { message?: string } | null;
}

export interface AzureInstallResult {
  status?: string;
  rebootStatus?: string;
  maintenanceWindowExceeded?: boolean;
  installedPatchCount?: number;
  failedPatchCount?: number;
  pendingPatchCount?: number;
  patches?: AzurePatch[];
  error?: { message?: string } | null;
  errorDetails?: { message?: string } | null;
}

/** Windows Update category names as results carry them, and the enum names requests take, by Offpeak class. */
const WINDOWS_CLASSES: Array<{ result: string; request: string; offpeak: Classification }> = [
  { result: 'Critical Updates', request: 'Critical', offpeak: 'Critical' },
  { result: 'Security Updates', request: 'Security', offpeak: 'Security' },
  { result: 'Update Rollups', request: 'UpdateRollup', offpeak: 'Other' },
  { result: 'Feature Packs', request: 'FeaturePack', offpeak: 'Other' },
  { result: 'Service Packs', request: 'ServicePack', offpeak: 'Other' },
  { result: 'Definition Updates', request: 'Definition', offpeak: 'Other' },
  { result: 'Tools', request: 'Tools', offpeak: 'Other' },
  { result: 'Updates', request: 'Updates', offpeak: 'Other' },
];

function classOf(classifications: string[] | undefined): Classification {
  const names = (classifications ?? []).map((c) => c.toLowerCase());
  const known = WINDOWS_CLASSES.filter((w) =>
    names.some((n) => n === w.result.toLowerCase() || n === w.request.toLowerCase()),
  ).map((w) => w.offpeak);
  if (known.includes('Critical')) return 'Critical';
  if (known.includes('Security')) return 'Security';
  return 'Other';
}

const REBOOT: Record<string, RebootBehavior> = {
  neverreboots: 'NeverReboots',
  alwaysrequiresreboot: 'AlwaysRequiresReboot',
  canrequestreboot: 'CanRequestReboot',
};

/** Offpeak's patch id: `KB<number>` on Windows, `name=version` on Linux (the other drivers' form). */
export function offpeakPatchId(os: OsType, p: AzurePatch): string {
  if (os === 'Windows' && p.kbId) return `KB${p.kbId.replace(/^kb/i, '')}`;
  return p.version ? `${p.name}=${p.version}` : (p.name ?? p.patchId ?? 'unknown');
}

/** Arc machines' assessments give counts per classification, no list: one entry per non-empty class. */
export const ARC_PATCH_PREFIX = 'arc-class:';

function arcPatches(counts: Record<string, number | undefined>): AvailablePatch[] {
  const out: AvailablePatch[] = [];
  for (const [key, n] of Object.entries(counts)) {
    if (!n) continue;
    const w = WINDOWS_CLASSES.find((c) => c.request.toLowerCase() === key.toLowerCase());
    const classification: Classification =
      key.toLowerCase() === 'critical' ? 'Critical' : key.toLowerCase() === 'security' ? 'Security' : 'Other';
    out.push({
      patchId: `${ARC_PATCH_PREFIX}${w?.request ?? key[0].toUpperCase() + key.slice(1)}`,
      name: `${n} ${key} update(s) (Azure reports Arc machines' patches as counts)`,
      classification,
      rebootBehavior: 'CanRequestReboot',
      hotpatch: false,
    });
  }
  return out;
}

export function toAssessment(
  machine: string,
  os: OsType,
  kind: AzureMachineKind,
  r: AzureAssessResult,
  bootId: string,
): Assessment {
  const failure = r.error?.message ?? r.errorDetails?.message;
  if (r.status === 'Failed')
    throw new DriverError('Unreachable', `Azure's assessment failed${failure ? `: ${failure}` : ''}`);
  const patches =
    kind === 'arc' && !r.availablePatches
      ? arcPatches(r.availablePatchCountByClassification ?? {})
      : (r.availablePatches ?? []).map((p): AvailablePatch => ({
          patchId: offpeakPatchId(os, p),
          name: p.name ?? p.patchId ?? '',
          ...(p.kbId ? { kbId: `KB${p.kbId.replace(/^kb/i, '')}` } : {}),
          ...(p.version ? { version: p.version } : {}),
          classification: classOf(p.classifications),
          rebootBehavior: REBOOT[(p.rebootBehavior ?? '').toLowerCase()] ?? 'CanRequestReboot',
          hotpatch: false,
        }));
  const at = r.startDateTime instanceof Date ? r.startDateTime.toISOString() : r.startDateTime;
  return {
    machine,
    assessedAt: at ?? new Date().toISOString(),
    bootId,
    rebootPending: r.rebootPending ?? false,
    patches,
  };
}

/** An ISO 8601 duration in whole minutes, as installPatches' `maximumDuration` takes it (Azure allows up to PT4H). */
export function maximumDuration(deadline: number, now: number): string {
  const minutes = Math.max(1, Math.min(240, Math.floor((deadline - now) / 60_000)));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `PT${h ? `${h}H` : ''}${m || !h ? `${m}M` : ''}`;
}

/**
 * The installPatches request for exactly the patches Offpeak selected (docs/azure-driver.md): the
 * selection is already made from the assessment, so the request names the patches themselves and no
 * classification, which would pull in patches Offpeak left out. Arc machines, whose assessments give
 * only classes, are asked by class.
 */
export function installRequest(
  os: OsType,
  patchIds: readonly string[],
  deadline: number,
  now: number,
  rebootSetting: RebootSetting,
): Record<string, unknown> {
  const arcClasses = patchIds
    .filter((id) => id.startsWith(ARC_PATCH_PREFIX))
    .map((id) => id.slice(ARC_PATCH_PREFIX.length));
  const named = patchIds.filter((id) => !id.startsWith(ARC_PATCH_PREFIX));
  const base = { maximumDuration: maximumDuration(deadline, now), rebootSetting };
  if (os === 'Windows')
    return {
      ...base,
      windowsParameters: {
        classificationsToInclude: arcClasses,
        kbNumbersToInclude: named.map((id) => id.replace(/^KB/i, '')),
        excludeKbsRequiringReboot: false,
      },
    };
  return {
    ...base,
    linuxParameters: {
      classificationsToInclude: arcClasses,
      // Azure's format for a package with its version is name_version.
      packageNameMasksToInclude: named.map((id) => id.replace('=', '_')),
    },
  };
}

const STATES: Record<string, PatchInstallState> = {
  installed: 'Installed',
  failed: 'Failed',
  pending: 'Pending',
  excluded: 'Excluded',
  notselected: 'NotSelected',
};

/**
 * Offpeak's outcome of every selected patch. Patches Azure does not list, or lists as Unknown, are
 * Pending when the maintenance window was exceeded and Failed otherwise (never silently Installed);
 * Arc classes take the operation's counts.
 */
export function toInstallResult(
  os: OsType,
  patchIds: readonly string[],
  r: AzureInstallResult,
): InstallResult {
  const failure = r.error?.message ?? r.errorDetails?.message;
  if (r.status === 'Failed' && !r.patches?.length && !r.installedPatchCount)
    throw new DriverError('InstallFailed', `Azure's installPatches failed${failure ? `: ${failure}` : ''}`);
  const exceeded = r.maintenanceWindowExceeded ?? false;
  const byId = new Map((r.patches ?? []).map((p) => [offpeakPatchId(os, p), p]));
  const missing: PatchInstallState = exceeded ? 'Pending' : 'Failed';
  const arcState: PatchInstallState =
    (r.failedPatchCount ?? 0) > 0
      ? 'Failed'
      : exceeded || (r.pendingPatchCount ?? 0) > 0
        ? 'Pending'
        : 'Installed';
  const patches = patchIds.map((patchId) => {
    if (patchId.startsWith(ARC_PATCH_PREFIX)) return { patchId, state: arcState };
    const p = byId.get(patchId);
    const state = STATES[(p?.installationState ?? '').toLowerCase()] ?? missing;
    // A selected patch Azure did not install because the window ran out is Pending, whatever it says.
    return { patchId, state: exceeded && state === 'NotSelected' ? 'Pending' : state };
  });
  return {
    patches,
    rebootRequired: ['Completed', 'Started', 'Failed'].includes(r.rebootStatus ?? ''),
    maintenanceWindowExceeded: exceeded,
  };
}
