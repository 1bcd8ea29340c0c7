/** Workflow IDs derived from business keys, readable in the Temporal UI. */
export const rolloutWorkflowId = (rolloutId: string): string => `offpeak/${rolloutId}`;
export const regionWorkflowId = (rolloutId: string, region: string): string =>
  `offpeak/${rolloutId}/${region}`;
export const machineWorkflowId = (
  rolloutId: string,
  region: string,
  machine: string,
  attempt: number,
): string => `offpeak/${rolloutId}/${region}/${machine}/attempt-${attempt}`;

/** One assessment of one machine, keyed by when it was requested. */
export const assessWorkflowId = (machine: string, requestedAt: string): string =>
  `offpeak-assess/${machine}/${requestedAt}`;
