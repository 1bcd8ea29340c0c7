/** Offpeak's task queues: the orchestration's, and one per site (its machines' activities, on its worker). */
export const DEFAULT_TASK_QUEUE = 'offpeak';

export function siteTaskQueue(site: string | undefined): string {
  return site ? `${DEFAULT_TASK_QUEUE}-site-${site}` : DEFAULT_TASK_QUEUE;
}
