import azure from './azure-regions.json';

interface AzureRegion {
  displayName: string;
  availabilityZones: boolean;
  pair: string | null;
  accessRestricted: boolean;
}

const AZURE_REGIONS: Record<string, AzureRegion> = (azure as { regions: Record<string, AzureRegion> })
  .regions;

export function isKnownAzureRegion(region: string): boolean {
  return Object.prototype.hasOwnProperty.call(AZURE_REGIONS, region);
}

export function azureRegionHasZones(region: string): boolean {
  return isKnownAzureRegion(region) && AZURE_REGIONS[region].availabilityZones;
}

/** Declared pairs for regions Offpeak does not know: region -> paired region (null: no pair). */
export type RegionPairs = Record<string, string | null>;

/**
 * Geo-pairs as an undirected conflict graph. Microsoft's table is directional
 * (westindia -> southindia, southindia -> centralindia), so every (region, pair) edge is added both ways.
 */
export class RegionConflicts {
  private readonly edges = new Map<string, Set<string>>();

  constructor(extraPairs: RegionPairs = {}) {
    for (const [region, info] of Object.entries(AZURE_REGIONS)) if (info.pair) this.add(region, info.pair);
    for (const [region, pair] of Object.entries(extraPairs)) if (pair) this.add(region, pair);
  }

  conflict(a: string, b: string): boolean {
    return this.edges.get(a)?.has(b) ?? false;
  }

  neighbours(region: string): ReadonlySet<string> {
    return this.edges.get(region) ?? new Set();
  }

  private add(a: string, b: string): void {
    if (a === b) return;
    this.link(a, b);
    this.link(b, a);
  }

  private link(from: string, to: string): void {
    let set = this.edges.get(from);
    if (!set) this.edges.set(from, (set = new Set()));
    set.add(to);
  }
}

/** A region is usable when Offpeak knows it or the fleet declares its pairing (possibly "no pair"). */
export function isDeclaredRegion(region: string, extraPairs: RegionPairs): boolean {
  if (isKnownAzureRegion(region)) return true;
  if (Object.prototype.hasOwnProperty.call(extraPairs, region)) return true;
  return Object.values(extraPairs).includes(region);
}
