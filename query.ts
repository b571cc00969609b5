/**
 * `deno task query "<SQL>"`: runs DuckDB SQL over the local lake with the
 * `events` view already defined over every Parquet file, and prints the rows.
 *
 * @module
 */
import { enumOption, intOption, stringOption } from "./lib/config_options.ts";
import { formatQueryResult, type QueryFormat, queryLake } from "./lib/lake_query.ts";
import { runProgram, UsageError } from "./lib/program.ts";

/** Options of the query command. */
export const QUERY_OPTIONS = {
  outputUrl: stringOption<string>({
    env: "OUTPUT_URL",
    description: "the lake to query: a local folder or file: URL (s3:// is not supported here)",
    default: "./lake",
  }),
  format: enumOption<QueryFormat>({
    env: "QUERY_FORMAT",
    flag: "format",
    description: "output format: table, csv or json (one object per line)",
    default: "table",
    values: ["table", "csv", "json"],
  }),
  maxRows: intOption({
    env: "QUERY_MAX_ROWS",
    flag: "max-rows",
    description: "print at most this many rows",
    default: 1000,
    min: 1,
    max: 1_000_000,
  }),
};

async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

if (import.meta.main) {
  await runProgram({
    name: "query",
    summary:
      'Runs DuckDB SQL over the lake. The view "events" is defined over every Parquet file\n' +
      'below OUTPUT_URL, with hive partition columns. Example:\n  deno task query "SELECT wiki, count(*) AS n FROM events GROUP BY wiki ORDER BY n DESC LIMIT 10"',
    specs: QUERY_OPTIONS,
    async run(config, { positionals }) {
      const sql = positionals.join(" ").trim();
      if (sql === "") {
        throw new UsageError(
          'Cannot run a query: no SQL given; pass it as one argument, for example deno task query "SELECT count(*) FROM events"',
        );
      }
      const result = await queryLake({ lake: config.outputUrl, sql, maxRows: config.maxRows });
      await writeStdout(formatQueryResult(result, config.format));
    },
  });
}
