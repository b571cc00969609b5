/**
 * Maps REST Proxy JSON record values (`recentchange` events) to lake rows and builds an Arrow
 * table of them by writing Arrow buffers directly (no per-value objects, no `vectorFromArray`).
 *
 * Rules (see {@linkcode EventBatchBuilder.append}):
 * - Rejected with a reason (the caller dead-letters the record): a value that is not a JSON
 *   object; a missing, `null` or wrongly typed required field (`meta`, `meta.id`, `meta.dt`,
 *   `meta.domain`, `type`, `wiki`, `title`, `namespace`, `timestamp`); an unparsable `meta.dt`.
 * - Canaries (`meta.domain == "canary"`) are reported as `{ ok: false, reason: "canary" }`
 *   before any other check (the caller drops and counts them).
 * - A wrongly typed optional field (e.g. `bot: "yes"`, `length.old: "12"`) keeps the row: its
 *   column is null and the original value goes to `extra_json` under its key (`bot`,
 *   `meta.partition`, `length.old`), so nothing is lost.
 * - Every unmapped top-level key goes to `extra_json` under its name, unknown `meta.*`,
 *   `length.*` and `revision.*` keys as `meta.<key>`, `length.<key>`, `revision.<key>`.
 *   Explicit `null`s of mapped fields are plain nulls; `null`s of unknown keys are kept.
 * - Also rejected, as the lake could not hold them unchanged: a text field with a lone UTF-16
 *   surrogate (Parquet text is UTF-8), a number that `JSON.parse` turned into `Infinity` in a
 *   field that is kept, and a kept field nested deeper than `MAX_JSON_DEPTH` levels. Such a
 *   rejection comes after some columns were written; the row is cleared again.
 *
 * @module
 */

import { RecordBatch, Struct, Table } from "apache-arrow";
import { makeData } from "apache-arrow";
import {
  BoolColumn,
  Int32Column,
  Int64Column,
  type TextFaults,
  Utf8Column,
} from "./_arrow_buffers.ts";
import { parseIsoMillis } from "./_iso_millis.ts";
import { EVENT_ARROW_SCHEMA } from "./event_schema.ts";
import { jsonValueProblem } from "./untrusted_json.ts";

/** Result of {@linkcode EventBatchBuilder.append}. */
export type AppendResult =
  | {
    ok: true;
    /** `meta.id` of the event. */
    eventId: string;
    /** `meta.dt` in epoch milliseconds (the row's `event_time`). */
    eventTimeMs: number;
    /** Bytes this row added to the in-memory buffers (an upper bound of its encoded size). */
    bytes: number;
  }
  | {
    ok: false;
    /** Why the record was not appended (`"canary"` for canary events). */
    reason: string;
  };

/** Kafka offsets held by a batch for one partition. */
export interface OffsetRange {
  /** Smallest offset appended. */
  first: number;
  /** Largest offset appended. */
  last: number;
  /** Number of rows appended from this partition. */
  count: number;
}

/** Options of {@linkcode EventBatchBuilder}. */
export interface EventBatchBuilderOptions {
  /**
   * Initial row capacity (buffers grow by doubling beyond it).
   *
   * @default {1024}
   */
  capacity?: number;
}

/** Reason given for canary events. */
export const CANARY_REASON = "canary";

/** Approximate fixed buffer bytes per row (row-indexed slots of every column). */
const FIXED_ROW_BYTES = 25 * 8 + 12 * 9 + 3 * 5 + 3;
const CANARY_RESULT: AppendResult = Object.freeze({ ok: false, reason: CANARY_REASON });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonTypeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function reject(reason: string): AppendResult {
  return { ok: false, reason };
}

function badRequired(field: string, v: unknown, expected: string): AppendResult {
  if (v === undefined || v === null) return reject(`missing required field ${field}`);
  if (typeof v === "number" && !Number.isFinite(v)) {
    return reject(`required field ${field} holds ${jsonValueProblem(v)}`);
  }
  return reject(
    `wrong type for required field ${field}: expected ${expected}, got ${jsonTypeOf(v)}`,
  );
}

function isInt32(v: unknown): v is number {
  return typeof v === "number" && (v | 0) === v;
}

function isInt64(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

/** Names the first text field (top level or `meta.*`) that is not well-formed UTF-16. */
function loneSurrogateField(value: Record<string, unknown>): string {
  for (const key in value) {
    const v = value[key];
    if (typeof v === "string" && !v.isWellFormed()) return key;
  }
  const meta = value.meta as Record<string, unknown>;
  for (const key in meta) {
    const v = meta[key];
    if (typeof v === "string" && !v.isWellFormed()) return `meta.${key}`;
  }
  return "(unknown)";
}

function addExtra(
  extra: Record<string, unknown> | undefined,
  key: string,
  value: unknown,
): Record<string, unknown> | undefined {
  if (value === undefined) return extra; // not JSON: only reachable from JS callers
  const target = extra ?? {};
  target[key] = value;
  return target;
}

/**
 * Accumulates events as Arrow column buffers; {@linkcode finish} returns the sorted table.
 *
 * @example Build a table
 * ```ts
 * const builder = new EventBatchBuilder();
 * const result = builder.append(event, 0, 42, Date.now());
 * if (!result.ok) deadLetter(result.reason);
 * const table = builder.finish();
 * ```
 */
export class EventBatchBuilder {
  #capacity: number;
  #initialCapacity: number;
  #rows = 0;
  #stringBytes = 0;
  #ranges = new Map<number, OffsetRange>();
  #minEventTime = Infinity;
  #maxEventTime = -Infinity;
  #faults: TextFaults = { loneSurrogates: 0 };

  #eventId!: Utf8Column;
  #eventTime!: Int64Column;
  #changeTime!: Int64Column;
  #ingestedAt!: Int64Column;
  #schemaUri!: Utf8Column;
  #metaStream!: Utf8Column;
  #metaDomain!: Utf8Column;
  #metaUri!: Utf8Column;
  #metaRequestId!: Utf8Column;
  #metaTopic!: Utf8Column;
  #metaPartition!: Int32Column;
  #metaOffset!: Int64Column;
  #rcId!: Int64Column;
  #type!: Utf8Column;
  #namespace!: Int32Column;
  #title!: Utf8Column;
  #titleUrl!: Utf8Column;
  #notifyUrl!: Utf8Column;
  #comment!: Utf8Column;
  #parsedcomment!: Utf8Column;
  #user!: Utf8Column;
  #bot!: BoolColumn;
  #minor!: BoolColumn;
  #patrolled!: BoolColumn;
  #lengthOld!: Int64Column;
  #lengthNew!: Int64Column;
  #revisionOld!: Int64Column;
  #revisionNew!: Int64Column;
  #logId!: Int64Column;
  #logType!: Utf8Column;
  #logAction!: Utf8Column;
  #logActionComment!: Utf8Column;
  #logParamsJson!: Utf8Column;
  #serverUrl!: Utf8Column;
  #serverName!: Utf8Column;
  #serverScriptPath!: Utf8Column;
  #wiki!: Utf8Column;
  #extraJson!: Utf8Column;
  #kafkaPartition!: Int32Column;
  #kafkaOffset!: Int64Column;

  /**
   * Creates an empty builder.
   *
   * @param options initial capacity
   */
  constructor(options: EventBatchBuilderOptions = {}) {
    const capacity = options.capacity ?? 1024;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create EventBatchBuilder as 'capacity' must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#initialCapacity = capacity;
    this.#allocate(capacity);
  }

  #allocate(c: number): void {
    const f = this.#faults;
    this.#eventId = new Utf8Column(c, 36, false, f);
    this.#eventTime = new Int64Column(c);
    this.#changeTime = new Int64Column(c);
    this.#ingestedAt = new Int64Column(c);
    this.#schemaUri = new Utf8Column(c, 1, true, f);
    this.#metaStream = new Utf8Column(c, 1, true, f);
    this.#metaDomain = new Utf8Column(c, 1, true, f);
    this.#metaUri = new Utf8Column(c, 64, false, f);
    this.#metaRequestId = new Utf8Column(c, 36, false, f);
    this.#metaTopic = new Utf8Column(c, 1, true, f);
    this.#metaPartition = new Int32Column(c);
    this.#metaOffset = new Int64Column(c);
    this.#rcId = new Int64Column(c);
    this.#type = new Utf8Column(c, 1, true, f);
    this.#namespace = new Int32Column(c);
    this.#title = new Utf8Column(c, 32, false, f);
    this.#titleUrl = new Utf8Column(c, 64, false, f);
    this.#notifyUrl = new Utf8Column(c, 80, false, f);
    this.#comment = new Utf8Column(c, 64, false, f);
    this.#parsedcomment = new Utf8Column(c, 96, false, f);
    this.#user = new Utf8Column(c, 12, false, f);
    this.#bot = new BoolColumn(c);
    this.#minor = new BoolColumn(c);
    this.#patrolled = new BoolColumn(c);
    this.#lengthOld = new Int64Column(c);
    this.#lengthNew = new Int64Column(c);
    this.#revisionOld = new Int64Column(c);
    this.#revisionNew = new Int64Column(c);
    this.#logId = new Int64Column(c);
    this.#logType = new Utf8Column(c, 1, true, f);
    this.#logAction = new Utf8Column(c, 1, true, f);
    this.#logActionComment = new Utf8Column(c, 8, false, f);
    this.#logParamsJson = new Utf8Column(c, 4, false, f);
    this.#serverUrl = new Utf8Column(c, 1, true, f);
    this.#serverName = new Utf8Column(c, 1, true, f);
    this.#serverScriptPath = new Utf8Column(c, 1, true, f);
    this.#wiki = new Utf8Column(c, 1, true, f);
    this.#extraJson = new Utf8Column(c, 1, false, f);
    this.#kafkaPartition = new Int32Column(c);
    this.#kafkaOffset = new Int64Column(c);
  }

  #utf8Columns(): Utf8Column[] {
    return [
      this.#eventId,
      this.#schemaUri,
      this.#metaStream,
      this.#metaDomain,
      this.#metaUri,
      this.#metaRequestId,
      this.#metaTopic,
      this.#type,
      this.#title,
      this.#titleUrl,
      this.#notifyUrl,
      this.#comment,
      this.#parsedcomment,
      this.#user,
      this.#logType,
      this.#logAction,
      this.#logActionComment,
      this.#logParamsJson,
      this.#serverUrl,
      this.#serverName,
      this.#serverScriptPath,
      this.#wiki,
      this.#extraJson,
    ];
  }

  #fixedColumns(): (Int64Column | Int32Column | BoolColumn)[] {
    return [
      this.#eventTime,
      this.#changeTime,
      this.#ingestedAt,
      this.#metaPartition,
      this.#metaOffset,
      this.#rcId,
      this.#namespace,
      this.#bot,
      this.#minor,
      this.#patrolled,
      this.#lengthOld,
      this.#lengthNew,
      this.#revisionOld,
      this.#revisionNew,
      this.#logId,
      this.#kafkaPartition,
      this.#kafkaOffset,
    ];
  }

  #grow(): void {
    const c = this.#capacity * 2;
    for (const column of this.#utf8Columns()) column.growRows(c);
    for (const column of this.#fixedColumns()) column.growRows(c);
    this.#capacity = c;
  }

  /** Number of rows appended since the last {@linkcode finish}. */
  get rowCount(): number {
    return this.#rows;
  }

  /**
   * Bytes of every column buffer allocated, capacity included: what the builder holds in
   * memory (buffers grow by doubling, so up to twice {@linkcode byteSize}, and an almost
   * empty builder still holds its initial capacity).
   */
  get allocatedBytes(): number {
    let total = 0;
    for (const column of this.#utf8Columns()) total += column.allocatedBytes;
    for (const column of this.#fixedColumns()) total += column.allocatedBytes;
    return total;
  }

  /** Running estimate of the bytes buffered (strings + fixed-width slots), for file sizes. */
  get byteSize(): number {
    return this.#stringBytes + this.#rows * FIXED_ROW_BYTES;
  }

  /** Smallest `event_time` appended (epoch ms), or `Infinity` when empty. */
  get minEventTimeMs(): number {
    return this.#minEventTime;
  }

  /** Largest `event_time` appended (epoch ms), or `-Infinity` when empty. */
  get maxEventTimeMs(): number {
    return this.#maxEventTime;
  }

  /**
   * Returns the Kafka offsets of the appended rows per partition (a copy).
   *
   * @returns partition → first/last offset and row count
   */
  offsetRanges(): Map<number, OffsetRange> {
    const copy = new Map<number, OffsetRange>();
    for (const [p, r] of this.#ranges) {
      copy.set(p, { first: r.first, last: r.last, count: r.count });
    }
    return copy;
  }

  /**
   * Maps one record value to a row, or says why it cannot be one.
   *
   * @param value the record value as returned by the REST Proxy `json` format (parsed JSON)
   * @param partition the record's Kafka partition
   * @param offset the record's Kafka offset
   * @param ingestedAtMs the consumer's receive time (epoch ms), stored as `ingested_at`
   * @returns `ok: true` with the event id, event time and buffered bytes; or the reason
   */
  append(value: unknown, partition: number, offset: number, ingestedAtMs: number): AppendResult {
    if (!isObject(value)) {
      return reject(`value is not a JSON object: got ${jsonTypeOf(value)}`);
    }
    const meta = value.meta;
    if (!isObject(meta)) return badRequired("meta", meta, "object");
    const domain = meta.domain;
    if (domain === CANARY_REASON) return CANARY_RESULT;
    const id = meta.id;
    if (typeof id !== "string" || id === "") return badRequired("meta.id", id, "string");
    const dt = meta.dt;
    if (typeof dt !== "string") return badRequired("meta.dt", dt, "string");
    const eventTime = parseIsoMillis(dt);
    if (eventTime !== eventTime) {
      const shown = dt.length > 100 ? JSON.stringify(dt.slice(0, 100)) + "…" : JSON.stringify(dt);
      return reject(`unparsable meta.dt: expected an ISO-8601 instant, got ${shown}`);
    }
    if (typeof domain !== "string") return badRequired("meta.domain", domain, "string");
    let type = value.type;
    if (typeof type !== "string") {
      if (!isInt32(type)) return badRequired("type", type, "string");
    }
    const wiki = value.wiki;
    if (typeof wiki !== "string" || wiki === "") return badRequired("wiki", wiki, "string");
    const title = value.title;
    if (typeof title !== "string") return badRequired("title", title, "string");
    const namespace = value.namespace;
    if (!isInt32(namespace)) return badRequired("namespace", namespace, "32-bit integer");
    const timestamp = value.timestamp;
    if (!isInt64(timestamp)) return badRequired("timestamp", timestamp, "integer");
    if (!Number.isSafeInteger(offset) || !isInt32(partition)) {
      throw new RangeError(
        `Cannot append record as its position must be integers: current value is partition ${partition}, offset ${offset}`,
      );
    }

    if (this.#rows === this.#capacity) this.#grow();
    const r = this.#rows;
    const faults = this.#faults.loneSurrogates;
    let extra: Record<string, unknown> | undefined;
    let problem: string | undefined;
    let bytes = 0;
    if (typeof type !== "string") {
      extra = addExtra(extra, "type", type);
      type = String(type);
    }
    bytes += this.#eventId.set(r, id);
    this.#eventTime.set(r, eventTime);
    this.#changeTime.set(r, timestamp);
    this.#ingestedAt.set(r, Math.floor(ingestedAtMs));
    bytes += this.#metaDomain.set(r, domain);
    bytes += this.#type.set(r, type as string);
    this.#namespace.set(r, namespace);
    bytes += this.#title.set(r, title);
    bytes += this.#wiki.set(r, wiki);
    this.#kafkaPartition.set(r, partition);
    this.#kafkaOffset.set(r, offset);

    let metaSchemaUri: unknown = undefined;
    for (const key in meta) {
      const v = meta[key];
      switch (key) {
        case "id":
        case "dt":
        case "domain":
          break;
        case "uri":
          if (typeof v === "string") bytes += this.#metaUri.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.uri", v);
          break;
        case "request_id":
          if (typeof v === "string") bytes += this.#metaRequestId.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.request_id", v);
          break;
        case "stream":
          if (typeof v === "string") bytes += this.#metaStream.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.stream", v);
          break;
        case "topic":
          if (typeof v === "string") bytes += this.#metaTopic.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.topic", v);
          break;
        case "partition":
          if (isInt32(v)) this.#metaPartition.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.partition", v);
          break;
        case "offset":
          if (isInt64(v)) this.#metaOffset.set(r, v);
          else if (v !== null) extra = addExtra(extra, "meta.offset", v);
          break;
        case "schema_uri":
          metaSchemaUri = v;
          break;
        default:
          extra = addExtra(extra, "meta." + key, v);
      }
    }

    let schemaUriSet = false;
    for (const key in value) {
      const v = value[key];
      switch (key) {
        case "meta":
        case "type":
        case "namespace":
        case "title":
        case "timestamp":
        case "wiki":
          break;
        case "$schema":
          if (typeof v === "string") {
            bytes += this.#schemaUri.set(r, v);
            schemaUriSet = true;
          } else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "id":
          if (isInt64(v)) this.#rcId.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "title_url":
          if (typeof v === "string") bytes += this.#titleUrl.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "notify_url":
          if (typeof v === "string") bytes += this.#notifyUrl.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "comment":
          if (typeof v === "string") bytes += this.#comment.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "parsedcomment":
          if (typeof v === "string") bytes += this.#parsedcomment.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "user":
          if (typeof v === "string") bytes += this.#user.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "bot":
          if (typeof v === "boolean") this.#bot.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "minor":
          if (typeof v === "boolean") this.#minor.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "patrolled":
          if (typeof v === "boolean") this.#patrolled.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "length":
          if (isObject(v)) extra = this.#oldNew(r, v, key, this.#lengthOld, this.#lengthNew, extra);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "revision":
          if (isObject(v)) {
            extra = this.#oldNew(r, v, key, this.#revisionOld, this.#revisionNew, extra);
          } else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "log_id":
          if (isInt64(v)) this.#logId.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "log_type":
          if (typeof v === "string") bytes += this.#logType.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "log_action":
          if (typeof v === "string") bytes += this.#logAction.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "log_action_comment":
          if (typeof v === "string") bytes += this.#logActionComment.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "log_params":
          if (v !== null) {
            const p = jsonValueProblem(v);
            if (p) problem ??= `field log_params holds ${p}`;
            else bytes += this.#logParamsJson.set(r, JSON.stringify(v));
          }
          break;
        case "server_url":
          if (typeof v === "string") bytes += this.#serverUrl.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "server_name":
          if (typeof v === "string") bytes += this.#serverName.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        case "server_script_path":
          if (typeof v === "string") bytes += this.#serverScriptPath.set(r, v);
          else if (v !== null) extra = addExtra(extra, key, v);
          break;
        default:
          extra = addExtra(extra, key, v);
      }
    }
    if (metaSchemaUri !== undefined && metaSchemaUri !== null) {
      if (!schemaUriSet && typeof metaSchemaUri === "string") {
        bytes += this.#schemaUri.set(r, metaSchemaUri);
      } else {
        extra = addExtra(extra, "meta.schema_uri", metaSchemaUri);
      }
    }
    if (extra !== undefined && problem === undefined) {
      for (const key in extra) {
        const p = jsonValueProblem(extra[key]);
        if (p) {
          problem = `field ${key} holds ${p}`;
          break;
        }
      }
      if (problem === undefined) bytes += this.#extraJson.set(r, JSON.stringify(extra));
    }
    if (problem === undefined && this.#faults.loneSurrogates !== faults) {
      problem = `field ${loneSurrogateField(value)} holds a lone UTF-16 surrogate (an unpaired ` +
        "\\uD800-\\uDFFF escape), which UTF-8 text cannot store";
    }
    if (problem !== undefined) {
      for (const column of this.#utf8Columns()) column.clear(r);
      for (const column of this.#fixedColumns()) column.clear(r);
      return reject(problem);
    }

    this.#rows = r + 1;
    this.#stringBytes += bytes;
    if (eventTime < this.#minEventTime) this.#minEventTime = eventTime;
    if (eventTime > this.#maxEventTime) this.#maxEventTime = eventTime;
    const range = this.#ranges.get(partition);
    if (range === undefined) {
      this.#ranges.set(partition, { first: offset, last: offset, count: 1 });
    } else {
      if (offset < range.first) range.first = offset;
      if (offset > range.last) range.last = offset;
      range.count++;
    }
    return { ok: true, eventId: id, eventTimeMs: eventTime, bytes: bytes + FIXED_ROW_BYTES };
  }

  #oldNew(
    r: number,
    v: Record<string, unknown>,
    name: string,
    oldColumn: Int64Column,
    newColumn: Int64Column,
    extra: Record<string, unknown> | undefined,
  ): Record<string, unknown> | undefined {
    // `Object.keys`, not `for…in`: on the re-timed backlog of `bench:backlog`, V8 left this
    // `for…in` on its slow path and appending cost 6.2 instead of 2.7 µs per event (measured
    // with the broker's bodies in one process; the keys and their order are the same, as values
    // come from `JSON.parse` and have no enumerable inherited keys)
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const x = v[key];
      if (x === null && (key === "old" || key === "new")) continue;
      if (key === "old" && isInt64(x)) oldColumn.set(r, x);
      else if (key === "new" && isInt64(x)) newColumn.set(r, x);
      else extra = addExtra(extra, name + "." + key, x);
    }
    return extra;
  }

  /**
   * Builds the Arrow table of the appended rows, sorted by (`event_time`, `kafka_partition`,
   * `kafka_offset`), and resets the builder to empty (same initial capacity).
   *
   * @returns the table (schema {@linkcode EVENT_ARROW_SCHEMA})
   */
  finish(): Table {
    const table = this.#table(this.#sortPermutation(this.#rows));
    this.#reset();
    return table;
  }

  /**
   * The rows {@linkcode finish} would return, in the same order, as tables of at most
   * `sliceRows` rows built one at a time (so only one slice is copied out at once); the builder
   * is reset when the last one has been taken or the iteration stops.
   *
   * @param sliceRows rows per table
   * @returns the tables, in order (none when the builder is empty)
   */
  *finishSlices(sliceRows: number): Generator<Table> {
    const n = this.#rows;
    const perm = this.#sortPermutation(n);
    try {
      for (let at = 0; at < n; at += sliceRows) {
        yield this.#table(perm.subarray(at, Math.min(n, at + sliceRows)));
      }
    } finally {
      this.#reset();
    }
  }

  /** The table of `rows` (written row indexes, in output order). */
  #table(rows: Uint32Array): Table {
    const fields = EVENT_ARROW_SCHEMA.fields;
    const columns = [
      this.#eventId,
      this.#eventTime,
      this.#changeTime,
      this.#ingestedAt,
      this.#schemaUri,
      this.#metaStream,
      this.#metaDomain,
      this.#metaUri,
      this.#metaRequestId,
      this.#metaTopic,
      this.#metaPartition,
      this.#metaOffset,
      this.#rcId,
      this.#type,
      this.#namespace,
      this.#title,
      this.#titleUrl,
      this.#notifyUrl,
      this.#comment,
      this.#parsedcomment,
      this.#user,
      this.#bot,
      this.#minor,
      this.#patrolled,
      this.#lengthOld,
      this.#lengthNew,
      this.#revisionOld,
      this.#revisionNew,
      this.#logId,
      this.#logType,
      this.#logAction,
      this.#logActionComment,
      this.#logParamsJson,
      this.#serverUrl,
      this.#serverName,
      this.#serverScriptPath,
      this.#wiki,
      this.#extraJson,
      this.#kafkaPartition,
      this.#kafkaOffset,
    ];
    const children = columns.map((c, i) => c.build(fields[i].type, rows));
    const struct = makeData({
      type: new Struct(fields),
      length: rows.length,
      nullCount: 0,
      children,
    });
    return new Table([new RecordBatch(EVENT_ARROW_SCHEMA, struct)]);
  }

  #sortPermutation(n: number): Uint32Array {
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const time = this.#eventTime.values;
    const part = this.#kafkaPartition.values;
    const off = this.#kafkaOffset.values;
    let sorted = true;
    for (let i = 1; i < n; i++) {
      const a = i - 1;
      if (
        time[a] > time[i] ||
        (time[a] === time[i] &&
          (part[a] > part[i] || (part[a] === part[i] && off[a] > off[i])))
      ) {
        sorted = false;
        break;
      }
    }
    if (sorted) return perm;
    return perm.sort((a, b) => (time[a] - time[b]) || (part[a] - part[b]) || (off[a] - off[b]));
  }

  #reset(): void {
    this.#rows = 0;
    this.#stringBytes = 0;
    this.#ranges = new Map();
    this.#minEventTime = Infinity;
    this.#maxEventTime = -Infinity;
    // back to the initial capacity: a builder that is dropped after its rows are taken (a
    // sealed hour) must not leave a large empty allocation behind
    this.#capacity = this.#initialCapacity;
    this.#allocate(this.#capacity);
  }
}
