import { condition } from '@temporalio/workflow';

/**
 * The bytes of machine attempts a region is starting at once. The commands of one workflow task travel in
 * one request and are persisted in one transaction, each capped at 4 MB by a self-hosted server's defaults
 * (temporalio/temporal#7777; Temporal's docs advise splitting batches of commands); a lane starts a whole step
 * (up to 1,500 machines) and a region's lanes can start steps in the same task. Every start in a task is
 * in flight together, so keeping the starts in flight under `capacity` keeps every task under it, with
 * nothing to tune per fleet: a small step starts in one task as before, a large one over several.
 * Starts are granted in the order asked, and one start is always let through (a machine larger than the
 * budget goes alone; the pre-start check bounds each one: domain/payload-check.ts).
 */
export interface StartBudget {
  start<T>(bytes: number, begin: () => Promise<T>): Promise<T>;
}

export function startBudget(capacity: number): StartBudget {
  let inFlight = 0;
  const waiting: Array<{ bytes: number; granted: boolean }> = [];
  // Grants synchronously, so that two starts freed by one event cannot both see the same room.
  const grant = () => {
    while (waiting.length && (inFlight === 0 || inFlight + waiting[0].bytes <= capacity)) {
      const next = waiting.shift()!;
      inFlight += next.bytes;
      next.granted = true;
    }
  };
  return {
    async start(bytes, begin) {
      const ticket = { bytes, granted: false };
      waiting.push(ticket);
      grant();
      if (!ticket.granted) await condition(() => ticket.granted);
      try {
        return await begin();
      } finally {
        inFlight -= bytes;
        grant();
      }
    },
  };
}
