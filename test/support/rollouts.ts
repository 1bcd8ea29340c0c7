import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFleet, type Fleet } from '../../domain/fleet';
import { parsePolicy, type Policy } from '../../domain/policy';
import { prepareRolloutInput } from '../../domain/pre-start';
import type { RolloutInput } from '../../domain/rollout-spec';

export function fleetOf(doc: unknown): Fleet {
  const parsed = parseFleet(doc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}

export function policyOf(doc: unknown): Policy {
  const parsed = parsePolicy(doc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}

/** Plans a fleet and builds the rollout's input exactly as the CLI does (domain/pre-start.ts). */
export function rolloutInputOf(args: {
  rolloutId: string;
  startedBy?: string;
  fleet: unknown;
  policy?: unknown;
  now: Date;
}): RolloutInput {
  const prepared = prepareRolloutInput({
    rolloutId: args.rolloutId,
    startedBy: args.startedBy ?? 'tester',
    fleet: fleetOf(args.fleet),
    policy: policyOf(args.policy ?? {}),
    now: args.now,
  });
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
  return prepared.value.input;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `offpeak-${prefix}-`));
}

/** A machine on the platform rollout. */
export function vm(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, region: 'eastus', os: 'Linux', patchMode: 'AutomaticByPlatform', ...extra };
}
