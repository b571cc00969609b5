import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const FILE = "6rzan-real-time-system_2026-05-05.ndjson";
const TOPIC = "wikimedia-changes";
const EVENTS = 600;

Deno.test({
  name:
    "producer with KAFKA_REST_API=v3 streams every event into the topic exactly once, retrying failed records",
  async fn() {
    const dir = await Deno.makeTempDir();
    const lines = await readRecordedLines(FILE, EVENTS);
    await using broker = await startBroker({ dataDir: `${dir}/broker` });
    const created = await fetch(new URL("v3/clusters/wikistream-local-broker/topics", broker.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic_name: TOPIC, partitions_count: 3 }),
    });
    assert.equal(created.status, 201, await created.text());
    // the first four batches each lose every 9th record with a retriable report
    broker.faults.add({
      method: "POST",
      path: "/records$",
      per_record_error_code: 50003,
      every: 9,
      count: 4,
    });
    await using sse = await startSseServer({ events: lines });
    const env = {
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      PRODUCE_LINGER_MS: "20",
      PRODUCE_RETRY_BACKOFF_MS: "5",
      PROGRESS_INTERVAL_MS: "0",
      USER_AGENT: "wikistream-tests/0.1 (https://example.org; tests@example.org)",
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      KAFKA_REST_API: "v3",
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: "50",
      PRODUCE_MAX_EVENTS: String(EVENTS),
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: programArgs("produce", ["--since", "0"], env),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = await child.output();
    const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, log);
    assert.match(log, /some records failed: retrying them/);
    const records = await readAllRecords(broker.url, TOPIC);
    const counts = new Map<string, number>();
    for (const r of records) {
      const id = (r.value as { meta: { id: string } }).meta.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const line of lines) {
      const event = JSON.parse(line);
      assert.equal(counts.get(event.meta.id), 1, `event ${event.meta.id}`);
    }
    assert.equal(records.length, lines.length);
    const first = records.find((r) =>
      (r.value as { meta: { id: string } }).meta.id ===
        JSON.parse(lines[0]!).meta.id
    )!;
    assert.deepEqual(first.value, JSON.parse(lines[0]!));
    await Deno.remove(dir, { recursive: true });
  },
});
