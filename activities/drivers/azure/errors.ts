import { isRestError } from '@azure/core-rest-pipeline';
import type { AzureResource } from '../../../domain/azure-resource';
import { DriverError } from '../driver';

/**
 * Azure's answers, sorted into the failure catalogue. The SDK has already retried 429 (after
 * Retry-After), 5xx and dropped connections; what reaches here is final, except timeouts and dropped
 * connections the driver retries itself and 409s it submits again later.
 */

/** A request that timed out (the SDK aborts it) or lost its connection: worth another try. */
export function isTransient(err: unknown): boolean {
  if (err instanceof Error && err.name === 'AbortError') return true;
  if (!isRestError(err)) return false;
  if (err.statusCode === undefined) return true; // no answer at all
  return err.statusCode === 408 || err.statusCode === 429 || err.statusCode >= 500;
}

/** For a 409 (another operation on the machine is in progress): how long to wait, else undefined. */
export function conflictRetryAfterMs(err: unknown, fallbackMs: number): number | undefined {
  if (!isRestError(err) || err.statusCode !== 409) return undefined;
  const header = err.response?.headers.get('retry-after');
  const seconds = header !== undefined ? Number(header) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : fallbackMs;
}

/** The action Azure names in an AuthorizationFailed message ("... to perform action 'X' over scope ..."). */
export function missingAction(message: string): string | undefined {
  return /perform action '([^']+)'/.exec(message)?.[1];
}

export function asDriverError(err: unknown, r: AzureResource, action: string): Error {
  if (err instanceof DriverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (!isRestError(err)) return new DriverError('Unreachable', `${r.id}: ${message}`);
  const status = err.statusCode;
  if (status === 401 || status === 403) {
    const named = missingAction(message) ?? action;
    return new DriverError(
      'NotAuthorized',
      `${r.id}: Azure refused ${named} (${status} ${err.code ?? ''}): grant the worker's identity the action ${named} on the machine (docs/azure-driver.md)`,
    );
  }
  if (status === 404)
    return new DriverError('Unreachable', `${r.id}: not found (404); check azure.resourceId`);
  if (status !== undefined && status >= 400 && status < 500)
    return new DriverError(
      'InstallFailed',
      `${r.id}: Azure rejected ${action} (${status} ${err.code ?? ''}): ${message}`,
    );
  return new DriverError('Unreachable', `${r.id}: ${action} failed (${status ?? 'no answer'}): ${message}`);
}
