import type { AvailablePatch, ExclusionReason, PatchOutcome } from './patches';
import type { Classification } from './policy';

/**
 * Which of a machine's available patches an install takes, in the words of Azure's `installPatches`
 * request. Pure: no I/O, no Temporal.
 */
export interface SelectionCriteria {
  classifications: readonly Classification[];
  kbNumbersToInclude: readonly string[];
  kbNumbersToExclude: readonly string[];
  packageNameMasksToInclude: readonly string[];
  packageNameMasksToExclude: readonly string[];
  excludeKbsRequiringReboot: boolean;
  /** A hotpatch month on a hotpatch-capable image: only hotpatches are installed. */
  hotpatchOnly: boolean;
}

export interface Selection {
  /** Patch ids to install, in the order the patches were given. */
  selected: string[];
  /** One outcome per patch NOT selected ('Excluded' or 'NotSelected'), in the order given. */
  outcomes: PatchOutcome[];
}

/** The marketplace image fields that decide hotpatch support. */
export interface ImageReference {
  publisher: string;
  offer: string;
  sku: string;
}

const HOTPATCH_SKUS = new Set([
  '2022-datacenter-azure-edition-core',
  '2022-datacenter-azure-edition-core-smalldisk',
  '2022-datacenter-azure-edition-hotpatch',
  '2022-datacenter-azure-edition-hotpatch-smalldisk',
]);

/**
 * Whether a machine's image can take Windows hotpatches: publisher `MicrosoftWindowsServer`, offer
 * `WindowsServer`, and one of the skus `2022-Datacenter-Azure-Edition-Core`, `-Core-smalldisk`,
 * `-Hotpatch`, `-Hotpatch-smalldisk` (Microsoft's published list). All three fields compare
 * case-insensitively, as Azure treats image references; surrounding whitespace is ignored. A machine
 * without an image reference (a custom or unknown image) is not hotpatch-capable.
 */
export function isHotpatchCapable(image?: ImageReference): boolean {
  if (!image) return false;
  const norm = (s: string) => s.trim().toLowerCase();
  return (
    norm(image.publisher) === 'microsoftwindowsserver' &&
    norm(image.offer) === 'windowsserver' &&
    HOTPATCH_SKUS.has(norm(image.sku))
  );
}

/**
 * A KB number in canonical form: `KB5031234`, `kb5031234` and `5031234` are the same KB.
 * Whitespace is ignored and the comparison is case-insensitive.
 */
export function normalizeKb(kb: string): string {
  return kb.trim().toUpperCase().replace(/^KB/, '').trim();
}

/**
 * Whether a Linux package matches a mask of `packageNameMasksToInclude`/`ToExclude`. `*` stands for
 * any run of characters (Azure's example: `kernel*`); every other character is literal and the
 * comparison is case-sensitive, as Linux package names are. A mask matches the package name
 * (`openssl`), or, when the mask contains `=`, the patch id `name=version` (`openssl=3.0.2*`).
 */
export function matchesPackageMask(patch: Pick<AvailablePatch, 'name' | 'patchId'>, mask: string): boolean {
  const pattern = mask.trim();
  if (!pattern) return false;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return regex.test(pattern.includes('=') ? patch.patchId : patch.name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A Windows update carries a KB id; KB lists apply to those, package masks to the rest (Linux). */
function isKb(patch: AvailablePatch): patch is AvailablePatch & { kbId: string } {
  return patch.kbId !== undefined && patch.kbId !== '';
}

/**
 * Selects the patches an install takes, following Azure's `installPatches` semantics. Rules, in the
 * order they apply to each patch:
 *
 * 1. **Exclusions win over inclusions.** A KB listed in `kbNumbersToExclude`, or a package matching a
 *    mask of `packageNameMasksToExclude`, is `Excluded` even when an include list names it too.
 * 2. **`excludeKbsRequiringReboot`** excludes every KB whose reboot behaviour is not `NeverReboots`
 *    (`CanRequestReboot` counts as requiring one, as in Azure). Like Azure's parameter it applies to
 *    Windows KBs only; Linux packages are unaffected. State: `Excluded`.
 * 3. **Hotpatch months** (`hotpatchOnly`): any patch that is not a hotpatch is `Excluded`, so a
 *    hotpatch month never reboots the machine. This also holds for explicitly included patches.
 * 4. **Inclusion.** A patch is selected when its classification is in `classifications`, or when an
 *    include list names it: `kbNumbersToInclude` (Windows) or `packageNameMasksToInclude` (Linux). An
 *    include entry selects a patch whatever its classification.
 * 5. Anything else is `NotSelected`.
 *
 * KB numbers compare with or without the `KB` prefix, case-insensitively ({@link normalizeKb}). KB
 * lists only ever match Windows patches (those with a `kbId`) and package masks only Linux patches
 * (those without), as Azure takes them per OS.
 */
export function selectPatches(patches: readonly AvailablePatch[], criteria: SelectionCriteria): Selection {
  const kbInclude = new Set(criteria.kbNumbersToInclude.map(normalizeKb));
  const kbExclude = new Set(criteria.kbNumbersToExclude.map(normalizeKb));
  const classifications = new Set(criteria.classifications);
  const anyMask = (patch: AvailablePatch, masks: readonly string[]) =>
    masks.some((mask) => matchesPackageMask(patch, mask));

  const selected: string[] = [];
  const outcomes: PatchOutcome[] = [];
  for (const patch of patches) {
    const kb = isKb(patch) ? normalizeKb(patch.kbId) : undefined;
    // The first rule that applies is the reason given (the order of the rules above).
    const reason: ExclusionReason | undefined = (
      kb !== undefined ? kbExclude.has(kb) : anyMask(patch, criteria.packageNameMasksToExclude)
    )
      ? 'PolicyExclusion'
      : criteria.excludeKbsRequiringReboot && kb !== undefined && patch.rebootBehavior !== 'NeverReboots'
        ? 'RequiresReboot'
        : criteria.hotpatchOnly && !patch.hotpatch
          ? 'HotpatchMonth'
          : undefined;
    if (reason) {
      outcomes.push({ patchId: patch.patchId, state: 'Excluded', reason });
      continue;
    }
    const included =
      classifications.has(patch.classification) ||
      (kb !== undefined ? kbInclude.has(kb) : anyMask(patch, criteria.packageNameMasksToInclude));
    if (included) selected.push(patch.patchId);
    else outcomes.push({ patchId: patch.patchId, state: 'NotSelected' });
  }
  return { selected, outcomes };
}
