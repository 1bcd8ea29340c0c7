/** A plain fleet of `size` Linux machines over three regions and their zones, for output-size tests. */
export function largeFleet(size: number): { machines: Array<Record<string, string>> } {
  const regions = ['eastus', 'westus', 'northeurope'];
  return {
    machines: Array.from({ length: size }, (_, i) => ({
      name: `vm-${String(i).padStart(5, '0')}`,
      region: regions[i % regions.length],
      zone: String(1 + (Math.floor(i / regions.length) % 3)),
      os: 'Linux',
      patchMode: 'AutomaticByPlatform',
    })),
  };
}
