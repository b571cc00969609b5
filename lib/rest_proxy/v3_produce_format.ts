/**
 * The wire format of REST Proxy v3 streaming produce (contract §3.2), both ways:
 *
 * - {@linkcode buildV3ProduceBody}: one request object per record, concatenated (separated by
 *   `\n`), `{"key":{"type":"JSON","data":K},"value":{"type":"JSON","data":V}}`, with K and V
 *   copied verbatim from the record's JSON bytes. `JSON` is the type that reads back the same
 *   through a v2 `format: json` consumer: the proxy stores the JSON text of `data`, exactly
 *   what v2's json embedded format stores (`STRING` would store the key without its quotes,
 *   which a json consumer cannot parse; `BINARY` would need base64, a third more bytes). A
 *   record without a key has no `key` field: a null Kafka key, like v2's absent key.
 * - {@linkcode recordResultFromReport}: one delivery report mapped onto the v2
 *   {@linkcode RecordResult} the sender's retry rules know. Success is `error_code` 200 with a
 *   `partition_id` and an `offset`. Failures that may pass (408 stream too old, 429 rate
 *   limited, 5xx, 40401 topic missing after the metadata timeout, 50003) become the retriable
 *   50003 (429 becomes 42901), keeping the report's own code in the text; the others (400 bad
 *   record, 413 too large, 422, 50002, ...) keep their code and are dead-lettered.
 *
 * @module
 */
import { keyLength, type ProduceRecord, type RecordResult } from "./rest_producer_client.ts";

const ascii = (text: string) => new TextEncoder().encode(text);
const KEYED_START = ascii('{"key":{"type":"JSON","data":');
const VALUE_AFTER_KEY = ascii('},"value":{"type":"JSON","data":');
const UNKEYED_START = ascii('{"value":{"type":"JSON","data":');
const RECORD_END = ascii("}}\n");

/** v3 report codes that may succeed on a later attempt. */
const RETRIABLE_REPORT_CODES: ReadonlySet<number> = new Set([
  408,
  500,
  502,
  503,
  504,
  40401,
  50003,
  50302,
]);

function v3BodySize(records: readonly ProduceRecord[]): number {
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += r.value.length + RECORD_END.length +
      (r.key === undefined
        ? UNKEYED_START.length
        : KEYED_START.length + VALUE_AFTER_KEY.length + keyLength(r.key));
  }
  return size;
}

/**
 * Builds a v3 streaming produce body from key and value JSON bytes, copying each once.
 *
 * @param records the records
 * @param allocate returns a buffer of at least the given size to write into @default a new buffer
 * @returns the concatenated request objects as UTF-8 (a view of the buffer)
 * @example One keyed record
 * ```ts
 * import assert from "node:assert/strict";
 * const utf8 = new TextEncoder();
 * const body = buildV3ProduceBody([{ key: [utf8.encode('"k"')], value: utf8.encode("{}") }]);
 * assert.equal(
 *   new TextDecoder().decode(body),
 *   '{"key":{"type":"JSON","data":"k"},"value":{"type":"JSON","data":{}}}\n',
 * );
 * ```
 */
export function buildV3ProduceBody(
  records: readonly ProduceRecord[],
  allocate: (size: number) => Uint8Array<ArrayBuffer> = (size) => new Uint8Array(size),
): Uint8Array<ArrayBuffer> {
  const body = allocate(v3BodySize(records));
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.key === undefined) {
      body.set(UNKEYED_START, at);
      at += UNKEYED_START.length;
    } else {
      body.set(KEYED_START, at);
      at += KEYED_START.length;
      for (const part of r.key) {
        body.set(part, at);
        at += part.length;
      }
      body.set(VALUE_AFTER_KEY, at);
      at += VALUE_AFTER_KEY.length;
    }
    body.set(r.value, at);
    at += r.value.length;
    body.set(RECORD_END, at);
    at += RECORD_END.length;
  }
  return body.subarray(0, at);
}

function intOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isSafeInteger(v) ? v : null;
}

/**
 * Maps one delivery report onto a {@linkcode RecordResult}.
 *
 * @param report the parsed report (anything: a proxy may answer nonsense)
 * @returns success with partition and offset, or the error in the sender's codes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   recordResultFromReport({ error_code: 200, partition_id: 2, offset: 9 }),
 *   { partition: 2, offset: 9, errorCode: null, error: null },
 * );
 * assert.equal(recordResultFromReport({ error_code: 429, message: "slow down" }).errorCode, 42901);
 * ```
 */
export function recordResultFromReport(report: unknown): RecordResult {
  const r = (typeof report === "object" && report !== null ? report : {}) as Record<
    string,
    unknown
  >;
  const code = intOrNull(r.error_code);
  const partition = intOrNull(r.partition_id);
  const offset = intOrNull(r.offset);
  const message = typeof r.message === "string" ? r.message : "";
  if (code === 200 && partition !== null && offset !== null) {
    return { partition, offset, errorCode: null, error: null };
  }
  if (code === null || code === 200) {
    return failedRetriable(
      `the delivery report has no ${code === null ? "error_code" : "partition_id and offset"}` +
        `: ${JSON.stringify(report).slice(0, 200)}`,
    );
  }
  if (code === 429) return { partition: null, offset: null, errorCode: 42901, error: message };
  if (RETRIABLE_REPORT_CODES.has(code)) {
    return failedRetriable(code === 50003 ? message : `error_code ${code}: ${message}`);
  }
  return { partition: null, offset: null, errorCode: code, error: message };
}

/**
 * The result of a record that got no delivery report, or an unreadable one: failed and
 * retriable (50003), since it may or may not have been written.
 *
 * @param why what happened, for the log
 * @returns the result
 */
export function failedRetriable(why: string): RecordResult {
  return { partition: null, offset: null, errorCode: 50003, error: why };
}
