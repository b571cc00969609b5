import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import {
  assertNoDuplicates,
  downloadStore,
  readLakeRows,
  testConsumerConfig,
} from "../_helpers/consumer_setup.ts";
import { queryParquet } from "../_helpers/duckdb.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { startS3Server } from "../_helpers/s3_server.ts";
import { programArgs } from "../_helpers/program_command.ts";

type Event = Record<string, unknown> & {
  meta: { id: string; dt: string };
};

async function checkLake(dir: string, events: Event[]): Promise<void> {
  const rows = await readLakeRows(dir);
  assertNoDuplicates(rows);
  const expected = new Set(events.map((e) => e.meta.id));
  assert.equal(rows.length, expected.size);
  assert.deepEqual(new Set(rows.map((r) => r.id)), expected);

  // spot-check values end to end: a few fields of every row, and key column types
  const byId = new Map(events.map((e) => [e.meta.id, e]));
  const values = await queryParquet(
    `${dir}/**/*.parquet`,
    `SELECT event_id, event_time, title, wiki, type, "namespace", rc_id, revision_new, CAST("date" AS VARCHAR) AS "date", "hour"
     FROM data`,
    { hivePartitioning: true },
  );
  for (const v of values) {
    const e = byId.get(v.event_id as string)!;
    assert.equal((v.event_time as Date).getTime(), Date.parse(e.meta.dt));
    assert.equal(v.title, e.title);
    assert.equal(v.wiki, e.wiki);
    assert.equal(v.type, e.type);
    assert.equal(v.namespace, e.namespace);
    assert.equal(v.rc_id === null ? null : Number(v.rc_id), (e.id as number | null) ?? null);
    const rev = (e.revision as { new?: number } | undefined)?.new ?? null;
    assert.equal(v.revision_new === null ? null : Number(v.revision_new), rev);
    // Hive partition equals the UTC hour of the event time
    const iso = new Date(Date.parse(e.meta.dt)).toISOString();
    assert.equal(String(v.date).slice(0, 10), iso.slice(0, 10));
    assert.equal(Number(v.hour), Number(iso.slice(11, 13)));
  }
  const types = await queryParquet(
    `${dir}/**/*.parquet`,
    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM data)",
  );
  const typeOf = new Map(types.map((t) => [t.column_name, t.column_type]));
  assert.equal(typeOf.get("event_time"), "TIMESTAMP WITH TIME ZONE");
  assert.equal(typeOf.get("kafka_offset"), "BIGINT");
  assert.equal(typeOf.get("kafka_partition"), "INTEGER");
  assert.equal(typeOf.get("rc_id"), "BIGINT");
}

Deno.test("consumer writes every recorded event exactly once to a local folder lake", async () => {
  const dataDir = await Deno.makeTempDir();
  const lake = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 3 });
    const events = await loadRecordedEvents() as Event[];
    await produceEvents(broker.url, events);
    const sink = memorySink();
    const config = testConsumerConfig({
      KAFKA_REST_URL: broker.url.href,
      OUTPUT_URL: lake,
      CONSUMER_UNTIL_IDLE_MS: "1500",
      FLUSH_MAX_ROWS: "1000", // per partition: several units in each of the 3
    });
    const stats = await runConsumer(config, {
      log: createLogger({ sink, level: "warn" }),
      signal: new AbortController().signal,
    });
    assert.equal(stats.recordsIn, events.length);
    assert.ok(stats.rotations.rows > 0, "FLUSH_MAX_ROWS rotated at least once");
    await checkLake(lake, events);
    // data files only in hive folders; everything else under _ segments
    for await (const entry of Deno.readDir(lake)) {
      assert.ok(entry.name === "wikimedia-changes" || entry.name.startsWith("_"), entry.name);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("consumer writes every recorded event exactly once to S3 (s3rver)", async () => {
  const dataDir = await Deno.makeTempDir();
  const download = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 2 });
    await using s3 = await startS3Server();
    const events = (await loadRecordedEvents(4000)) as Event[];
    await produceEvents(broker.url, events);
    const store = new S3ObjectStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    try {
      const config = testConsumerConfig({
        KAFKA_REST_URL: broker.url.href,
        OUTPUT_URL: `s3://${s3.bucket}/lake`,
        CONSUMER_UNTIL_IDLE_MS: "1500",
      });
      const stats = await runConsumer(config, {
        log: createLogger({ sink: memorySink(), level: "warn" }),
        signal: new AbortController().signal,
        store,
      });
      assert.equal(stats.rowsWritten, events.length);
      await downloadStore(store, download);
      const keys = await store.list("");
      assert.ok(keys.some((k) => k.startsWith("_manifests/wikimedia-changes/")));
      assert.ok(keys.some((k) => /^wikimedia-changes\/date=\d{4}-\d\d-\d\d\/hour=\d\d\//.test(k)));
    } finally {
      store.close();
    }
    await checkLake(download, events);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(download, { recursive: true });
  }
});

Deno.test({
  name: "consumer seals, uploads and commits its open files on SIGTERM and exits 0",
  sanitizeResources: false, // the child's pipes are drained and closed explicitly
  async fn() {
    const dataDir = await Deno.makeTempDir();
    const lake = await Deno.makeTempDir();
    try {
      await using broker = await startBroker({ dataDir, partitions: 2 });
      const events = (await loadRecordedEvents(2000)) as Event[];
      await produceEvents(broker.url, events);
      const env = {
        KAFKA_REST_URL: broker.url.href,
        OUTPUT_URL: lake,
        FLUSH_INTERVAL_MS: "600000",
        LOG_FORMAT: "json",
      };
      const child = new Deno.Command(Deno.execPath(), {
        args: programArgs("consume", [], env),
        env,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let log = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      while (!log.includes("consumer instance ready")) {
        const { value, done } = await reader.read();
        if (done) break;
        log += value;
      }
      // let it read everything into open files (nothing is sealed before 10 minutes)
      await new Promise((r) => setTimeout(r, 1500));
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        log += value;
      }
      const status = await child.status;
      assert.equal(status.code, 0, log);
      assert.match(log, /"rotation":"shutdown"/);
      await checkLake(lake, events);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(lake, { recursive: true });
    }
  },
});
