/**
 * `POST /topics/{t}` and `POST /topics/{t}/partitions/{p}` (contract §2): validates the
 * whole request first (nothing is written when it is malformed), serializes keys and
 * values (json: the JSON text; binary: base64-decoded bytes), picks partitions like
 * Kafka's default partitioner, appends durably and answers one offsets entry per record.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { BrokerError } from "./broker_error.ts";
import type { DataNotifier } from "./data_notifier.ts";
import type { FaultDecision } from "./fault_injector.ts";
import { partitionForKey } from "./murmur2.ts";
import { KEY_IS_JSON, type NewRecord, VALUE_IS_JSON } from "./partition_log.ts";
import { arrayField, intField, objectWith } from "./request_body.ts";
import { topicNameProblem, type TopicStore } from "./topic_store.ts";

/** A produce request after routing and body parsing. */
export interface ProduceRequest {
  /** Topic from the path. */
  topic: string;
  /** Partition from the path, if any. */
  pathPartition?: number;
  /** Embedded format from the Content-Type. */
  format: "json" | "binary";
  /** Parsed body (undefined when empty). */
  body: unknown;
  /** Fault decision for per-record failures. */
  fault?: FaultDecision;
}

/** Services of the produce handler. */
export interface ProduceContext {
  /** Topics. */
  topics: TopicStore;
  /** Partition count of auto-created topics. */
  defaultPartitions: number;
  /** Largest record (key + value bytes); bigger ones fail with 50002. @default 1048576 */
  maxRecordBytes?: number;
  /** Woken after appends. */
  notifier: DataNotifier;
  /** Current time in ms. */
  now(): number;
}

interface OffsetEntry {
  partition: number | null;
  offset: number | null;
  "error_code": number | null;
  error: string | null;
}

/** Kafka's default `max.request.size` (and about `message.max.bytes`): 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576;

const BODY_FIELDS = new Set([
  "key_schema",
  "key_schema_id",
  "value_schema",
  "value_schema_id",
  "records",
]);
const RECORD_FIELDS = new Set(["key", "value", "partition"]);
const BASE64_REGEXP = /^[A-Za-z0-9+/]*={0,2}$/;
const encoder = new TextEncoder();
const stickyCounters = new WeakMap<TopicStore, Map<string, number>>();

function decodeBase64(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || !BASE64_REGEXP.test(value) || value.length % 4 === 1) {
    const shown = typeof value === "string" ? value : JSON.stringify(value);
    throw new BrokerError(400, 400, `Bad Request: data=${shown} is not a (valid) base64 string.`);
  }
  const buf = Buffer.from(value, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function jsonBytes(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return encoder.encode(JSON.stringify(value));
}

/**
 * Handles a produce request.
 *
 * @param request the routed request
 * @param ctx topics, defaults and notifier
 * @returns the response body object
 * @throws {BrokerError} for request-level failures (400, 404, 422)
 */
export async function handleProduce(
  request: ProduceRequest,
  ctx: ProduceContext,
): Promise<Record<string, unknown>> {
  if (request.body === undefined || request.body === null) {
    throw new BrokerError(422, 422, "Request body must not be null");
  }
  const body = objectWith(request.body, BODY_FIELDS, "produce request");
  const rawRecords = arrayField(body, "records");
  if (!rawRecords || rawRecords.length === 0) {
    throw new BrokerError(422, 422, "records must not be empty");
  }
  const now = ctx.now();
  const records: { record: NewRecord; partition: number | undefined }[] = rawRecords.map((raw) => {
    const r = objectWith(raw, RECORD_FIELDS, "produce record");
    const partition = intField(r, "partition");
    if (request.format === "json") {
      const key = jsonBytes(r.key);
      const value = jsonBytes(r.value);
      return {
        record: { key, value, flags: KEY_IS_JSON | VALUE_IS_JSON, timestamp: now },
        partition,
      };
    }
    return {
      record: { key: decodeBase64(r.key), value: decodeBase64(r.value), flags: 0, timestamp: now },
      partition,
    };
  });

  const problem = topicNameProblem(request.topic);
  if (problem) {
    return response(records.map(() => failed(50002, problem)));
  }
  const topic = await ctx.topics.getOrCreate(request.topic, ctx.defaultPartitions);
  const n = topic.partitions.length;
  if (request.pathPartition !== undefined && request.pathPartition >= n) {
    throw new BrokerError(404, 40402, "Partition not found.");
  }
  for (const r of records) {
    if (r.partition !== undefined && (r.partition < 0 || r.partition >= n)) {
      throw new BrokerError(
        404,
        40402,
        `Partition not found.: invalid partition ${r.partition} given with record: the topic has ${n} partitions`,
      );
    }
  }
  let counters = stickyCounters.get(ctx.topics);
  if (!counters) stickyCounters.set(ctx.topics, counters = new Map());
  const sticky = (counters.get(topic.name) ?? -1) + 1;
  counters.set(topic.name, sticky);

  const maxRecordBytes = ctx.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const entries: OffsetEntry[] = new Array(records.length);
  const byPartition = new Map<number, { indexes: number[]; records: NewRecord[] }>();
  records.forEach((r, i) => {
    const fault = request.fault?.recordFault?.(i);
    if (fault) {
      entries[i] = failed(fault.errorCode, fault.message);
      return;
    }
    const size = (r.record.key?.byteLength ?? 0) + (r.record.value?.byteLength ?? 0);
    if (size > maxRecordBytes) {
      // Kafka's RecordTooLargeException, non-retriable: the proxy maps it to 50002.
      entries[i] = failed(
        50002,
        `The message is ${size} bytes when serialized which is larger than ${maxRecordBytes}, ` +
          "which is the value of the max.request.size configuration.",
      );
      return;
    }
    const p = r.partition ?? request.pathPartition ??
      (r.record.key !== null ? partitionForKey(r.record.key, n) : sticky % n);
    let group = byPartition.get(p);
    if (!group) byPartition.set(p, group = { indexes: [], records: [] });
    group.indexes.push(i);
    group.records.push(r.record);
  });
  await Promise.all(
    [...byPartition].map(async ([p, group]) => {
      const base = await topic.partitions[p]!.append(group.records);
      group.indexes.forEach((index, k) => {
        entries[index] = { partition: p, offset: base + k, error_code: null, error: null };
      });
    }),
  );
  if (byPartition.size > 0) ctx.notifier.notify();
  return response(entries);
}

function failed(code: number, message: string): OffsetEntry {
  return { partition: null, offset: null, error_code: code, error: message };
}

function response(offsets: OffsetEntry[]): Record<string, unknown> {
  return { offsets, key_schema_id: null, value_schema_id: null };
}
