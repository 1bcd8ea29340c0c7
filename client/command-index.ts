import type { Command } from 'commander';

type Register = (program: Command) => void;

/** A top-level command: what `offpeak --help` says of it without loading it, and its module. */
interface CommandEntry {
  name: string;
  /** Its line's term in the top-level help: the name, then "[options]" when it has options (as Commander prints it). */
  term: string;
  summary: string;
  load: () => Promise<Register>;
}

/**
 * Every top-level command, in the order `--help` lists them. Each module takes its description from here
 * (`summaryOf`), so the top-level help can be printed without loading any module: they load the
 * Temporal client, the worker and the Azure SDK, about 1.5 s together. test/unit/cli.test.ts checks that
 * this help is the one the loaded commands print.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'plan',
    term: 'plan [options]',
    summary:
      'Print the availability-first plan for a fleet and its calendar forecast, without starting anything',
    load: async () => (await import('./commands/plan')).registerPlan,
  },
  {
    name: 'rollout',
    term: 'rollout',
    summary: 'Start, steer and inspect rollouts',
    load: async () => (await import('./commands/rollout')).registerRollout,
  },
  {
    name: 'schedule',
    term: 'schedule',
    summary: 'Monthly rollouts on a Temporal Schedule (default: the second Tuesday)',
    load: async () => (await import('./commands/schedule')).registerSchedule,
  },
  {
    name: 'assess',
    term: 'assess [options]',
    summary: 'Assess machines now (nothing is installed); each result is kept in Temporal, found by machine',
    load: async () => (await import('./commands/assess')).registerAssess,
  },
  {
    name: 'install',
    term: 'install [options]',
    summary:
      'Install patches on machines now, still one zone / update domain / batch at a time unless --unsafe',
    load: async () => (await import('./commands/install')).registerInstall,
  },
  {
    name: 'leases',
    term: 'leases [options]',
    summary: "List the fleet guard's disruption leases: who holds what, who waits and for what",
    load: async () => (await import('./commands/leases')).registerLeases,
  },
  {
    name: 'compliance',
    term: 'compliance [options]',
    summary: 'Patch compliance per machine and fleet-wide, from the assessments and attempts Temporal keeps',
    load: async () => (await import('./commands/compliance')).registerCompliance,
  },
  {
    name: 'fleet',
    term: 'fleet',
    summary: 'Fleet files',
    load: async () => (await import('./commands/fleet')).registerFleet,
  },
  {
    name: 'worker',
    term: 'worker [options]',
    summary: 'Run a worker: workflows and activities, or only the activities of one site',
    load: async () => (await import('./commands/worker')).registerWorker,
  },
  {
    name: 'dev-server',
    term: 'dev-server [options]',
    summary: 'Run the embedded Temporal dev server (UI on :8233), keeping its state in .offpeak/',
    load: async () => (await import('./commands/dev-server')).registerDevServer,
  },
  {
    name: 'demo',
    term: 'demo [options]',
    summary: 'Run a demo rollout of the example fleet on the embedded dev server with the simulated driver',
    load: async () => (await import('./commands/demo')).registerDemo,
  },
];

/** A top-level command's description, for its module. */
export function summaryOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no top-level command "${name}" in client/command-index.ts`);
  return entry.summary;
}
