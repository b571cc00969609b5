import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  eventsViewSql,
  formatQueryResult,
  localLakePath,
  queryLake,
  type QueryResult,
} from "../../lib/lake/lake_query.ts";
import { UsageError } from "../../lib/cli/usage_error.ts";

/** The three README queries. */
const EDITS_PER_WIKI_LAST_HOUR = `
SELECT wiki, count(*) AS edits
FROM events
WHERE type = 'edit' AND event_time >= now() - INTERVAL 1 HOUR
GROUP BY wiki ORDER BY edits DESC, wiki LIMIT 10`;
const BOT_SHARE = `
SELECT count(*) AS events, round(100.0 * count(*) FILTER (WHERE bot) / count(*), 1) AS bot_percent
FROM events`;
const LARGEST_EDITS = `
SELECT wiki, title, length_new - length_old AS bytes_added
FROM events WHERE type = 'edit'
ORDER BY bytes_added DESC LIMIT 3`;

/** Writes two hive-partitioned Parquet files with DuckDB itself. */
async function makeLake(): Promise<string> {
  const lake = await Deno.makeTempDir({ prefix: "wikistream_query_" });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const rows = (hourAgo: number, list: string) => `
      SELECT event_id, now() - to_minutes(${hourAgo}) AS event_time, type, wiki, bot,
             length_old::BIGINT AS length_old, length_new::BIGINT AS length_new, title,
             0::INTEGER AS kafka_partition, kafka_offset::BIGINT AS kafka_offset
      FROM (VALUES ${list}) t(event_id, type, wiki, bot, length_old, length_new, title, kafka_offset)`;
    const recent = rows(
      10,
      `('e1','edit','enwiki',false,100,150,'A',0), ('e2','edit','enwiki',true,100,90,'B',1),
       ('e3','edit','dewiki',false,10,5010,'C, "quoted"',2), ('e4','log','enwiki',true,NULL,NULL,'D',3)`,
    );
    const old = rows(
      180,
      `('e5','edit','frwiki',false,0,20000,'E',4), ('e6','new','frwiki',true,NULL,40,'F',5)`,
    );
    await Deno.mkdir(`${lake}/date=2026-11-20/hour=13`, { recursive: true });
    await Deno.mkdir(`${lake}/date=2026-11-20/hour=14`, { recursive: true });
    await connection.run(
      `COPY (${old}) TO '${lake}/date=2026-11-20/hour=13/part-0.parquet' (FORMAT parquet)`,
    );
    await connection.run(
      `COPY (${recent}) TO '${lake}/date=2026-11-20/hour=14/part-0.parquet' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return lake;
}

Deno.test("queryLake() answers the three README queries over a hive-partitioned lake", async () => {
  const lake = await makeLake();
  try {
    const perWiki = await queryLake({ lake, sql: EDITS_PER_WIKI_LAST_HOUR });
    assert.deepEqual(perWiki.columns, ["wiki", "edits"]);
    assert.deepEqual(perWiki.rows, [["enwiki", "2"], ["dewiki", "1"]]);

    const bots = await queryLake({ lake, sql: BOT_SHARE });
    assert.deepEqual(bots.rows, [["6", "50"]]);

    const largest = await queryLake({ lake, sql: LARGEST_EDITS });
    assert.deepEqual(largest.rows, [
      ["frwiki", "E", "20000"],
      ["dewiki", 'C, "quoted"', "5000"],
      ["enwiki", "A", "50"],
    ]);
    assert.deepEqual(largest.numeric, [false, false, true]);

    const partitions = await queryLake({
      lake,
      sql: "SELECT hour, count(*) AS n FROM events GROUP BY hour ORDER BY hour",
    });
    assert.deepEqual(partitions.rows, [["13", "2"], ["14", "4"]]);
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("queryLake() keeps at most maxRows rows and says so", async () => {
  const lake = await makeLake();
  try {
    const result = await queryLake({
      lake,
      sql: "SELECT event_id FROM events ORDER BY event_id",
      maxRows: 2,
    });
    assert.deepEqual(result.rows, [["e1"], ["e2"]]);
    assert.equal(result.truncated, true);
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("queryLake() explains a missing lake, an empty lake and bad SQL", async () => {
  const lake = await Deno.makeTempDir({ prefix: "wikistream_query_" });
  try {
    await assert.rejects(
      queryLake({ lake: `${lake}/missing`, sql: "SELECT 1" }),
      (e: unknown) => e instanceof UsageError && /the folder does not exist/.test(e.message),
    );
    await Deno.mkdir(`${lake}/_manifests`);
    await assert.rejects(
      queryLake({ lake, sql: "SELECT 1" }),
      (e: unknown) => e instanceof UsageError && /holds no Parquet file yet/.test(e.message),
    );
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
  const full = await makeLake();
  try {
    await assert.rejects(
      queryLake({ lake: full, sql: "SELEC 1" }),
      (e: unknown) =>
        e instanceof UsageError &&
        /^Cannot run the query: .*Parser Error: syntax error at or near "SELEC"/.test(e.message),
    );
  } finally {
    await Deno.remove(full, { recursive: true });
  }
});

Deno.test("queryLake() results print JSON numbers and booleans; a BIGINT beyond 2^53 stays a string", async () => {
  const lake = await makeLake();
  try {
    const result = await queryLake({
      lake,
      sql: `SELECT count(*) AS n, bool_or(bot) AS any_bot, max(kafka_partition) AS part,
              1.5::DOUBLE AS d, 12.5::DECIMAL(4,1) AS dec, 9007199254740993::BIGINT AS big,
              -9007199254740991::BIGINT AS safe_min, 7::HUGEINT AS huge, 'x' AS s, NULL AS nothing,
              [1, 2]::BIGINT[] AS list, min(title) AS title
            FROM events`,
    });
    assert.equal(
      formatQueryResult(result, "json"),
      '{"n":6,"any_bot":true,"part":0,"d":1.5,"dec":12.5,"big":"9007199254740993",' +
        '"safe_min":-9007199254740991,"huge":7,"s":"x","nothing":null,"list":[1,2],"title":"A"}\n',
    );
    // The table and CSV keep DuckDB's text forms.
    assert.deepEqual(result.rows[0]!.slice(0, 6), [
      "6",
      "true",
      "0",
      "1.5",
      "12.5",
      "9007199254740993",
    ]);
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("localLakePath() accepts folders and file: URLs and refuses s3://", () => {
  assert.equal(localLakePath("./lake/"), "./lake");
  assert.equal(localLakePath("file:///data/my%20lake"), "/data/my lake");
  assert.throws(() => localLakePath("s3://bucket/prefix"), UsageError);
  assert.equal(
    eventsViewSql("/tmp/it's"),
    "CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet('/tmp/it''s/**/*.parquet', hive_partitioning = true, union_by_name = true)",
  );
});

Deno.test("formatQueryResult() aligns a table, quotes CSV and writes JSON lines", () => {
  const result: QueryResult = {
    columns: ["wiki", "edits", "note"],
    numeric: [false, true, false],
    rows: [["enwiki", "1234", null], ["dewiki", "5", 'a,"b"\nc']],
    values: [["enwiki", 1234, null], ["dewiki", 5, 'a,"b"\nc']],
    truncated: false,
  };
  assert.equal(
    formatQueryResult(result, "table"),
    [
      "wiki   | edits | note",
      "-------+-------+---------",
      "enwiki |  1234 | NULL",
      'dewiki |     5 | a,"b"\\nc',
      "(2 rows)",
      "",
    ].join("\n"),
  );
  assert.equal(
    formatQueryResult(result, "csv"),
    'wiki,edits,note\r\nenwiki,1234,\r\ndewiki,5,"a,""b""\nc"\r\n',
  );
  assert.equal(
    formatQueryResult(result, "json"),
    '{"wiki":"enwiki","edits":1234,"note":null}\n{"wiki":"dewiki","edits":5,"note":"a,\\"b\\"\\nc"}\n',
  );
});
