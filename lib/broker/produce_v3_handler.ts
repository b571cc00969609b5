/**
 * `POST /v3/clusters/{id}/topics/{topic}/records` (contract §3.2): single and streaming
 * produce. Checked before the answer starts, as whole-request errors: the cluster id (404),
 * the Content-Type (`application/json`, else 415), the Accept (406), the topic (404 40401
 * "Topic not found.": unlike v2, v3 produce does not create topics, as on Confluent Cloud;
 * `POST /v3/clusters/{id}/topics` creates one) and an empty body (422 42206). Then the answer
 * is 200 with one delivery report per record, in body order, separated by `\r\n`, written as
 * the records are read (`v3_record_reader.ts` holds the limits):
 *
 * - success: `{"error_code":200,"cluster_id","topic_name","partition_id","offset",
 *   "timestamp","key":{"type","size"},"value":{"type","size"}}` (`key` absent without a key);
 * - a record that is not valid (unknown field, wrong type, missing or schema `type`, bad
 *   base64, bad timestamp): `{"error_code":400,"message"}`, and the stream goes on; an
 *   unknown `partition_id`: 40402; a record larger than the broker's record limit: 413;
 * - a body that stops being JSON, a record longer than `BROKER_MAX_BODY_BYTES`, an idle body
 *   or a stopping broker: one last error report (400, 413, 408, 503), then the answer ends.
 *
 * Key and value `data` are stored like v2's: `JSON` as the JSON text (read back the same by a
 * v2 `format: json` consumer), `STRING` as its UTF-8 bytes, `BINARY` base64-decoded. Records
 * read together are appended together (one durable write per partition and group).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { BodyReader } from "./body_reader.ts";
import { BrokerError } from "./broker_error.ts";
import type { FaultDecision } from "./fault_injector.ts";
import { mediaTypeOf } from "./media_negotiation.ts";
import { partitionForKey } from "./murmur2.ts";
import { KEY_IS_JSON, type NewRecord, VALUE_IS_JSON } from "./partition_log.ts";
import { DEFAULT_MAX_RECORD_BYTES, type ProduceContext } from "./produce_handler.ts";
import type { Topic } from "./topic_store.ts";
import { V3RecordReader } from "./v3_record_reader.ts";

/** Services of the v3 produce handler. */
export interface ProduceV3Context extends ProduceContext {
  /** The broker's cluster id (other ids are answered 404). */
  clusterId: string;
  /** Body limits and budget. */
  bodies: BodyReader;
}

/** A v3 delivery report. */
type Report = Record<string, unknown>;

const RECORD_FIELDS = new Set(["partition_id", "headers", "key", "value", "timestamp"]);
const DATA_FIELDS = new Set(["type", "data", "subject", "subject_name_strategy", "schema_id"]);
const SCHEMA_TYPES = new Set(["AVRO", "JSONSCHEMA", "PROTOBUF"]);
const BASE64_REGEXP = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextEncoder();
const REPORT_SEPARATOR = "\r\n";

/**
 * The 404 of an unknown cluster id.
 *
 * @param id the id asked for
 * @returns the error
 */
export function clusterNotFound(id: string): BrokerError {
  return new BrokerError(404, 404, `Cluster ${id} cannot be found.`);
}

function acceptsJson(accept: string | null): boolean {
  if (accept === null || accept.trim() === "") return true;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return type === "application/json" || type === "application/*" || type === "*/*";
  });
}

/**
 * Handles a v3 produce request.
 *
 * @param request the request
 * @param params cluster id and topic from the path
 * @param ctx topics, limits, clock and notifier
 * @param fault per-record faults to inject
 * @returns the streaming answer
 * @throws {BrokerError} for whole-request failures (404, 406, 415, 422, and a first record
 *   that cannot be read: 400, 408, 413, 503)
 */
export async function handleProduceV3(
  request: Request,
  params: { clusterId: string; topic: string },
  ctx: ProduceV3Context,
  fault?: FaultDecision,
): Promise<Response> {
  if (params.clusterId !== ctx.clusterId) throw clusterNotFound(params.clusterId);
  if (mediaTypeOf(request.headers.get("content-type")) !== "application/json") {
    throw new BrokerError(415, 415, "HTTP 415 Unsupported Media Type");
  }
  if (!acceptsJson(request.headers.get("accept"))) throw new BrokerError(406, 406, "");
  const topic = ctx.topics.get(params.topic);
  if (!topic) throw new BrokerError(404, 40401, "Topic not found.");
  const reader = new V3RecordReader(request, ctx.bodies);
  let group = await reader.next();
  if (group.records.length === 0) {
    await reader.close();
    throw group.error ??
      new BrokerError(422, 42206, "Payload error. Request body is empty. Data is required.");
  }
  const producer = new GroupProducer(topic, params.clusterId, ctx, fault);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const reports = await producer.produce(group.records);
        reader.answered();
        if (group.error) reports.push(errorReport(group.error.errorCode, group.error.message));
        controller.enqueue(utf8.encode(
          reports.map((r) => JSON.stringify(r)).join(
            REPORT_SEPARATOR,
          ) + REPORT_SEPARATOR,
        ));
        if (group.done) {
          await reader.close();
          controller.close();
          return;
        }
        group = await reader.next();
        if (group.records.length === 0) {
          if (group.error) {
            controller.enqueue(utf8.encode(
              JSON.stringify(errorReport(group.error.errorCode, group.error.message)) +
                REPORT_SEPARATOR,
            ));
          }
          await reader.close();
          controller.close();
        }
      } catch (error) {
        await reader.close();
        controller.error(error);
      }
    },
    async cancel() {
      await reader.close();
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
}

function errorReport(code: number, message: string): Report {
  return { error_code: code, message };
}

/** A record that passed validation, with where it goes. */
interface Accepted {
  record: NewRecord;
  partition: number | undefined;
  keyType: string | undefined;
  valueType: string | undefined;
}

/** Validates and appends the records of one request, group by group. */
class GroupProducer {
  readonly #topic: Topic;
  readonly #clusterId: string;
  readonly #ctx: ProduceV3Context;
  readonly #fault: FaultDecision | undefined;
  #index = 0;
  #sticky = 0;

  constructor(topic: Topic, clusterId: string, ctx: ProduceV3Context, fault?: FaultDecision) {
    this.#topic = topic;
    this.#clusterId = clusterId;
    this.#ctx = ctx;
    this.#fault = fault?.recordFault ? fault : undefined;
  }

  /** Appends the valid records of a group; returns one report per record, in order. */
  async produce(texts: readonly Uint8Array[]): Promise<Report[]> {
    const reports: Report[] = new Array(texts.length);
    const n = this.#topic.partitions.length;
    const maxRecordBytes = this.#ctx.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    const byPartition = new Map<number, { indexes: number[]; accepted: Accepted[] }>();
    const now = this.#ctx.now();
    this.#sticky++;
    texts.forEach((text, i) => {
      const injected = this.#fault?.recordFault?.(this.#index++);
      if (injected) {
        reports[i] = errorReport(injected.errorCode, injected.message);
        return;
      }
      let accepted: Accepted;
      try {
        accepted = parseRecord(text, now);
      } catch (error) {
        const e = error instanceof BrokerError ? error : new BrokerError(400, 400, String(error));
        reports[i] = errorReport(e.errorCode, e.message);
        return;
      }
      const { record } = accepted;
      if (accepted.partition !== undefined && accepted.partition >= n) {
        reports[i] = errorReport(40402, "Partition not found.");
        return;
      }
      const size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
      if (size > maxRecordBytes) {
        reports[i] = errorReport(
          413,
          `The message is ${size} bytes when serialized which is larger than ` +
            `${maxRecordBytes}, which is the value of the max.request.size configuration.`,
        );
        return;
      }
      const p = accepted.partition ??
        (record.key !== null ? partitionForKey(record.key, n) : this.#sticky % n);
      let entry = byPartition.get(p);
      if (!entry) byPartition.set(p, entry = { indexes: [], accepted: [] });
      entry.indexes.push(i);
      entry.accepted.push(accepted);
    });
    await Promise.all(
      [...byPartition].map(async ([p, entry]) => {
        const base = await this.#topic.partitions[p]!.append(entry.accepted.map((a) => a.record));
        entry.indexes.forEach((index, k) => {
          reports[index] = this.#success(p, base + k, entry.accepted[k]!);
        });
      }),
    );
    if (byPartition.size > 0) this.#ctx.notifier.notify();
    return reports;
  }

  #success(partition: number, offset: number, a: Accepted): Report {
    const report: Report = {
      "error_code": 200,
      "cluster_id": this.#clusterId,
      "topic_name": this.#topic.name,
      "partition_id": partition,
      offset,
      timestamp: new Date(a.record.timestamp).toISOString(),
    };
    if (a.keyType) report.key = { type: a.keyType, size: a.record.key?.length ?? 0 };
    if (a.valueType) report.value = { type: a.valueType, size: a.record.value?.length ?? 0 };
    return report;
  }
}

function badRequest(message: string): BrokerError {
  return new BrokerError(400, 400, message);
}

/** Parses one request object; throws a 400 {@linkcode BrokerError} for an invalid one. */
function parseRecord(text: Uint8Array, now: number): Accepted {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(text));
  } catch (error) {
    throw badRequest(`Error processing JSON: ${error instanceof Error ? error.message : error}`);
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!RECORD_FIELDS.has(k)) throw badRequest(`Unrecognized field: ${k}`);
  }
  let partition: number | undefined;
  if (r.partition_id !== undefined && r.partition_id !== null) {
    if (!Number.isSafeInteger(r.partition_id) || (r.partition_id as number) < 0) {
      throw badRequest(
        `Cannot deserialize "partition_id": expected a partition number, got ${
          JSON.stringify(r.partition_id)
        }`,
      );
    }
    partition = r.partition_id as number;
  }
  if (r.headers !== undefined && r.headers !== null && !Array.isArray(r.headers)) {
    throw badRequest('Cannot deserialize "headers": expected an array');
  }
  let timestamp = now;
  if (r.timestamp !== undefined && r.timestamp !== null) {
    const t = typeof r.timestamp === "string" ? Date.parse(r.timestamp) : NaN;
    if (Number.isNaN(t)) {
      throw badRequest(
        `Cannot deserialize "timestamp": expected an ISO-8601 instant, got ${
          JSON.stringify(r.timestamp)
        }`,
      );
    }
    timestamp = t;
  }
  const key = parseData(r.key, "key");
  const value = parseData(r.value, "value");
  return {
    record: {
      key: key.bytes,
      value: value.bytes,
      flags: (key.json ? KEY_IS_JSON : 0) | (value.json ? VALUE_IS_JSON : 0),
      timestamp,
    },
    partition,
    keyType: key.type,
    valueType: value.type,
  };
}

/** The bytes of a `key` or `value` object and whether they are JSON text. */
function parseData(
  field: unknown,
  what: "key" | "value",
): { bytes: Uint8Array | null; json: boolean; type: string | undefined } {
  if (field === undefined || field === null) return { bytes: null, json: false, type: undefined };
  if (typeof field !== "object" || Array.isArray(field)) {
    throw badRequest(`Cannot deserialize "${what}": expected an object with "type" and "data"`);
  }
  const f = field as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    if (!DATA_FIELDS.has(k)) throw badRequest(`Unrecognized field: ${k}`);
  }
  const type = typeof f.type === "string" ? f.type.toUpperCase() : undefined;
  if (type === undefined || SCHEMA_TYPES.has(type)) {
    throw badRequest(
      `Cannot produce the ${what}: its "type" must be JSON, STRING or BINARY (the local ` +
        `broker has no Schema Registry), got ${JSON.stringify(f.type ?? null)}`,
    );
  }
  const data = f.data;
  if (type === "JSON") {
    if (data === undefined || data === null) return { bytes: null, json: false, type };
    return { bytes: utf8.encode(JSON.stringify(data)), json: true, type };
  }
  if (data === undefined || data === null) return { bytes: null, json: false, type };
  if (type === "STRING") {
    if (typeof data !== "string") {
      throw badRequest(`Cannot produce the ${what}: STRING data must be a JSON string`);
    }
    return { bytes: utf8.encode(data), json: false, type };
  }
  if (type === "BINARY") {
    if (typeof data !== "string" || !BASE64_REGEXP.test(data) || data.length % 4 === 1) {
      throw badRequest(`Cannot produce the ${what}: BINARY data must be a base64 string`);
    }
    const buf = Buffer.from(data, "base64");
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), json: false, type };
  }
  throw badRequest(
    `Cannot produce the ${what}: unknown "type" ${JSON.stringify(f.type)}; use JSON, STRING ` +
      "or BINARY",
  );
}
