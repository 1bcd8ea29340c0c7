import { CLDR_TO_IANA, WINDOWS_TO_IANA } from './windows-zones';

/**
 * Time zones by IANA name. Windows names (as Azure maintenance configurations and Windows VMs use them)
 * are accepted too, every one CLDR maps (domain/windows-zones.ts, generated from CLDR's windowsZones
 * data), each as the zone CLDR gives it for the whole world: `Central European Standard Time` is
 * Europe/Warsaw, `SE Asia Standard Time` Asia/Bangkok, `Taipei Standard Time` Asia/Taipei.
 */

/** Windows' display name of UTC, which Windows tools print though CLDR keys the zone as "UTC". */
const WINDOWS_ALIASES: Readonly<Record<string, string>> = { 'Coordinated Universal Time': 'Etc/UTC' };

/** The IANA zone a Windows time zone name stands for (CLDR's spelling), or undefined for other names. */
export function ianaOfWindowsZone(name: string): string | undefined {
  // Own keys only: "constructor" is no Windows zone name.
  if (Object.hasOwn(WINDOWS_TO_IANA, name)) return WINDOWS_TO_IANA[name][0];
  return Object.hasOwn(WINDOWS_ALIASES, name) ? WINDOWS_ALIASES[name] : undefined;
}

const cache = new Map<string, string | undefined>();

/**
 * Returns the canonical IANA name for an IANA or Windows time zone name, or undefined if unknown.
 * V8's ICU canonicalises some zones to CLDR's old spellings (Asia/Kolkata resolves to Asia/Calcutta):
 * the current IANA names are reported instead (CLDR's own table of them); Intl accepts both.
 */
export function resolveTimeZone(name: string): string | undefined {
  if (cache.has(name)) return cache.get(name);
  const candidate = ianaOfWindowsZone(name) ?? name;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: candidate }).resolvedOptions().timeZone;
    if (Object.hasOwn(CLDR_TO_IANA, resolved)) resolved = CLDR_TO_IANA[resolved];
  } catch {
    resolved = undefined;
  }
  cache.set(name, resolved);
  return resolved;
}
