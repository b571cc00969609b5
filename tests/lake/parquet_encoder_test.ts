import assert from "node:assert/strict";
import { EventBatchBuilder } from "../../lib/lake/event_batch_builder.ts";
import { EVENT_ARROW_SCHEMA, SCHEMA_VERSION } from "../../lib/lake/event_schema.ts";
import {
  encodeParquet,
  encodeParquetTables,
  type ParquetEncodeOptions,
} from "../../lib/lake/parquet_encoder.ts";
import { queryDuckDb, queryParquet, sqlString } from "../_helpers/duckdb.ts";

const DATA_DIR = new URL("../../../shared/data/recentchange/", import.meta.url);
const INGESTED_AT = Date.parse("2026-08-01T10:00:00.123Z");

const TOP_LEVEL_MAPPED = new Set([
  "$schema",
  "meta",
  "id",
  "type",
  "namespace",
  "title",
  "title_url",
  "notify_url",
  "comment",
  "parsedcomment",
  "timestamp",
  "user",
  "bot",
  "minor",
  "patrolled",
  "length",
  "revision",
  "log_id",
  "log_type",
  "log_action",
  "log_action_comment",
  "log_params",
  "server_url",
  "server_name",
  "server_script_path",
  "wiki",
]);
const META_MAPPED = new Set([
  "id",
  "dt",
  "domain",
  "uri",
  "request_id",
  "stream",
  "topic",
  "partition",
  "offset",
  "schema_uri",
]);

// deno-lint-ignore no-explicit-any
type Json = any;

/** The expected row of an event, written independently of the builder (simple, slow). */
function expectedRow(e: Json, partition: number, offset: number): Record<string, unknown> {
  const m = e.meta;
  const big = (v: unknown) => (v === undefined || v === null ? null : BigInt(v as number));
  const opt = (v: unknown) => (v === undefined ? null : v);
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(e)) if (!TOP_LEVEL_MAPPED.has(k)) extra[k] = e[k];
  for (const k of Object.keys(m)) if (!META_MAPPED.has(k)) extra[`meta.${k}`] = m[k];
  return {
    event_id: m.id,
    event_time: Date.parse(m.dt),
    change_time: e.timestamp * 1000,
    ingested_at: INGESTED_AT,
    schema_uri: e.$schema ?? m.schema_uri ?? null,
    meta_stream: opt(m.stream),
    meta_domain: m.domain,
    meta_uri: opt(m.uri),
    meta_request_id: opt(m.request_id),
    meta_topic: opt(m.topic),
    meta_partition: opt(m.partition),
    meta_offset: big(m.offset),
    rc_id: big(e.id),
    type: e.type,
    namespace: e.namespace,
    title: e.title,
    title_url: opt(e.title_url),
    notify_url: opt(e.notify_url),
    comment: opt(e.comment),
    parsedcomment: opt(e.parsedcomment),
    user: opt(e.user),
    bot: opt(e.bot),
    minor: opt(e.minor),
    patrolled: opt(e.patrolled),
    length_old: big(e.length?.old),
    length_new: big(e.length?.new),
    revision_old: big(e.revision?.old),
    revision_new: big(e.revision?.new),
    log_id: big(e.log_id),
    log_type: opt(e.log_type),
    log_action: opt(e.log_action),
    log_action_comment: opt(e.log_action_comment),
    log_params_json: e.log_params ?? null, // compared after JSON.parse
    server_url: opt(e.server_url),
    server_name: opt(e.server_name),
    server_script_path: opt(e.server_script_path),
    wiki: e.wiki,
    extra_json: Object.keys(extra).length === 0 ? null : extra, // compared after JSON.parse
    kafka_partition: partition,
    kafka_offset: BigInt(offset),
  };
}

const EXPECTED_TYPES: Record<string, string> = {
  "event_id": "VARCHAR",
  "event_time": "TIMESTAMP WITH TIME ZONE",
  "change_time": "TIMESTAMP WITH TIME ZONE",
  "ingested_at": "TIMESTAMP WITH TIME ZONE",
  "meta_partition": "INTEGER",
  "meta_offset": "BIGINT",
  "rc_id": "BIGINT",
  "namespace": "INTEGER",
  "bot": "BOOLEAN",
  "minor": "BOOLEAN",
  "patrolled": "BOOLEAN",
  "length_old": "BIGINT",
  "length_new": "BIGINT",
  "revision_old": "BIGINT",
  "revision_new": "BIGINT",
  "log_id": "BIGINT",
  "kafka_partition": "INTEGER",
  "kafka_offset": "BIGINT",
};

function recordedFiles(): string[] {
  return [...Deno.readDirSync(DATA_DIR)].map((e) => e.name).filter((n) => n.endsWith(".ndjson"))
    .sort();
}

/** The two ways a builder's rows become a file: one table, or slices (1,000 rows: several). */
const ENCODERS: [string, (b: EventBatchBuilder, o: ParquetEncodeOptions) => Promise<Uint8Array>][] =
  [
    ["encodeParquet", (b, o) => Promise.resolve(encodeParquet(b.finish(), o))],
    [
      "encodeParquetTables (slices of 1,000 rows)",
      (b, o) => encodeParquetTables(b.finishSlices(1000), o),
    ],
  ];

for (const name of recordedFiles()) {
  for (const [label, encode] of ENCODERS) {
    Deno.test(`${label} output read by DuckDB equals every event of ${name}`, async () => {
      const lines = (await Deno.readTextFile(new URL(name, DATA_DIR))).split("\n").filter((l) => l);
      const events = lines.map((l) => JSON.parse(l));
      const builder = new EventBatchBuilder({ capacity: 256 });
      const expected = new Map<string, Record<string, unknown>>();
      events.forEach((e, i) => {
        // Two partitions, offsets increasing per partition, as a consumer sees them.
        const partition = i % 2;
        const offset = 1000 + Math.floor(i / 2);
        const result = builder.append(e, partition, offset, INGESTED_AT);
        assert.ok(result.ok, `${name} line ${i + 1}: ${JSON.stringify(result)}`);
        expected.set(e.meta.id, expectedRow(e, partition, offset));
      });
      const ranges = builder.offsetRanges();
      const dir = await Deno.makeTempDir({ prefix: "wikistream_parquet_test_" });
      try {
        const path = `${dir}/events.parquet`;
        await Deno.writeFile(path, await encode(builder, { metadata: { offsets: [...ranges] } }));
        assert.equal(builder.rowCount, 0, "the builder is empty once its rows are encoded");

        const types = await queryParquet(path, "DESCRIBE data");
        assert.deepEqual(
          types.map((t) => t.column_name),
          EVENT_ARROW_SCHEMA.fields.map((f) => f.name),
        );
        for (const t of types) {
          const want = EXPECTED_TYPES[t.column_name as string] ?? "VARCHAR";
          assert.equal(t.column_type, want, `type of ${t.column_name}`);
        }

        const kv = await queryDuckDb(
          `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${
            sqlString(path)
          })`,
        );
        const meta = new Map(kv.map((r) => [r.k, r.v]));
        const wikistream = JSON.parse(String(meta.get("wikistream")));
        assert.equal(wikistream.schema_version, SCHEMA_VERSION);
        assert.deepEqual(wikistream.offsets, JSON.parse(JSON.stringify([...ranges])));

        const rows = await queryParquet(path, "SELECT * FROM data");
        assert.equal(rows.length, events.length);
        assert.deepEqual(new Set(rows.map((r) => r.event_id)), new Set(expected.keys()));
        let previous: [number, number, bigint] | undefined;
        for (const row of rows) {
          const key: [number, number, bigint] = [
            (row.event_time as Date).getTime(),
            row.kafka_partition as number,
            row.kafka_offset as bigint,
          ];
          if (previous !== undefined) {
            const ordered = previous[0] < key[0] ||
              (previous[0] === key[0] &&
                (previous[1] < key[1] || (previous[1] === key[1] && previous[2] < key[2])));
            assert.ok(ordered, `rows out of order at ${row.event_id}`);
          }
          previous = key;
          const want = expected.get(row.event_id as string)!;
          for (const [column, value] of Object.entries(want)) {
            let got = row[column];
            if (got instanceof Date) got = got.getTime();
            if (column === "log_params_json" || column === "extra_json") {
              got = got === null ? null : JSON.parse(got as string);
            }
            assert.deepEqual(got, value, `${name} ${row.event_id} column ${column}`);
          }
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("encodeParquet output keeps the tricky recorded shapes", async () => {
  const events = recordedFiles().flatMap((name) =>
    Deno.readTextFileSync(new URL(name, DATA_DIR)).split("\n").filter((l) => l).map((l) =>
      JSON.parse(l)
    )
  );
  const builder = new EventBatchBuilder();
  events.forEach((e, i) => assert.ok(builder.append(e, 0, i, INGESTED_AT).ok));
  const dir = await Deno.makeTempDir({ prefix: "wikistream_parquet_test_" });
  try {
    const path = `${dir}/all.parquet`;
    await Deno.writeFile(path, encodeParquet(builder.finish(), { compression: "snappy" }));
    const [shapes] = await queryParquet(
      path,
      `SELECT
        count(*) FILTER (WHERE log_params_json LIKE '{%') AS objects,
        count(*) FILTER (WHERE log_params_json = '[]') AS empty_arrays,
        count(*) FILTER (WHERE log_params_json LIKE '[%' AND log_params_json <> '[]') AS arrays,
        count(*) FILTER (WHERE comment LIKE '%' || chr(10) || '%') AS multiline,
        max(rc_id) AS max_rc_id,
        max(revision_new) AS max_revision,
        max(meta_offset) AS max_offset,
        count(*) FILTER (WHERE schema_uri = 'mediawiki/recentchange/1') AS v2018,
        count(*) FILTER (WHERE type = 'new' AND revision_old IS NULL) AS new_without_old,
        count(*) FILTER (WHERE extra_json IS NOT NULL) AS extra
      FROM data`,
    );
    assert.equal(shapes.objects, 142n);
    assert.equal(shapes.empty_arrays, 83n);
    assert.equal(shapes.arrays, 4n);
    const users = await queryParquet(path, 'SELECT "user" FROM data WHERE "user" IS NOT NULL');
    const nonBmp = users.filter((r) => /[\u{10000}-\u{10FFFF}]/u.test(r.user as string));
    assert.equal(nonBmp.length, 4);
    assert.equal(shapes.multiline, 4n);
    assert.equal(shapes.max_rc_id, 3308200663n);
    assert.equal(shapes.max_revision, 2487689212n);
    assert.equal(shapes.max_offset, 6338512821n);
    assert.ok((shapes.v2018 as bigint) > 0n);
    assert.equal(shapes.new_without_old, 337n);
    assert.equal(shapes.extra, 0n);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeParquet rejects an unknown compression and a bad row group size", () => {
  const table = new EventBatchBuilder().finish();
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => encodeParquet(table, { compression: "zip" as any }),
    /Cannot encode Parquet as 'compression' must be one of zstd, snappy, gzip, lz4, brotli, none: current value is "zip"/,
  );
  assert.throws(() => encodeParquet(table, { rowGroupSize: 0 }), RangeError);
});

Deno.test("encodeParquet splits row groups by rowGroupSize", async () => {
  const builder = new EventBatchBuilder();
  const lines = (await Deno.readTextFile(
    new URL("sat99496-wikistream-lakehouse_2026-02-26.ndjson", DATA_DIR),
  )).split("\n").filter((l) => l);
  lines.forEach((l, i) => builder.append(JSON.parse(l), 0, i, INGESTED_AT));
  const dir = await Deno.makeTempDir({ prefix: "wikistream_parquet_test_" });
  try {
    const path = `${dir}/rg.parquet`;
    await Deno.writeFile(path, encodeParquet(builder.finish(), { rowGroupSize: 20 }));
    const [info] = await queryDuckDb(
      `SELECT count(DISTINCT row_group_id) AS groups, any_value(compression) AS codec
       FROM parquet_metadata(${sqlString(path)})`,
    );
    assert.equal(info.groups, 3n);
    assert.equal(info.codec, "ZSTD");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeParquet writes Bool columns whose values are all null (categorize-only file)", async () => {
  const text = await Deno.readTextFile(
    new URL("6rzan-real-time-system_2026-05-05.ndjson", DATA_DIR),
  );
  const events = text.split("\n").filter((l) => l.includes('"type":"categorize"')).slice(0, 20)
    .map((l) => JSON.parse(l));
  assert.equal(events.length, 20);
  const builder = new EventBatchBuilder();
  events.forEach((e, i) => assert.ok(builder.append(e, 0, i, INGESTED_AT).ok));
  const table = builder.finish();
  assert.equal(table.getChild("minor")!.nullCount, 20, "minor is all null for categorize events");
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.parquet`;
    await Deno.writeFile(path, encodeParquet(table));
    const rows = await queryParquet(
      path,
      "SELECT count(*) AS n, count(minor) AS minor, count(patrolled) AS patrolled, count(bot) AS bot FROM data",
    );
    assert.deepEqual(
      {
        n: Number(rows[0]!.n),
        minor: Number(rows[0]!.minor),
        patrolled: Number(rows[0]!.patrolled),
      },
      { n: 20, minor: 0, patrolled: 0 },
    );
    assert.equal(Number(rows[0]!.bot), 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
