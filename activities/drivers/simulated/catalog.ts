import type { OsType } from '../../../domain/fleet';
import type { AvailablePatch, RebootBehavior } from '../../../domain/patches';
import type { Classification } from '../../../domain/policy';

/**
 * The simulated patch catalogue: which updates a machine is offered in a month. Pure and
 * deterministic: the same (seed, OS, image, month) always yields the same patches.
 *
 * Like the real world, the update itself is a property of the month and the product (every Windows
 * Server 2022 machine sees the same cumulative update KB in May; every Ubuntu machine the same openssl
 * version), while the machine's seed decides which optional components it carries (.NET, curl, ...).
 */

/** FNV-1a, 32 bit: a stable hash of a string (machine names, catalogue keys). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CatalogInput {
  /** The machine's seed: `simulation.seed`, or a hash of its name. */
  seed: number;
  os: OsType;
  image?: { publisher: string; offer: string; sku: string };
  /** `YYYY-MM`. */
  month: string;
  /** The image takes hotpatches and the month is a hotpatch month: the security update is a hotpatch. */
  hotpatchMonth: boolean;
}

/** Months since January 2022, so versions grow from month to month. */
function monthOrdinal(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return Math.max(0, (y - 2022) * 12 + (m - 1));
}

function imageKey(image: CatalogInput['image']): string {
  return image ? `${image.publisher}/${image.offer}/${image.sku}`.toLowerCase() : 'none';
}

/** The machine's patches for a month, in a stable order (Critical and Security first). */
export function monthlyPatches(input: CatalogInput): AvailablePatch[] {
  const machine = seededRandom(
    hashString(`${input.seed}|${input.os}|${imageKey(input.image)}|${input.month}`),
  );
  const patches = input.os === 'Windows' ? windowsPatches(input, machine) : linuxPatches(input, machine);
  const rank = (c: Classification) => (c === 'Critical' ? 0 : c === 'Security' ? 1 : 2);
  return patches.sort((a, b) => rank(a.classification) - rank(b.classification));
}

/** Whether a CanRequestReboot patch actually asks for a reboot on this machine (stable per machine and patch). */
export function requestsReboot(seed: number, patch: AvailablePatch): boolean {
  if (patch.rebootBehavior === 'AlwaysRequiresReboot') return true;
  if (patch.rebootBehavior === 'NeverReboots') return false;
  return hashString(`${seed}|reboot|${patch.patchId}`) % 2 === 0;
}

// ---- Windows ---------------------------------------------------------------------------------------

function windowsProduct(image: CatalogInput['image']): string {
  const sku = image?.sku.toLowerCase() ?? '';
  if (sku.includes('2025')) return 'Windows Server 2025';
  if (sku.includes('2019')) return 'Windows Server 2019';
  if (sku.includes('2016')) return 'Windows Server 2016';
  if (sku.includes('azure-edition')) return 'Windows Server 2022 Datacenter: Azure Edition';
  return 'Windows Server 2022';
}

function windowsPatches(input: CatalogInput, machine: () => number): AvailablePatch[] {
  const { month } = input;
  const product = windowsProduct(input.image);
  const release = seededRandom(hashString(`windows|${product}|${month}`));
  const used = new Set<number>();
  /** A KB number of the month's release, the same for every machine running `product`. */
  const kb = (slot: string): string => {
    let n = 5_000_000 + (hashString(`${product}|${month}|${slot}`) % 100_000);
    while (used.has(n)) n++;
    used.add(n);
    return `KB${n}`;
  };
  const ord = monthOrdinal(month);
  const patch = (
    kbId: string,
    name: string,
    classification: Classification,
    rebootBehavior: RebootBehavior,
    hotpatch = false,
  ): AvailablePatch => ({
    patchId: kbId,
    kbId,
    name: `${name} (${kbId})`,
    classification,
    rebootBehavior,
    hotpatch,
  });

  const out: AvailablePatch[] = [];
  // The monthly security update: a hotpatch in hotpatch months on capable images, else a cumulative update.
  if (input.hotpatchMonth) {
    out.push(
      patch(
        kb('hotpatch'),
        `${month} Security Hotpatch Update for ${product}`,
        'Security',
        'NeverReboots',
        true,
      ),
    );
  } else {
    out.push(
      patch(
        kb('lcu'),
        `${month} Cumulative Update for ${product} for x64-based Systems`,
        'Security',
        'AlwaysRequiresReboot',
      ),
    );
  }
  // Servicing stack updates ship in some months only.
  if (release() < 0.4)
    out.push(patch(kb('ssu'), `${month} Servicing Stack Update for ${product}`, 'Critical', 'NeverReboots'));
  // .NET Framework: only on machines that carry it.
  if (machine() < 0.6)
    out.push(
      patch(
        kb('dotnet'),
        `${month} Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 for ${product}`,
        'Security',
        'CanRequestReboot',
      ),
    );
  if (machine() < 0.8)
    out.push(
      patch(
        kb('msrt'),
        `Windows Malicious Software Removal Tool x64 - v5.${100 + ord}`,
        'Other',
        'NeverReboots',
      ),
    );
  if (machine() < 0.5)
    out.push(
      patch(
        kb('defender'),
        `Update for Microsoft Defender Antivirus antimalware platform (Version 4.18.${24000 + ord * 10}.${1 + (ord % 7)})`,
        'Other',
        'NeverReboots',
      ),
    );
  if (release() < 0.5 && machine() < 0.5)
    out.push(
      patch(
        kb('dotnet-preview'),
        `${month} Cumulative Update Preview for .NET Framework 3.5, 4.8 and 4.8.1 for ${product}`,
        'Other',
        'CanRequestReboot',
      ),
    );
  return out;
}

// ---- Linux -----------------------------------------------------------------------------------------

interface Package {
  name: (k: number) => string;
  version: (k: number) => string;
  classification: Classification;
  rebootBehavior: RebootBehavior;
  /** Share of months in which the distribution ships an update for it. */
  monthly: number;
  /** Share of machines that carry the package. */
  installedOn: number;
}

const pkg = (
  name: string | ((k: number) => string),
  version: (k: number) => string,
  classification: Classification,
  rebootBehavior: RebootBehavior,
  monthly: number,
  installedOn = 1,
): Package => ({
  name: typeof name === 'string' ? () => name : name,
  version,
  classification,
  rebootBehavior,
  monthly,
  installedOn,
});

const UBUNTU: Package[] = [
  pkg(
    (k) => `linux-image-5.15.0-${1040 + k}-azure`,
    (k) => `5.15.0-${1040 + k}.${47 + k}`,
    'Security',
    'AlwaysRequiresReboot',
    0.8,
  ),
  pkg('openssl', (k) => `3.0.2-0ubuntu1.${10 + k}`, 'Security', 'NeverReboots', 0.5),
  pkg('libssl3', (k) => `3.0.2-0ubuntu1.${10 + k}`, 'Security', 'NeverReboots', 0.5),
  pkg('libc6', (k) => `2.35-0ubuntu3.${4 + k}`, 'Security', 'CanRequestReboot', 0.3),
  pkg('openssh-server', (k) => `1:8.9p1-3ubuntu0.${4 + k}`, 'Security', 'NeverReboots', 0.3),
  pkg('sudo', (k) => `1.9.9-1ubuntu2.${4 + k}`, 'Security', 'NeverReboots', 0.2),
  pkg('curl', (k) => `7.81.0-1ubuntu1.${14 + k}`, 'Security', 'NeverReboots', 0.4, 0.7),
  pkg('libcurl4', (k) => `7.81.0-1ubuntu1.${14 + k}`, 'Security', 'NeverReboots', 0.4, 0.9),
  pkg('systemd', (k) => `249.11-0ubuntu3.${10 + k}`, 'Critical', 'CanRequestReboot', 0.3),
  pkg(
    'tzdata',
    (k) => `${2023 + Math.floor(k / 12)}a-0ubuntu0.22.04.${k % 12}`,
    'Other',
    'NeverReboots',
    0.3,
  ),
  pkg('ca-certificates', (k) => `20240203~22.04.${1 + k}`, 'Other', 'NeverReboots', 0.2),
  pkg('cloud-init', (k) => `24.1.3-0ubuntu1~22.04.${1 + k}`, 'Other', 'NeverReboots', 0.5),
  pkg('walinuxagent', (k) => `2.2.46-0ubuntu5.${1 + k}`, 'Other', 'NeverReboots', 0.3),
  pkg('vim', (k) => `2:8.2.3995-1ubuntu2.${10 + k}`, 'Other', 'NeverReboots', 0.3, 0.6),
  pkg('snapd', (k) => `2.63+22.04ubuntu0.${1 + k}`, 'Other', 'NeverReboots', 0.4, 0.8),
];

const RHEL: Package[] = [
  pkg('kernel', (k) => `5.14.0-${362 + 8 * k}.el9`, 'Security', 'AlwaysRequiresReboot', 0.8),
  pkg('openssl-libs', (k) => `1:3.0.7-${24 + k}.el9`, 'Security', 'NeverReboots', 0.5),
  pkg('glibc', (k) => `2.34-${60 + k}.el9`, 'Security', 'CanRequestReboot', 0.3),
  pkg('openssh-server', (k) => `8.7p1-${34 + k}.el9`, 'Security', 'NeverReboots', 0.3),
  pkg('sudo', (k) => `1.9.5p2-${9 + k}.el9`, 'Security', 'NeverReboots', 0.2),
  pkg('curl', (k) => `7.76.1-${26 + k}.el9`, 'Security', 'NeverReboots', 0.4, 0.8),
  pkg('systemd', (k) => `252-${18 + k}.el9`, 'Critical', 'CanRequestReboot', 0.3),
  pkg('tzdata', (k) => `${2023 + Math.floor(k / 12)}c-${1 + (k % 12)}.el9`, 'Other', 'NeverReboots', 0.3),
  pkg('cloud-init', (k) => `23.4-${7 + k}.el9`, 'Other', 'NeverReboots', 0.5),
  pkg('WALinuxAgent', (k) => `2.7.0.6-${1 + k}.el9`, 'Other', 'NeverReboots', 0.3),
  pkg('vim-minimal', (k) => `2:8.2.2637-${20 + k}.el9`, 'Other', 'NeverReboots', 0.3, 0.6),
];

const RPM_PUBLISHERS = ['redhat', 'almalinux', 'openlogic', 'oracle', 'resf', 'suse'];

function linuxPatches(input: CatalogInput, machine: () => number): AvailablePatch[] {
  const publisher = input.image?.publisher.toLowerCase() ?? '';
  const family = RPM_PUBLISHERS.some((p) => publisher.includes(p)) ? 'rpm' : 'deb';
  const packages = family === 'rpm' ? RHEL : UBUNTU;
  const release = seededRandom(hashString(`linux|${family}|${input.month}`));
  const k = monthOrdinal(input.month);
  const out: AvailablePatch[] = [];
  for (const p of packages) {
    const shipped = release() < p.monthly;
    const carried = machine() < p.installedOn;
    if (!shipped || !carried) continue;
    const name = p.name(k);
    const version = p.version(k);
    out.push({
      patchId: `${name}=${version}`,
      name,
      version,
      classification: p.classification,
      rebootBehavior: p.rebootBehavior,
      hotpatch: false,
    });
  }
  // A month without any update is possible upstream but dull in a demo: ship at least one security fix.
  if (!out.some((p) => p.classification !== 'Other')) {
    const name = family === 'rpm' ? 'openssl-libs' : 'openssl';
    const version = family === 'rpm' ? `1:3.0.7-${24 + k}.el9` : `3.0.2-0ubuntu1.${10 + k}`;
    out.push({
      patchId: `${name}=${version}`,
      name,
      version,
      classification: 'Security',
      rebootBehavior: 'NeverReboots',
      hotpatch: false,
    });
  }
  return out;
}
