/**
 * Saved workflow histories: the files under `test/histories/` (recorded by `scripts/record-histories.ts`,
 * replayed by `test/workflows/replay.test.ts`) and their manifest.
 *
 * The files are the proto3 JSON of a History, the format `temporal workflow show --output json` and the
 * SDK's `historyToJSON` write. We convert with the protobufjs copy that `@temporalio/proto` itself
 * loads: the SDK's `historyFromJSON`/`historyToJSON` (@temporalio/common) throw "type must be a Type"
 * when npm installs separate protobufjs copies for @temporalio/common and @temporalio/proto (as it does
 * here, because @grpc/proto-loader holds protobufjs 7 at the top level). This works in either layout.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

export interface HistoryRecord {
  /** File name under `test/histories/`. */
  file: string;
  scenario: string;
  workflowType: 'rolloutWorkflow' | 'regionWorkflow' | 'machineAttemptWorkflow' | 'fleetGuardWorkflow';
  workflowId: string;
  /** How the run ended, for the reader. */
  note: string;
}

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

let cached: { protojson: ProtoJson; historyType: unknown } | undefined;

function codec(): { protojson: ProtoJson; historyType: unknown } {
  if (!cached) {
    const fromProto = createRequire(require.resolve('@temporalio/proto/package.json'));
    const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
    const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
    cached = { protojson, historyType: root.lookupType('temporal.api.history.v1.History') };
  }
  return cached;
}

/** A fetched history as proto3 JSON text. */
export function historyToJson(history: History): string {
  const { protojson, historyType } = codec();
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return `${JSON.stringify(protojson.toJson(historyType, message), null, 2)}\n`;
}

/** Parsed proto3 JSON back to a History that `Worker.runReplayHistories` takes as is. */
export function historyFromJson(json: unknown): History {
  const { protojson, historyType } = codec();
  const loaded = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('not a history');
  return loaded as History;
}

export function readManifest(dir = HISTORIES_DIR): HistoryRecord[] {
  return (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { histories: HistoryRecord[] })
    .histories;
}

export function readHistory(record: HistoryRecord, dir = HISTORIES_DIR): History {
  return historyFromJson(JSON.parse(readFileSync(join(dir, record.file), 'utf8')));
}
