/**
 * Runs DuckDB SQL over a local lake folder. Before the user's SQL, a view
 * `events` is defined over every Parquet file below the lake
 * (`read_parquet('<lake>/**\/*.parquet', hive_partitioning = true, union_by_name = true)`),
 * so partition folders such as `date=2026-11-20/hour=13` become columns and
 * files written with older schemas still line up by column name.
 *
 * Results are bounded ({@linkcode LakeQueryOptions.maxRows}) and formatted as
 * an aligned text table, CSV or JSON lines by {@linkcode formatQueryResult}.
 * In JSON, numbers are JSON numbers and booleans JSON booleans (also inside
 * lists and structs); a 64- or 128-bit integer is a number when it is a safe
 * integer (|n| ≤ 2⁵³ − 1) and otherwise a string of its digits, so no value is
 * silently rounded; a DECIMAL is a number up to 15 digits of precision, else a
 * string; timestamps, dates and intervals keep DuckDB's JSON form (strings,
 * interval objects).
 * Only local folders are supported: reading `s3://` needs DuckDB's httpfs
 * extension, which DuckDB downloads on first use.
 *
 * @module
 */
import {
  doubleFromDecimalValue,
  DuckDBDecimalType,
  DuckDBInstance,
  type DuckDBResultReader,
  DuckDBTypeId,
  type DuckDBValueConverter,
  type Json,
  JsonDuckDBValueConverter,
} from "@duckdb/node-api";
import { UsageError } from "../cli/usage_error.ts";

/** A JSON value as the query returns it (DuckDB's `Json`, spelled out). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Options for {@linkcode queryLake}. */
export interface LakeQueryOptions {
  /** The lake folder (a path or a `file:` URL). */
  lake: string;
  /** The SQL to run; several statements are allowed, the last one's rows are returned. */
  sql: string;
  /** At most this many rows are kept. @default 1000 */
  maxRows?: number;
}

/** The rows of a query, as display text. */
export interface QueryResult {
  /** Column names. */
  columns: string[];
  /** Per column: true when the values are numbers (right-aligned in a table). */
  numeric: boolean[];
  /** Rows; `null` is SQL NULL, everything else is DuckDB's text or JSON form. */
  rows: (string | null)[][];
  /** The same rows as JSON values: numbers, booleans, strings, arrays, objects, null. */
  values: JsonValue[][];
  /** True when more rows existed than `maxRows`. */
  truncated: boolean;
}

/** Output formats of {@linkcode formatQueryResult}. */
export type QueryFormat = "table" | "csv" | "json";

const NUMERIC_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

/**
 * Turns a lake setting (path or `file:` URL) into a local path.
 *
 * @param lake the setting, for example `./lake` or `file:///data/lake`
 * @returns the path
 * @throws {UsageError} for `s3://` and other non-local URLs
 */
export function localLakePath(lake: string): string {
  if (lake.startsWith("file:")) return decodeURIComponent(new URL(lake).pathname);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(lake)) {
    throw new UsageError(
      `Cannot query "${lake}": only a local lake folder is supported; copy the objects to a folder (for example with \`mc mirror\` or \`aws s3 sync\`) and set OUTPUT_URL to it`,
    );
  }
  return lake.replace(/\/+$/, "") || "/";
}

async function hasParquet(dir: string, depth = 0): Promise<boolean> {
  if (depth > 16) return false;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".parquet")) return true;
    if (entry.isDirectory && await hasParquet(`${dir}/${entry.name}`, depth + 1)) return true;
  }
  return false;
}

/**
 * Checks that a lake folder exists and holds at least one Parquet file.
 *
 * @param path the lake folder
 * @throws {UsageError} when the folder is missing or holds no Parquet file
 */
export async function assertLakeHasData(path: string): Promise<void> {
  let found: boolean;
  try {
    found = await hasParquet(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `Cannot query the lake at "${path}": the folder does not exist; run the consumer first (\`deno task start\`) or set OUTPUT_URL to the lake folder`,
      );
    }
    throw error;
  }
  if (!found) {
    throw new UsageError(
      `Cannot query the lake at "${path}": it holds no Parquet file yet; let the consumer run until it writes its first file`,
    );
  }
}

/**
 * The SQL that defines the `events` view over a lake folder.
 *
 * @param path the lake folder
 * @returns a `CREATE VIEW` statement
 */
export function eventsViewSql(path: string): string {
  const glob = `${path}/**/*.parquet`.replaceAll("'", "''");
  return `CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true)`;
}

function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

const WIDE_INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

/** DuckDB's JSON converter, with safe wide integers and narrow decimals as numbers. */
const TYPED_JSON: DuckDBValueConverter<Json> = (value, type) => {
  if (value === null || value === undefined) return null;
  if (WIDE_INTEGER_TYPES.has(type.typeId) && typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (type instanceof DuckDBDecimalType && type.width <= 15) {
    return doubleFromDecimalValue(value);
  }
  // Lists, structs and maps recurse through this converter, so their members are typed too.
  return JsonDuckDBValueConverter(value, type, TYPED_JSON);
};

function resultOf(reader: DuckDBResultReader, maxRows: number): QueryResult {
  const rows = reader.getRowsJson().map((row) => row.map(toText));
  const values = reader.convertRows(TYPED_JSON) as Json[][];
  return {
    columns: reader.columnNames(),
    numeric: reader.columnTypes().map((t) => NUMERIC_TYPES.has(t.typeId)),
    rows: rows.slice(0, maxRows),
    values: values.slice(0, maxRows),
    truncated: rows.length > maxRows,
  };
}

/**
 * Runs SQL over the lake with the `events` view defined, in UTC.
 *
 * @param options lake folder, SQL and row limit
 * @returns the rows of the last statement
 * @throws {UsageError} when the lake is missing or empty, or the SQL fails
 */
export async function queryLake(options: LakeQueryOptions): Promise<QueryResult> {
  const path = localLakePath(options.lake);
  const maxRows = options.maxRows ?? 1000;
  await assertLakeHasData(path);
  const instance = await DuckDBInstance.create(":memory:");
  try {
    const connection = await instance.connect();
    try {
      await connection.run(
        "SET TimeZone = 'UTC'; SET autoinstall_known_extensions = false; SET threads = 2",
      );
      await connection.run(eventsViewSql(path));
      let reader: DuckDBResultReader;
      try {
        reader = await connection.streamAndReadUntil(options.sql, maxRows + 1);
      } catch (error) {
        throw new UsageError(
          `Cannot run the query: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      return resultOf(reader, maxRows);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

function csvField(value: string | null): string {
  if (value === null) return "";
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function cell(value: string | null): string {
  if (value === null) return "NULL";
  return value.replaceAll("\r", "\\r").replaceAll("\n", "\\n").replaceAll("\t", "\\t");
}

/**
 * Formats a result as an aligned table, CSV (RFC 4180) or JSON lines (one object per
 * row, typed values: see the module doc).
 *
 * @param result the rows
 * @param format the output format
 * @returns the text, ending with a line feed
 */
export function formatQueryResult(result: QueryResult, format: QueryFormat): string {
  const { columns, rows } = result;
  if (format === "csv") {
    return [columns, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
  }
  if (format === "json") {
    return result.values.map((row) =>
      JSON.stringify(Object.fromEntries(row.map((v, i) => [columns[i], v])))
    ).join("\n") + (result.values.length > 0 ? "\n" : "");
  }
  const texts = rows.map((row) => row.map(cell));
  const widths = columns.map((name, i) =>
    Math.max(name.length, ...texts.map((row) => row[i]!.length))
  );
  const line = (row: string[]) =>
    row.map((v, i) => result.numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))
      .join(" | ").trimEnd();
  const out = [line(columns), widths.map((w) => "-".repeat(w)).join("-+-"), ...texts.map(line)];
  const count = `(${rows.length} row${rows.length === 1 ? "" : "s"}${
    result.truncated ? ", more not shown" : ""
  })`;
  return [...out, count].join("\n") + "\n";
}
