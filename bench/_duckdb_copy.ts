/**
 * The DuckDB reference of the end-to-end benchmark, run as its own process (under
 * `/usr/bin/time`, which measures its CPU time and peak RSS): NDJSON → Parquet with ZSTD.
 *
 * Run: `deno run -A bench/_duckdb_copy.ts <events.ndjson> <out.parquet> <threads>`
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";

const [input, output, threads] = Deno.args;
const instance = await DuckDBInstance.create(":memory:");
const connection = await instance.connect();
await connection.run(`SET threads=${Number(threads ?? "1")}`);
await connection.run(
  `COPY (SELECT * FROM read_json('${input}')) TO '${output}' (FORMAT parquet, COMPRESSION zstd)`,
);
connection.closeSync();
instance.closeSync();
