import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { FLEET_GUARD_ID, leasesQuery, type LeasesView } from '../../workflows/messages';
import { outputOption } from './options';
import { connectClient } from '../temporal';
import { printData } from './compliance';

/** The fleet guard's book as `offpeak leases` shows it; no guard running is an empty book. */
export async function readLeases(client: Client): Promise<LeasesView> {
  try {
    return await client.workflow.getHandle(FLEET_GUARD_ID).query(leasesQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { held: [], waiting: [], expired: [] };
    // A guard that ended (terminated by an operator) answers no query: nothing is held.
    const closed = await client.workflow
      .getHandle(FLEET_GUARD_ID)
      .describe()
      .then((d) => d.status.name !== 'RUNNING')
      .catch(() => false);
    if (closed) return { held: [], waiting: [], expired: [] };
    throw err;
  }
}

/** One row per lease: held, then waiting (in queue order), then the latest freed from gone holders. */
export function leaseRows(view: LeasesView): Array<Array<string | number>> {
  const row = (state: string) => (l: LeasesView['held'][number]) => [
    state,
    l.rolloutId,
    l.region,
    l.step,
    l.unsafe ? 'yes' : 'no',
    l.machines.length,
    l.machines.slice(0, 5).join(' ') + (l.machines.length > 5 ? ' ...' : ''),
    l.grantedAt ?? l.askedAt,
    l.waitingFor ?? '',
  ];
  return [
    ...view.held.map(row('held')),
    ...view.waiting.map(row('waiting')),
    ...view.expired.map(row('freed (holder gone)')),
  ];
}

export function registerLeases(program: Command): void {
  program
    .command('leases')
    .description("List the fleet guard's disruption leases: who holds what, who waits and for what")
    .addOption(outputOption(['table', 'json']))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ offpeak leases                # held, then waiting (with what each waits for), then freed',
        "  $ offpeak leases -o json | jq '.waiting[] | {rolloutId, waitingFor}'",
      ].join('\n'),
    )
    .action(async (opts: { output: string }) => {
      const { client } = await connectClient();
      const view = await readLeases(client);
      const headers = [
        'state',
        'rollout',
        'region',
        'step',
        'unsafe',
        'machines',
        'names',
        'since',
        'waiting for',
      ];
      printData(opts.output, headers, leaseRows(view), view);
    });
}
