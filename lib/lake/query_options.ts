/**
 * The options of `deno task query`, apart from DuckDB so the launcher can read them.
 *
 * @module
 */
import { enumOption, intOption, stringOption } from "../cli/config_options.ts";
import type { QueryFormat } from "./lake_query.ts";

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
