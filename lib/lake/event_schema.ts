/**
 * The explicit, versioned Arrow schema of one lake row: one flat row per `recentchange` event
 * (columns, types and nullability of eventstreams.md §9) plus the Kafka position of the record.
 *
 * Bump {@linkcode SCHEMA_VERSION} whenever a column is added, removed, renamed or retyped; the
 * version is written into every Parquet file's key-value metadata (`wikistream.schema_version`).
 *
 * @module
 */

import {
  Bool,
  type DataType,
  Field,
  Int32,
  Int64,
  Schema,
  TimestampMillisecond,
  TimestampSecond,
  Utf8,
} from "apache-arrow";

/** Version of the lake row schema; written to Parquet key-value metadata. */
export const SCHEMA_VERSION = "1";

/** Parquet key-value metadata key that holds {@linkcode SCHEMA_VERSION}. */
export const SCHEMA_VERSION_METADATA_KEY = "wikistream.schema_version";

/** Physical kind of a column, used by the batch builder to pick a buffer layout. */
export type EventColumnKind =
  | "utf8"
  | "int32"
  | "int64"
  | "bool"
  | "timestamp_ms"
  | "timestamp_s";

/** One column of the lake row schema. */
export interface EventColumn {
  /** Column name in Arrow and Parquet. */
  readonly name: string;
  /** Buffer layout / Arrow type family. */
  readonly kind: EventColumnKind;
  /** Whether the column may hold nulls. */
  readonly nullable: boolean;
  /** Where the value comes from (documentation). */
  readonly source: string;
}

function col(
  name: string,
  kind: EventColumnKind,
  nullable: boolean,
  source: string,
): EventColumn {
  return Object.freeze({ name, kind, nullable, source });
}

/** The columns of the lake row, in file order. */
export const EVENT_COLUMNS: readonly EventColumn[] = Object.freeze([
  col("event_id", "utf8", false, "meta.id (dedupe key)"),
  col("event_time", "timestamp_ms", false, "meta.dt"),
  col("change_time", "timestamp_s", false, "timestamp"),
  col("ingested_at", "timestamp_ms", false, "consumer-provided receive time"),
  col("schema_uri", "utf8", true, "$schema, else meta.schema_uri"),
  col("meta_stream", "utf8", true, "meta.stream"),
  col("meta_domain", "utf8", false, "meta.domain"),
  col("meta_uri", "utf8", true, "meta.uri"),
  col("meta_request_id", "utf8", true, "meta.request_id"),
  col("meta_topic", "utf8", true, "meta.topic"),
  col("meta_partition", "int32", true, "meta.partition"),
  col("meta_offset", "int64", true, "meta.offset"),
  col("rc_id", "int64", true, "id"),
  col("type", "utf8", false, "type"),
  col("namespace", "int32", false, "namespace"),
  col("title", "utf8", false, "title"),
  col("title_url", "utf8", true, "title_url"),
  col("notify_url", "utf8", true, "notify_url"),
  col("comment", "utf8", true, "comment"),
  col("parsedcomment", "utf8", true, "parsedcomment"),
  col("user", "utf8", true, "user"),
  col("bot", "bool", true, "bot"),
  col("minor", "bool", true, "minor"),
  col("patrolled", "bool", true, "patrolled"),
  col("length_old", "int64", true, "length.old"),
  col("length_new", "int64", true, "length.new"),
  col("revision_old", "int64", true, "revision.old"),
  col("revision_new", "int64", true, "revision.new"),
  col("log_id", "int64", true, "log_id"),
  col("log_type", "utf8", true, "log_type"),
  col("log_action", "utf8", true, "log_action"),
  col("log_action_comment", "utf8", true, "log_action_comment"),
  col("log_params_json", "utf8", true, "JSON.stringify(log_params); null when absent"),
  col("server_url", "utf8", true, "server_url"),
  col("server_name", "utf8", true, "server_name"),
  col("server_script_path", "utf8", true, "server_script_path"),
  col("wiki", "utf8", false, "wiki"),
  col("extra_json", "utf8", true, "every unmapped key, as a JSON object; null when none"),
  col("kafka_partition", "int32", false, "Kafka partition of the record"),
  col("kafka_offset", "int64", false, "Kafka offset of the record"),
]);

/**
 * Returns the Arrow type of a column kind (timestamps are UTC, never nanoseconds).
 *
 * @param kind the column kind
 * @returns the Arrow data type
 */
export function arrowTypeOf(kind: EventColumnKind): DataType {
  switch (kind) {
    case "utf8":
      return new Utf8();
    case "int32":
      return new Int32();
    case "int64":
      return new Int64();
    case "bool":
      return new Bool();
    case "timestamp_ms":
      return new TimestampMillisecond("UTC");
    case "timestamp_s":
      return new TimestampSecond("UTC");
  }
}

/**
 * Builds the Arrow schema of the lake row, with the schema version in its metadata.
 *
 * @returns a new Arrow schema
 */
export function eventArrowSchema(): Schema {
  const fields = EVENT_COLUMNS.map((c) => new Field(c.name, arrowTypeOf(c.kind), c.nullable));
  return new Schema(fields, new Map([[SCHEMA_VERSION_METADATA_KEY, SCHEMA_VERSION]]));
}

/** The lake row schema (shared, do not mutate). */
export const EVENT_ARROW_SCHEMA: Schema = eventArrowSchema();
