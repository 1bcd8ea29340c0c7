/**
 * What the emulator's machines hold and how installPatches chooses among it, as Azure documents the
 * request (VirtualMachineInstallPatchesParameters): classifications and include lists add patches, the
 * exclude lists and `excludeKbsRequiringReboot` take them away.
 */

export interface EmulatedPatch {
  /** Windows: the KB number without "KB". */
  kbId?: string;
  name: string;
  /** Linux: the package version. */
  version?: string;
  /** As results carry them: "Security Updates", "Critical Updates", "Update Rollups" (Windows); "Security", "Critical", "Other" (Linux). */
  classifications: string[];
  rebootBehavior: 'NeverReboots' | 'AlwaysRequiresReboot' | 'CanRequestReboot';
}

/** Result category names by request enum name (Windows); Linux uses the same words in both. */
const WINDOWS_REQUEST_NAMES: Record<string, string> = {
  'critical updates': 'Critical',
  'security updates': 'Security',
  'update rollups': 'UpdateRollup',
  'feature packs': 'FeaturePack',
  'service packs': 'ServicePack',
  'definition updates': 'Definition',
  tools: 'Tools',
  updates: 'Updates',
};

export function requestClasses(p: EmulatedPatch): string[] {
  return p.classifications.map((c) => (WINDOWS_REQUEST_NAMES[c.toLowerCase()] ?? c).toLowerCase());
}

/** The key Azure's Linux masks match: name_version (a mask may end in "*"). */
function maskMatches(mask: string, p: EmulatedPatch): boolean {
  const full = `${p.name}_${p.version ?? ''}`;
  if (mask.endsWith('*')) return full.startsWith(mask.slice(0, -1)) || p.name.startsWith(mask.slice(0, -1));
  return mask === full || mask === p.name;
}

export type Choice = 'selected' | 'excluded' | 'notSelected';

export function choose(p: EmulatedPatch, body: InstallBody): Choice {
  const w = body.windowsParameters;
  const l = body.linuxParameters;
  const classes = (w?.classificationsToInclude ?? l?.classificationsToInclude ?? []).map((c) =>
    c.toLowerCase(),
  );
  const byClass = requestClasses(p).some((c) => classes.includes(c));
  if (w) {
    const kb = (p.kbId ?? '').replace(/^kb/i, '');
    const norm = (k: string) => k.replace(/^kb/i, '');
    if ((w.kbNumbersToExclude ?? []).map(norm).includes(kb)) return 'excluded';
    if (w.excludeKbsRequiringReboot && p.rebootBehavior === 'AlwaysRequiresReboot') return 'excluded';
    return byClass || (w.kbNumbersToInclude ?? []).map(norm).includes(kb) ? 'selected' : 'notSelected';
  }
  if ((l?.packageNameMasksToExclude ?? []).some((m) => maskMatches(m, p))) return 'excluded';
  return byClass || (l?.packageNameMasksToInclude ?? []).some((m) => maskMatches(m, p))
    ? 'selected'
    : 'notSelected';
}

export interface InstallBody {
  maximumDuration?: string;
  rebootSetting?: string;
  windowsParameters?: {
    classificationsToInclude?: string[];
    kbNumbersToInclude?: string[];
    kbNumbersToExclude?: string[];
    excludeKbsRequiringReboot?: boolean;
  };
  linuxParameters?: {
    classificationsToInclude?: string[];
    packageNameMasksToInclude?: string[];
    packageNameMasksToExclude?: string[];
  };
}

const DURATION = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/;

/** The request's problems, in ARM's words for a bad parameter (400 InvalidParameter). */
export function installBodyProblem(body: InstallBody, os: 'Windows' | 'Linux'): string | undefined {
  const d = DURATION.exec(body.maximumDuration ?? '');
  if (!d || (!d[1] && !d[2] && !d[3]))
    return `maximumDuration "${body.maximumDuration}" is not an ISO 8601 duration`;
  const minutes = Number(d[1] ?? 0) * 60 + Number(d[2] ?? 0) + Number(d[3] ?? 0) / 60;
  if (minutes > 240) return `maximumDuration ${body.maximumDuration} exceeds PT4H`;
  if (!['IfRequired', 'Never', 'Always'].includes(body.rebootSetting ?? ''))
    return `rebootSetting "${body.rebootSetting}" is not IfRequired, Never or Always`;
  if (os === 'Windows' && !body.windowsParameters)
    return 'windowsParameters is required for a Windows machine';
  if (os === 'Linux' && !body.linuxParameters) return 'linuxParameters is required for a Linux machine';
  return undefined;
}

/** A patch's key in the emulator's state and ledger: the KB number, or name_version. */
export const keyOf = (os: 'Windows' | 'Linux', p: EmulatedPatch) =>
  os === 'Windows' ? (p.kbId ?? p.name) : `${p.name}_${p.version ?? ''}`;
