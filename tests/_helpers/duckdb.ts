/**
 * Independent reader for tests: runs SQL in a fresh in-memory DuckDB (npm:@duckdb/node-api)
 * and returns plain JS rows (BIGINT → bigint, TIMESTAMP* → Date, VARCHAR → string).
 *
 * `queryParquet(pathOrGlob, sql)` exposes the Parquet files as a view named `data`:
 * `await queryParquet(`${dir}/**\/*.parquet`, "SELECT count(*) AS n FROM data")`.
 *
 * @module
 */

import { DuckDBInstance } from "@duckdb/node-api";

/** One result row, column name → JS value. */
export type DuckDbRow = Record<string, unknown>;

/** Options of {@linkcode queryParquet}. */
export interface QueryParquetOptions {
  /**
   * Read Hive partition columns (`date=…/hour=…`) from the paths.
   *
   * @default {false}
   */
  hivePartitioning?: boolean;
}

/**
 * Quotes a string as a SQL literal.
 *
 * @param text the text
 * @returns the literal
 */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Runs SQL statements in a fresh in-memory DuckDB and returns the rows of the last one.
 *
 * @param statements SQL statements, run in order
 * @returns the last statement's rows as JS objects
 */
export async function queryDuckDb(...statements: string[]): Promise<DuckDbRow[]> {
  const instance = await DuckDBInstance.create(":memory:");
  try {
    const connection = await instance.connect();
    try {
      await connection.run("SET threads=1");
      let rows: DuckDbRow[] = [];
      for (const sql of statements) {
        const reader = await connection.runAndReadAll(sql);
        rows = reader.getRowObjectsJS() as DuckDbRow[];
      }
      return rows;
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Runs a query over Parquet files exposed as the view `data`.
 *
 * @param pathOrGlob a file, a glob (`dir/**\/*.parquet`) or a list of them
 * @param sql the query, reading from `data`
 * @param options Hive partitioning
 * @returns the rows as JS objects
 */
export function queryParquet(
  pathOrGlob: string | readonly string[],
  sql: string,
  options: QueryParquetOptions = {},
): Promise<DuckDbRow[]> {
  const paths = typeof pathOrGlob === "string" ? [pathOrGlob] : [...pathOrGlob];
  const list = `[${paths.map(sqlString).join(", ")}]`;
  const hive = options.hivePartitioning ? "true" : "false";
  return queryDuckDb(
    `CREATE VIEW data AS SELECT * FROM read_parquet(${list}, hive_partitioning=${hive})`,
    sql,
  );
}
