/**
 * Encodes an Arrow table to Parquet bytes with parquet-wasm (arrow-rs compiled to WebAssembly):
 * ZSTD by default (parquet-wasm exposes no ZSTD level: arrow-rs' default, level 1), dictionary
 * encoding for strings and low-cardinality integers, delta encoding for timestamps and the Kafka
 * offset, chunk-level min/max statistics (except on free-text and random-id columns), one data
 * page per column chunk of up to 131,072 rows (large pages give ZSTD more context), key-value
 * metadata with the schema version plus caller metadata (for example the Kafka offset range).
 *
 * Timestamps: Arrow Timestamp(ms, UTC) is written as INT64 TIMESTAMP(MILLIS,
 * isAdjustedToUTC=true). Parquet has no seconds unit and arrow-rs would write Timestamp(s) as a
 * bare INT64 (DuckDB then reads a BIGINT), so every Timestamp(s) column (`change_time`) is
 * converted to Timestamp(ms) with the same time zone before writing: it is stored as
 * TIMESTAMP(MILLIS, UTC) holding whole seconds, and DuckDB reads it as
 * `TIMESTAMP WITH TIME ZONE` like the other timestamps.
 *
 * @module
 */

import {
  type Data,
  DataType,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table as ArrowTable,
  tableToIPC,
  TimestampMillisecond,
  TimeUnit,
} from "apache-arrow";
import {
  Compression,
  EnabledStatistics,
  Encoding,
  type RecordBatch as WasmRecordBatch,
  Table as WasmTable,
  transformParquetStream,
  writeParquet,
  type WriterProperties,
  WriterPropertiesBuilder,
} from "parquet-wasm";
import { VectorAssembler } from "apache-arrow/visitor/vectorassembler";
import { concatBytes } from "../cli/concat_bytes.ts";
import { SCHEMA_VERSION } from "./event_schema.ts";
import { PARQUET_COMPRESSIONS, type ParquetCompression } from "./parquet_compression.ts";

export { PARQUET_COMPRESSIONS, type ParquetCompression };

/** The key-value metadata key under which every file carries its wikistream metadata (JSON). */
export const WIKISTREAM_METADATA_KEY = "wikistream";

/** Options of {@linkcode encodeParquet}. */
export interface ParquetEncodeOptions {
  /**
   * Compression codec of every column chunk.
   *
   * @default {"zstd"}
   */
  compression?: ParquetCompression;
  /** Extra metadata, written with `schema_version` as one JSON object under the key `wikistream`. */
  metadata?: Record<string, unknown>;
  /**
   * Maximum rows per row group.
   *
   * @default {1048576}
   */
  rowGroupSize?: number;
}

const CODECS: Record<ParquetCompression, Compression> = {
  zstd: Compression.ZSTD,
  snappy: Compression.SNAPPY,
  gzip: Compression.GZIP,
  lz4: Compression.LZ4_RAW,
  brotli: Compression.BROTLI,
  none: Compression.UNCOMPRESSED,
};

/**
 * Integer columns written PLAIN (no dictionary): measured on the recorded events, ZSTD over plain
 * values beats both dictionary and delta encoding for these (ids, lengths, revisions).
 */
const PLAIN_COLUMNS = [
  "event_id",
  "meta_offset",
  "rc_id",
  "length_old",
  "length_new",
  "revision_old",
  "revision_new",
];

/** Sorted or clustered integer columns written DELTA_BINARY_PACKED (no dictionary). */
const DELTA_COLUMNS = ["event_time", "change_time", "ingested_at", "kafka_offset"];

/**
 * Free-text and random-id columns written without statistics: their min/max never prunes a row
 * group (ids are random, text is unsorted) and computing them costs about 6% of the encode time.
 */
const NO_STATISTICS_COLUMNS = [
  "event_id",
  "meta_uri",
  "meta_request_id",
  "title_url",
  "notify_url",
  "comment",
  "parsedcomment",
  "log_action_comment",
  "log_params_json",
  "extra_json",
];

/** Rows per write batch: one data page per column chunk of up to this many rows. */
const WRITE_BATCH_ROWS = 131072;

/** Data page size limit (checked after each write batch). */
const DATA_PAGE_BYTES = 64 * 1024 * 1024;

/** Dictionary page size limit (above it a column chunk falls back to plain). */
const DICTIONARY_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Encodes an Arrow table as one Parquet file.
 *
 * @param table the Arrow table (any schema; the lake uses the event schema)
 * @param options compression, metadata and row group size
 * @returns the Parquet file bytes
 */
export function encodeParquet(table: ArrowTable, options: ParquetEncodeOptions = {}): Uint8Array {
  const properties = writerProperties(table.schema, options);
  // writeParquet consumes (frees) both the wasm table and the properties.
  const ipc = tableToIpcStream(coerceSecondTimestamps(table));
  const wasmTable = WasmTable.fromIPCStream(ipc);
  return writeParquet(wasmTable, properties);
}

/**
 * Encodes tables with one schema as one Parquet file, one table at a time: each is copied into
 * WebAssembly memory as it is written and freed after, so memory holds one table plus the
 * encoded row group, not the whole file's data twice over (the difference from
 * {@linkcode encodeParquet}). The bytes depend on how the rows are split (a data page ends after
 * a table once it holds 20,000 rows, arrow-rs' row limit), so a split that depends only on the
 * row count keeps a rebuild byte for byte.
 *
 * @param tables the tables, in file order, at least one, all of the first one's schema (for
 *   example `EventBatchBuilder.finishSlices`)
 * @param options compression, metadata and row group size
 * @returns the Parquet file bytes
 */
export async function encodeParquetTables(
  tables: Iterable<ArrowTable>,
  options: ParquetEncodeOptions = {},
): Promise<Uint8Array> {
  const iterator = tables[Symbol.iterator]();
  let next = iterator.next();
  if (next.done) throw new RangeError("Cannot encode Parquet as there is no table to encode");
  const properties = writerProperties(next.value.schema, options);
  const batches = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      if (next.done) return controller.close();
      const wasmTable = WasmTable.fromIPCStream(
        tableToIpcStream(coerceSecondTimestamps(next.value)),
      );
      try {
        for (const batch of wasmTable.recordBatches()) controller.enqueue(batch);
      } finally {
        wasmTable.free();
      }
      next = iterator.next();
    },
    cancel() {
      iterator.return?.();
    },
  });
  // the writer emits each row group as it completes, and the footer at the end
  const chunks: Uint8Array[] = [];
  for await (const chunk of await transformParquetStream(batches, properties)) chunks.push(chunk);
  return concatBytes(chunks);
}

/**
 * The writer properties of a file: codec, encodings, statistics, row group size and metadata.
 *
 * @param schema the table's schema (settings for columns it lacks are left out)
 * @param options compression, metadata and row group size
 * @returns the properties (consumed by the write)
 */
function writerProperties(schema: Schema, options: ParquetEncodeOptions = {}): WriterProperties {
  const compression = options.compression ?? "zstd";
  const codec = CODECS[compression];
  if (codec === undefined) {
    throw new TypeError(
      `Cannot encode Parquet as 'compression' must be one of ${
        PARQUET_COMPRESSIONS.join(", ")
      }: current value is ${JSON.stringify(compression)}`,
    );
  }
  const rowGroupSize = options.rowGroupSize ?? 1048576;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new RangeError(
      `Cannot encode Parquet as 'rowGroupSize' must be a positive integer: current value is ${rowGroupSize}`,
    );
  }
  // One key holding canonical JSON: parquet-wasm writes key-value pairs from a hash map, so
  // several keys come out in a different order each time and identical tables would give
  // different bytes (exactly-once redo rewrites files byte for byte).
  const fields: Record<string, unknown> = { "schema_version": SCHEMA_VERSION };
  for (const k of Object.keys(options.metadata ?? {}).sort()) fields[k] = options.metadata![k];
  const metadata = new Map([[WIKISTREAM_METADATA_KEY, JSON.stringify(fields)]]);

  const names = new Set(schema.fields.map((f) => f.name));
  let builder = new WriterPropertiesBuilder()
    .setCompression(codec)
    .setDictionaryEnabled(true)
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setMaxRowGroupSize(rowGroupSize)
    .setDictionaryPageSizeLimit(DICTIONARY_PAGE_BYTES)
    .setDataPageSizeLimit(DATA_PAGE_BYTES)
    .setWriteBatchSize(WRITE_BATCH_ROWS)
    .setCreatedBy("wikistream (parquet-wasm)")
    .setKeyValueMetadata(metadata);
  for (const name of PLAIN_COLUMNS) {
    if (names.has(name)) builder = builder.setColumnDictionaryEnabled(name, false);
  }
  for (const name of NO_STATISTICS_COLUMNS) {
    if (names.has(name)) {
      builder = builder.setColumnStatisticsEnabled(name, EnabledStatistics.None);
    }
  }
  for (const name of DELTA_COLUMNS) {
    if (names.has(name)) {
      builder = builder.setColumnDictionaryEnabled(name, false)
        .setColumnEncoding(name, Encoding.DELTA_BINARY_PACKED);
    }
  }
  return builder.build();
}

type BoolVisitor = { visitBool(this: unknown, data: Data): unknown };

/**
 * Serialises a table as an Arrow IPC stream that arrow-rs (inside parquet-wasm) accepts.
 *
 * apache-arrow 21 writes a 0-byte values buffer for a Bool column whose values are all
 * null, and arrow-rs rejects that ("Need at least N bytes for bitmap"): an hour file of
 * categorize events only has no `minor` at all. For the duration of this synchronous call
 * the assembler is handed such columns with a zero null count, so it writes their packed
 * (all-zero) values; the field node and the validity bitmap were already written from the
 * real null count, so the data read back is unchanged (all null).
 */
function tableToIpcStream(table: ArrowTable): Uint8Array {
  const proto = VectorAssembler.prototype as unknown as BoolVisitor;
  const original = proto.visitBool;
  proto.visitBool = function (this: unknown, data: Data) {
    const allNull = data.length > 0 && data.nullCount >= data.length;
    return original.call(this, allNull ? data.clone(data.type, data.offset, data.length, 0) : data);
  };
  try {
    return tableToIPC(table, "stream");
  } finally {
    proto.visitBool = original;
  }
}

function isSecondTimestamp(type: DataType): boolean {
  return DataType.isTimestamp(type) && type.unit === TimeUnit.SECOND;
}

function secondsToMillis(data: Data, type: TimestampMillisecond): Data {
  const src = data.values as BigInt64Array;
  const inWords = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
  const out = new BigInt64Array(src.length);
  const outWords = new Int32Array(out.buffer);
  for (let i = 0; i < src.length; i++) {
    const ms = (inWords[2 * i + 1] * 4294967296 + (inWords[2 * i] >>> 0)) * 1000;
    outWords[2 * i] = ms >>> 0;
    outWords[2 * i + 1] = Math.floor(ms / 4294967296) | 0;
  }
  return makeData({
    type,
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    data: out,
  });
}

/** Returns the table with every Timestamp(s) column converted to Timestamp(ms), same zone. */
function coerceSecondTimestamps(table: ArrowTable): ArrowTable {
  const fields = table.schema.fields;
  if (!fields.some((f) => isSecondTimestamp(f.type))) return table;
  const coerced = fields.map((f) =>
    isSecondTimestamp(f.type)
      ? new Field(f.name, new TimestampMillisecond(f.type.timezone), f.nullable, f.metadata)
      : f
  );
  const schema = new Schema(coerced, table.schema.metadata);
  const batches = table.batches.map((batch) => {
    const children = batch.data.children.map((child, i) =>
      isSecondTimestamp(fields[i].type)
        ? secondsToMillis(child, coerced[i].type as TimestampMillisecond)
        : child
    );
    const struct = makeData({
      type: new Struct(coerced),
      length: batch.numRows,
      nullCount: 0,
      children,
    });
    return new RecordBatch(schema, struct);
  });
  return new ArrowTable(schema, batches);
}
