/**
 * Builds one lake unit: every record of a contiguous offset range of one Kafka
 * partition goes in, rows into one Arrow builder per UTC (date, hour) bucket, bad records
 * into the unit's dead-letter lines, canaries and duplicates are counted. When
 * sealed, each bucket becomes one Parquet file with a deterministic key and the
 * unit yields its {@linkcode UnitManifest}. Everything that decides the output is
 * a function of the records plus the manifest (ingestion time, duplicate list),
 * so a unit can be rebuilt byte for byte.
 *
 * @module
 */
import { parseIsoMillis } from "./_iso_millis.ts";
import { CANARY_REASON, EventBatchBuilder } from "./event_batch_builder.ts";
import { SCHEMA_VERSION } from "./event_schema.ts";
import { EventIdKey, EventIdSet } from "./event_id_set.ts";
import { hourStart, type LakeLayout } from "./lake_layout.ts";
import { encodeParquetTables, type ParquetCompression } from "./parquet_encoder.ts";
import type { LakeRecord, UnreadableRecord } from "./lake_record.ts";
import { boundedJson } from "./untrusted_json.ts";
import {
  MANIFEST_FORMAT,
  type ManifestFile,
  type PartitionPosition,
  type PartitionRange,
  type RotationReason,
  type UnitManifest,
} from "./unit_manifest.ts";

/**
 * Rows copied out of a builder and into WebAssembly at a time when a file is encoded (about
 * 8 MiB of recentchange rows): the seal's extra memory, whatever the file's size.
 */
const SLICE_ROWS = 8192;

/** Initial row capacity of an hour's builder. */
const BUCKET_CAPACITY = 128;

/** Limits that seal a unit. */
export interface UnitLimits {
  /** Rows per file (bucket). */
  maxRows: number;
  /** Estimated in-memory bytes per file (bucket): Arrow buffers before encoding. */
  maxFileBytes: number;
  /** Buckets (open files) per unit. */
  maxOpenFiles: number;
  /** Estimated in-memory bytes of the whole unit (all buckets and dead letters). */
  maxBufferBytes: number;
}

/** What happened to one record. */
export type RecordOutcome = "row" | "dlq" | "canary" | "duplicate";

/** Ids already in the lake (previous units); consulted for new units only. */
export interface SeenIds {
  /** Says whether the id (prepared once per record) was written by an earlier unit. */
  has(key: EventIdKey): boolean;
}

/** Options for {@linkcode LakeUnit}. */
export interface LakeUnitOptions {
  /** The Kafka partition the unit covers. */
  partition: number;
  /** Unit sequence number within the partition. */
  seq: number;
  /** The consumer instance building the unit (recorded in the manifest). */
  owner: string;
  /** Kafka topic. */
  topic: string;
  /** Key layout. */
  layout: LakeLayout;
  /** `ingested_at` of every row. */
  ingestedAtMs: number;
  /** Rotation limits. */
  limits: UnitLimits;
  /** Ids of earlier units, for new units. */
  seen?: SeenIds;
  /** For a rebuild: exactly these records are duplicates (`[partition, first, last]`). */
  replayDuplicates?: readonly [number, number, number][];
}

/** An object to upload. */
export interface UnitObject {
  /** Object key. */
  key: string;
  /** Content. */
  bytes: Uint8Array;
  /** MIME type. */
  contentType: string;
}

/** A sealed unit, ready to publish. */
export interface SealedUnit {
  /** The manifest (written first). */
  manifest: UnitManifest;
  /** Data files and the dead-letter object. */
  objects: UnitObject[];
  /** Event ids written, for the dedupe window. */
  eventIds: EventIdSet;
  /** Largest event time written, or undefined. */
  maxEventTimeMs: number | undefined;
}

interface Bucket {
  hourMs: number;
  builder: EventBatchBuilder;
}

interface Preview {
  id: string;
  hourMs: number;
}

function preview(value: unknown): Preview | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const meta = (value as { meta?: unknown }).meta as
    | { id?: unknown; dt?: unknown; domain?: unknown }
    | undefined;
  if (typeof meta !== "object" || meta === null || meta.domain === CANARY_REASON) return undefined;
  if (typeof meta.id !== "string" || meta.id === "" || typeof meta.dt !== "string") {
    return undefined;
  }
  const ms = parseIsoMillis(meta.dt);
  return Number.isNaN(ms) ? undefined : { id: meta.id, hourMs: hourStart(ms) };
}

function keepStart(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.charCodeAt(maxChars - 1);
  return text.slice(0, cut >= 0xd800 && cut <= 0xdbff ? maxChars - 1 : maxChars);
}

/** Estimated bytes of one dead-letter line beyond its value. */
const DLQ_LINE_OVERHEAD = 120;

/**
 * Characters of a value's JSON text kept in a dead-letter line (64 Ki, as the producer keeps
 * the first 64 KiB of an event too large to parse); a longer value is kept as its first
 * characters (`valueText`) and its whole length (`valueLength`) instead of `value`.
 */
export const DEAD_LETTER_VALUE_MAX_CHARS = 65_536;

/** Longest reason kept in a dead-letter line. */
const DEAD_LETTER_REASON_MAX_CHARS = 1000;

/**
 * Renders one dead-letter line: `{topic, partition, offset, reason, value}`, or, for a value
 * whose JSON text is longer than {@linkcode DEAD_LETTER_VALUE_MAX_CHARS} (a 1 MB string, a
 * 200,000-deep array), `{topic, partition, offset, reason, value: null, valueText,
 * valueLength}`; a value that could not be parsed is always kept as `valueText` and
 * `valueLength`. Never recurses, so no value can make it throw.
 *
 * @param topic the topic
 * @param partition the record's partition
 * @param offset the record's offset
 * @param reason why the record is not a row
 * @param value the parsed value
 * @param unparsed the value's text, when it could not be parsed
 * @returns the line, without the newline
 */
export function deadLetterLine(
  topic: string,
  partition: number,
  offset: number,
  reason: string,
  value: unknown,
  unparsed?: string,
): string {
  const why = reason.length > DEAD_LETTER_REASON_MAX_CHARS
    ? reason.slice(0, DEAD_LETTER_REASON_MAX_CHARS) + "…"
    : reason;
  const head = `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${offset},` +
    `"reason":${JSON.stringify(why)}`;
  if (unparsed !== undefined) {
    return `${head},"value":null,"valueText":${
      JSON.stringify(keepStart(unparsed, DEAD_LETTER_VALUE_MAX_CHARS))
    },"valueLength":${unparsed.length}}`;
  }
  const json = boundedJson(value, DEAD_LETTER_VALUE_MAX_CHARS);
  if (json.length <= DEAD_LETTER_VALUE_MAX_CHARS) return `${head},"value":${json.text}}`;
  return `${head},"value":null,"valueText":${
    JSON.stringify(json.text)
  },"valueLength":${json.length}}`;
}

/** One unit under construction. */
export class LakeUnit {
  /** The Kafka partition the unit covers. */
  readonly partition: number;
  /** Unit sequence number within the partition. */
  readonly seq: number;
  /** The consumer instance building the unit. */
  readonly owner: string;
  /** `ingested_at` of every row (epoch ms). */
  readonly ingestedAtMs: number;
  #topic: string;
  #layout: LakeLayout;
  #limits: UnitLimits;
  #seen: SeenIds | undefined;
  #replayDuplicates: Set<string> | undefined;
  #buckets = new Map<number, Bucket>();
  #scratch: EventBatchBuilder | undefined;
  #ids = new EventIdSet();
  /** The current record's id, packed once for the unit's set and the window's. */
  #key = new EventIdKey();
  #ranges = new Map<number, PartitionRange>();
  #dlq: { partition: number; offset: number; line: string }[] = [];
  #dlqBytes = 0;
  #duplicates: [number, number, number][] = [];
  #records = 0;
  #rows = 0;
  #canaries = 0;
  #dupCount = 0;

  /**
   * Creates an instance.
   *
   * @param options sequence number, layout, ingestion time, limits, dedupe inputs
   */
  constructor(options: LakeUnitOptions) {
    this.partition = options.partition;
    this.seq = options.seq;
    this.owner = options.owner;
    this.ingestedAtMs = options.ingestedAtMs;
    this.#topic = options.topic;
    this.#layout = options.layout;
    this.#limits = options.limits;
    this.#seen = options.seen;
    if (options.replayDuplicates) {
      this.#replayDuplicates = new Set();
      for (const [p, first, last] of options.replayDuplicates) {
        for (let o = first; o <= last; o++) this.#replayDuplicates.add(`${p}:${o}`);
      }
    }
  }

  /** Records taken in (all outcomes). */
  get recordCount(): number {
    return this.#records;
  }

  /** Rows buffered. */
  get rowCount(): number {
    return this.#rows;
  }

  /** Open files (hour buckets). */
  get openFiles(): number {
    return this.#buckets.size;
  }

  /** Bytes held in memory: every bucket's allocated column buffers, and the dead letters. */
  get bufferBytes(): number {
    let total = this.#dlqBytes;
    for (const b of this.#buckets.values()) total += b.builder.allocatedBytes;
    return total;
  }

  /** Offsets covered so far. */
  get ranges(): PartitionRange[] {
    return [...this.#ranges.values()].sort((a, b) => a.partition - b.partition);
  }

  /**
   * Says whether taking `record` would break a limit, so the unit must be sealed first.
   *
   * @param record the next record
   * @returns the reason, or `undefined` when the record fits
   */
  limitBefore(record: LakeRecord): RotationReason | undefined {
    if (this.#records === 0) return undefined;
    const p = preview(record.value);
    if (!p) return undefined;
    const bucket = this.#buckets.get(p.hourMs);
    if (!bucket) return this.#buckets.size >= this.#limits.maxOpenFiles ? "open_files" : undefined;
    return bucket.builder.rowCount >= this.#limits.maxRows ? "rows" : undefined;
  }

  /**
   * Says whether the unit has reached a size limit after the last record.
   *
   * @returns the reason, or `undefined`
   */
  limitAfter(): RotationReason | undefined {
    let total = this.#dlqBytes;
    for (const b of this.#buckets.values()) {
      if (b.builder.byteSize >= this.#limits.maxFileBytes) return "bytes";
      total += b.builder.allocatedBytes;
    }
    return total >= this.#limits.maxBufferBytes ? "memory" : undefined;
  }

  #cover(partition: number, offset: number): void {
    if (partition !== this.partition) {
      throw new Error(
        `Internal error: record ${partition}:${offset} offered to a unit of partition ` +
          `${this.partition}; report this`,
      );
    }
    const r = this.#ranges.get(partition);
    if (!r) this.#ranges.set(partition, { partition, start: offset, end: offset });
    else if (offset > r.end) r.end = offset;
    else if (offset < r.start) r.start = offset;
    this.#records++;
  }

  #markDuplicate(partition: number, offset: number): void {
    this.#dupCount++;
    const last = this.#duplicates.at(-1);
    if (last && last[0] === partition && last[2] === offset - 1) last[2] = offset;
    else this.#duplicates.push([partition, offset, offset]);
  }

  #deadLetter(
    partition: number,
    offset: number,
    reason: string,
    value: unknown,
    unparsed?: string,
  ): void {
    const line = deadLetterLine(this.#topic, partition, offset, reason, value, unparsed);
    this.#dlq.push({ partition, offset, line });
    this.#dlqBytes += line.length + DLQ_LINE_OVERHEAD;
  }

  /**
   * Takes one record into the unit.
   *
   * @param record the record (value as returned by a `format: json` read)
   * @returns what happened to it
   */
  add(record: LakeRecord): RecordOutcome {
    const { partition, offset, value } = record;
    this.#cover(partition, offset);
    if (record.unreadable) {
      this.#deadLetter(partition, offset, record.unreadable.reason, null, record.unreadable.text);
      return "dlq";
    }
    const p = preview(value);
    // the id is packed once, for the unit's set, the window's and the add below
    const key = p === undefined ? undefined : this.#key.of(p.id);
    const duplicate = this.#replayDuplicates
      ? this.#replayDuplicates.has(`${partition}:${offset}`)
      : key !== undefined && (this.#ids.hasKey(key) || (this.#seen?.has(key) ?? false));
    if (duplicate) {
      this.#markDuplicate(partition, offset);
      return "duplicate";
    }
    let builder: EventBatchBuilder;
    if (p) {
      let bucket = this.#buckets.get(p.hourMs);
      if (!bucket) {
        // small at first: a unit may hold many hours with few rows each (buffers double)
        bucket = {
          hourMs: p.hourMs,
          builder: new EventBatchBuilder({ capacity: BUCKET_CAPACITY }),
        };
        this.#buckets.set(p.hourMs, bucket);
      }
      builder = bucket.builder;
    } else {
      builder = this.#scratch ??= new EventBatchBuilder({ capacity: 16 });
    }
    const result = builder.append(value, partition, offset, this.ingestedAtMs);
    if (!result.ok) {
      if (result.reason === CANARY_REASON) {
        this.#canaries++;
        return "canary";
      }
      this.#deadLetter(partition, offset, result.reason, value);
      return "dlq";
    }
    if (!p || !key || hourStart(result.eventTimeMs) !== p.hourMs || result.eventId !== key.id) {
      throw new Error(
        `Internal error: the batch builder accepted record ${partition}:${offset} with an ` +
          "event time or id the lake writer did not expect; report this with the record",
      );
    }
    this.#ids.addKey(key);
    this.#rows++;
    return "row";
  }

  /**
   * Dead-letters a record the proxy could not deliver as JSON.
   *
   * @param poison its position and the proxy's message
   */
  addPoison(poison: UnreadableRecord): void {
    this.#cover(poison.partition, poison.offset);
    this.#deadLetter(
      poison.partition,
      poison.offset,
      `not JSON: the REST Proxy could not deserialize it (${poison.message})`,
      null,
    );
  }

  /**
   * Encodes the unit: one Parquet file per bucket in hour order, plus the dead letters.
   *
   * @param options rotation reason, compression, sealing wall time
   * @returns the manifest and objects
   */
  async seal(options: {
    rotation: RotationReason;
    compression: ParquetCompression;
    nowMs: number;
  }): Promise<SealedUnit> {
    const files: ManifestFile[] = [];
    const objects: UnitObject[] = [];
    let maxEventTimeMs: number | undefined;
    // a bucket whose records were all dead-lettered or canaries holds no row: no file for it
    const buckets = [...this.#buckets.values()].filter((b) => b.builder.rowCount > 0)
      .sort((a, b) => a.hourMs - b.hourMs);
    for (const [index, bucket] of buckets.entries()) {
      const b = bucket.builder;
      const offsets = [...b.offsetRanges()].sort((x, y) => x[0] - y[0]).map(([partition, r]) => ({
        partition,
        first: r.first,
        last: r.last,
        count: r.count,
      }));
      const minT = b.minEventTimeMs;
      const maxT = b.maxEventTimeMs;
      const rows = b.rowCount;
      const key = this.#layout.dataKey(bucket.hourMs, this.partition, this.seq, index);
      const bytes = await encodeParquetTables(b.finishSlices(SLICE_ROWS), {
        compression: options.compression,
        metadata: {
          kafka_partition: this.partition,
          unit_seq: this.seq,
          kafka_topic: this.#topic,
          kafka_offsets: offsets,
          ingested_at: new Date(this.ingestedAtMs).toISOString(),
        },
      });
      if (maxEventTimeMs === undefined || maxT > maxEventTimeMs) maxEventTimeMs = maxT;
      files.push({
        key,
        rows,
        bytes: bytes.length,
        minEventTime: new Date(minT).toISOString(),
        maxEventTime: new Date(maxT).toISOString(),
        offsets,
      });
      objects.push({ key, bytes, contentType: "application/vnd.apache.parquet" });
    }
    let dlq: UnitManifest["dlq"] = null;
    if (this.#dlq.length > 0) {
      // sorted by position so that a rebuild writes the same bytes whatever the read order
      const lines = this.#dlq.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
        .map((d) => d.line);
      const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
      const key = this.#layout.dlqKey(this.partition, this.seq);
      dlq = { key, count: this.#dlq.length, bytes: bytes.length };
      objects.push({ key, bytes, contentType: "application/x-ndjson" });
    }
    const positions: PartitionPosition[] = this.ranges.map((r) => ({
      partition: r.partition,
      offset: r.end,
    }));
    const manifest: UnitManifest = {
      format: MANIFEST_FORMAT,
      partition: this.partition,
      seq: this.seq,
      owner: this.owner,
      topic: this.#topic,
      schemaVersion: SCHEMA_VERSION,
      compression: options.compression,
      ingestedAt: new Date(this.ingestedAtMs).toISOString(),
      sealedAt: new Date(options.nowMs).toISOString(),
      rotation: options.rotation,
      ranges: this.ranges,
      positions,
      duplicates: this.#duplicates,
      files,
      dlq,
      counts: {
        records: this.#records,
        rows: this.#rows,
        dlq: this.#dlq.length,
        canaries: this.#canaries,
        duplicates: this.#dupCount,
      },
    };
    const eventIds = this.#ids;
    this.#ids = new EventIdSet();
    this.#buckets.clear();
    this.#dlq = [];
    this.#dlqBytes = 0;
    return { manifest, objects, eventIds, maxEventTimeMs };
  }
}
