import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  FLEET_GUARD_ID,
  leasesQuery,
  type LeasesQueryOptions,
  type LeasesView,
} from '../../workflows/messages';
import { outputOption } from './options';
import { connectClient } from '../temporal';
import { printData } from './compliance';
import { UsageError } from '../errors';
import { summaryOf } from '../command-index';

/** Names a table row shows per lease (the rest is counted). */
const NAMES_SHOWN = 5;

/** The fleet guard's book as `offpeak leases` shows it; no guard running is an empty book. */
export async function readLeases(client: Client, options: LeasesQueryOptions = {}): Promise<LeasesView> {
  try {
    return await client.workflow.getHandle(FLEET_GUARD_ID).query(leasesQuery, options);
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

/**
 * One row per lease: held, then waiting (in queue order), then the latest freed from gone holders. A lease
 * held beside its lane's running step says so: its machines start only into the places that step's machines
 * free as they end (pipelined steps), and the rest when it ends, so the two are never more down than it alone.
 */
export function leaseRows(view: LeasesView): Array<Array<string | number>> {
  const steps = new Map(view.held.map((l) => [l.leaseId, l.step]));
  const row = (state: string) => (l: LeasesView['held'][number]) => {
    const after = l.follows === undefined ? undefined : steps.get(l.follows);
    return [
      after === undefined ? state : `${state} (next)`,
      l.rolloutId,
      l.region,
      l.step,
      l.unsafe ? 'yes' : 'no',
      l.machineCount,
      l.machines.slice(0, NAMES_SHOWN).join(' ') + (l.machineCount > NAMES_SHOWN ? ' ...' : ''),
      l.grantedAt ?? l.askedAt,
      after === undefined ? (l.waitingFor ?? '') : `follows "${after}"`,
    ];
  };
  return [
    ...view.held.map(row('held')),
    ...view.waiting.map(row('waiting')),
    ...view.expired.map(row('freed (holder gone)')),
  ];
}

export function registerLeases(program: Command): void {
  program
    .command('leases')
    .description(summaryOf('leases'))
    .addOption(outputOption(['table', 'json']))
    .option('--names <n>', `machine names per lease (default: ${NAMES_SHOWN} in a table, all in JSON)`)
    .option('--rollout <id>', "only this rollout's leases")
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ offpeak leases                # held, then waiting (with what each waits for), then freed',
        "  $ offpeak leases -o json | jq '.waiting[] | {rolloutId, waitingFor}'",
        '  $ offpeak leases -o json --names 0 --rollout nov-2026   # counts only: small at any fleet size',
      ].join('\n'),
    )
    .action(async (opts: { output: string; names?: string; rollout?: string }) => {
      const names = opts.names === undefined ? undefined : Number(opts.names);
      if (names !== undefined && !(Number.isInteger(names) && names >= 0))
        throw UsageError.of('--names', `"${opts.names}" must be a whole number, 0 or more`);
      const { client } = await connectClient();
      // A table names a few machines per lease: the guard sends no more (at 100,000 machines, all of
      // them is over 1 MB).
      const view = await readLeases(client, {
        names: names ?? (opts.output === 'table' ? NAMES_SHOWN : undefined),
        ...(opts.rollout === undefined ? {} : { rolloutId: opts.rollout }),
      });
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
