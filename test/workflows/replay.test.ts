import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { HISTORIES_DIR, readHistory, readManifest, type HistoryRecord } from '../support/histories';
import { testWorkflowBundle } from '../support/servers';

// Histories of real runs (scripts/record-histories.ts) replayed against the workflow code: a change that
// would break rollouts in flight fails here first. Never re-record to make this pass; version the change.

jest.setTimeout(120_000);

const records = readManifest();
const changedBundle = join(dirname(testWorkflowBundle().codePath), 'changed-workflows.js');

/** Replays every saved history; the errors by file (one workflow ID may have been recorded more than once). */
async function replay(codePath: string): Promise<Map<string, Error | undefined>> {
  const results = new Map<string, Error | undefined>();
  const histories = records.map((r) => ({ workflowId: r.workflowId, history: readHistory(r) }));
  let i = 0; // histories are replayed one at a time, in order
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, histories)) {
    expect(result.workflowId).toBe(records[i].workflowId);
    results.set(records[i++].file, result.error);
  }
  return results;
}

const failures = (results: Map<string, Error | undefined>) =>
  [...results].filter(([, error]) => error).map(([file, error]) => `${file}: ${error!.message}`);

test('the manifest names every saved history, across the scenarios and all four workflows', () => {
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && f !== 'manifest.json');
  expect(records.map((r) => r.file).sort()).toEqual(files.sort());
  expect(new Set(records.map((r) => r.scenario))).toEqual(
    new Set([
      'happy-path',
      'error-budget',
      'bake',
      'approval-gate',
      'next-window',
      'pipelined',
      'sliced',
      'webhooks',
      'fleet-guard',
    ]),
  );
  const types: Array<HistoryRecord['workflowType']> = [
    'fleetGuardWorkflow',
    'machineAttemptWorkflow',
    'regionWorkflow',
    'rolloutWorkflow',
  ];
  expect([...new Set(records.map((r) => r.workflowType))].sort()).toEqual(types);
});

test('every saved history replays against the current workflow code', async () => {
  const results = await replay(testWorkflowBundle().codePath);
  expect([...results.keys()]).toEqual(records.map((r) => r.file));
  expect(failures(results)).toEqual([]);
});

test('a rollout changed without versioning (a sleep before its first step) fails to replay every rollout history', async () => {
  const results = await replay(changedBundle);
  expect(results.size).toBe(records.length);
  for (const r of records) {
    const error = results.get(r.file);
    if (r.workflowType === 'rolloutWorkflow') expect(error).toBeInstanceOf(DeterminismViolationError);
    else expect(error).toBeUndefined(); // the unchanged region, machine and guard workflows still replay
  }
});
