import { setTimeout as delay } from 'node:timers/promises';
import { AZURE_MACHINE_TYPES, type AzureResource } from '../../../domain/azure-resource';
import { DriverError, type Checkpoint, type MachineTarget } from '../driver';
import { asDriverError, conflictRetryAfterMs, isTransient } from './errors';

/**
 * Azure's long-running operations as the driver runs them: submitted once, saved in the step's
 * checkpoint (heartbeat details) at once, resumed from it by a retried step, polled to the end through
 * timeouts and dropped connections; 409s are submitted again later.
 */

export type Verb = 'assessPatches' | 'installPatches';

export const actionOf = (r: AzureResource, verb: Verb) => `${AZURE_MACHINE_TYPES[r.kind]}/${verb}/action`;

/** What a retried step finds in its heartbeat details: the operation it already submitted. */
export interface SavedOperation {
  azureOperation: { resourceId: string; verb: Verb; operation: string; attempt: number; poller: string };
}

export function savedOperation(
  saved: unknown,
  target: MachineTarget,
  resourceId: string,
  verb: Verb,
): string | undefined {
  const op = (saved as Partial<SavedOperation> | undefined)?.azureOperation;
  return op &&
    op.resourceId === resourceId &&
    op.verb === verb &&
    op.operation === target.operation.id &&
    op.attempt === target.operation.attempt
    ? op.poller
    : undefined;
}

export type Poller<T> = {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  pollUntilDone(o?: { abortSignal?: AbortSignal }): Promise<T>;
};

export class Operations {
  constructor(private readonly backoffMs: number) {}

  /** Runs a read, retrying timeouts and dropped connections with backoff until `until` (the SDK retries 429 and 5xx itself). */
  async read<T>(
    r: AzureResource,
    action: string,
    call: () => Promise<T>,
    until = Date.now() + 5 * 60_000,
  ): Promise<T> {
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      try {
        return await call();
      } catch (err) {
        if (!isTransient(err) || Date.now() + pause > until) throw asDriverError(err, r, action);
        await delay(pause);
      }
    }
  }

  /**
   * Submits a long-running operation; a 409 (another operation on the machine in progress) is retried
   * after Retry-After or a growing pause until `until`. Only a submission Azure refused is repeated.
   */
  async submit<P extends { submitted(): Promise<void> }>(
    r: AzureResource,
    action: string,
    start: () => P,
    until: number,
  ): Promise<{ poller: P }> {
    // Wrapped: a poller is a thenable, and returning it bare would await the whole operation.
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      const poller = start();
      try {
        await poller.submitted();
        return { poller };
      } catch (err) {
        const wait = conflictRetryAfterMs(err, pause);
        if (wait === undefined) throw asDriverError(err, r, action);
        if (Date.now() + wait > until)
          throw new DriverError(
            'Unreachable',
            `${r.id}: another operation is still in progress (409); try again in the next window`,
          );
        await delay(wait);
      }
    }
  }

  /**
   * Polls to the end; a poll that times out or loses its connection resumes from the serialized state,
   * until `until` (then the attempt moves on; the operation itself is Azure's to finish). When `signal`
   * aborts (the step's time is up) the operation is left running for the step's next try to resume.
   */
  async finish<T>(
    r: AzureResource,
    verb: Verb,
    state: string,
    restore: (state: string) => Poller<T>,
    until: number,
    first: Poller<T> | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    let poller = first ?? restore(state);
    for (let pause = this.backoffMs; ; pause = Math.min(pause * 2, 300_000)) {
      try {
        return await poller.pollUntilDone({ abortSignal: signal });
      } catch (err) {
        if (signal.aborted)
          throw new DriverError(
            'Unreachable',
            `${r.id}: ${verb} is still running in Azure; the step's next try resumes it`,
          );
        if (!isTransient(err) || Date.now() + pause > until) throw asDriverError(err, r, actionOf(r, verb));
        await delay(pause);
        poller = restore(state);
      }
    }
  }

  /**
   * Runs one long-running operation: resumes the one saved in the checkpoint (a retried step), or
   * submits it and saves it there at once, then polls it to its result within `budgetMs`.
   */
  async operate<T>(
    target: MachineTarget,
    r: AzureResource,
    verb: Verb,
    o: {
      start: () => Poller<T>;
      restore: (state: string) => Poller<T>;
      /** Submissions refused with 409 are repeated until this instant; polls go on until `until`. */
      submitUntil: number;
      until: number;
      checkpoint?: Checkpoint;
      budgetMs?: number;
    },
  ): Promise<T> {
    let state = savedOperation(o.checkpoint?.saved, target, r.id, verb);
    let first: Poller<T> | undefined;
    if (!state) {
      const { poller } = await this.submit(r, actionOf(r, verb), o.start, o.submitUntil);
      state = await poller.serialize();
      const saved: SavedOperation = {
        azureOperation: {
          resourceId: r.id,
          verb,
          operation: target.operation.id,
          attempt: target.operation.attempt,
          poller: state,
        },
      };
      o.checkpoint?.save(saved);
      first = poller;
    }
    const controller = new AbortController();
    const timer = o.budgetMs === undefined ? undefined : setTimeout(() => controller.abort(), o.budgetMs);
    try {
      return await this.finish(r, verb, state, o.restore, o.until, first, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }
}
