/**
 * `deno task query "<SQL>"`: runs DuckDB SQL over the local lake with the
 * `events` view already defined over every Parquet file, and prints the rows.
 *
 * @module
 */
import { formatQueryResult, queryLake } from "./lib/lake/lake_query.ts";
import { QUERY_OPTIONS } from "./lib/lake/query_options.ts";

export { QUERY_OPTIONS };
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { UsageError } from "./lib/cli/usage_error.ts";

async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

if (import.meta.main) {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "query",
    task: "query",
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
