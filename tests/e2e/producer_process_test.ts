import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { programArgs } from "../_helpers/program_command.ts";

const FILE = "6rzan-real-time-system_2026-05-05.ndjson";
const TOPIC = "wikimedia-changes";
const BATCH = 50;

function spawnProducer(env: Record<string, string>, args: string[] = []): Deno.ChildProcess {
  const fullEnv = {
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
    PRODUCE_LINGER_MS: "20",
    PRODUCE_RETRY_BACKOFF_MS: "5",
    STREAM_RECONNECT_BACKOFF_MS: "5",
    PROGRESS_INTERVAL_MS: "0",
    USER_AGENT: "wikistream-tests/0.1 (https://example.org; tests@example.org)",
    ...env,
  };
  return new Deno.Command(Deno.execPath(), {
    args: programArgs("produce", args, fullEnv),
    env: fullEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "producer killed with SIGKILL mid-run then restarted loses nothing and duplicates at most one batch",
  async fn() {
    const dir = await Deno.makeTempDir();
    const lines = await readRecordedLines(FILE, 2000);
    await using broker = await startBroker({ dataDir: `${dir}/broker` });
    // Slow produce requests so the kill lands while batches are in flight.
    broker.faults.add({ method: "POST", path: "^/topics/", delay_ms: 15 });
    await using sse = await startSseServer({ events: lines });
    const env = {
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: String(BATCH),
      STREAM_RESUME_MARGIN_MS: "3000",
    };
    const first = spawnProducer(env, ["--since", "0"]);
    // Kill once a few batches were acknowledged and saved, mid-run.
    const statePath = `${dir}/state/state.json`;
    while (!await fileExists(statePath)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 150));
    first.kill("SIGKILL");
    const firstStatus = await first.status;
    await first.stdout.cancel();
    await first.stderr.cancel();
    assert.equal(firstStatus.signal, "SIGKILL");
    const afterKill = await readAllRecords(broker.url, TOPIC);
    assert.ok(afterKill.length > 0 && afterKill.length < lines.length, `${afterKill.length}`);

    const second = spawnProducer(env);
    const wanted = new Set(lines.map((l) => JSON.parse(l).meta.id as string));
    let records = afterKill;
    for (let i = 0; i < 200; i++) {
      records = await readAllRecords(broker.url, TOPIC, { emptyReads: 1, readTimeoutMs: 50 });
      const ids = new Set(records.map((r) => (r.value as { meta: { id: string } }).meta.id));
      if ([...wanted].every((id) => ids.has(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    second.kill("SIGTERM");
    const secondStatus = await second.status;
    const stderr = new TextDecoder().decode(await second.stderr.bytes());
    await second.stdout.cancel();
    assert.equal(secondStatus.code, 0, stderr);
    records = await readAllRecords(broker.url, TOPIC);
    const counts = new Map<string, number>();
    for (const r of records) {
      const id = (r.value as { meta: { id: string } }).meta.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of wanted) assert.ok(counts.has(id), `lost ${id}`);
    const duplicates = records.length - counts.size;
    assert.ok(duplicates <= BATCH, `duplicates ${duplicates} > one batch (${BATCH})`);
    assert.equal(counts.size, wanted.size);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("producer exits 2 with a clear message when the stream answers 403", async () => {
  const dir = await Deno.makeTempDir();
  await using sse = await startSseServer({ events: [], statuses: [403] });
  const child = spawnProducer({
    STREAM_URL: sse.url.href,
    KAFKA_REST_URL: "http://127.0.0.1:9",
    STATE_DIR: `${dir}/state`,
  });
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(
    stderr,
    /error: Cannot read the event stream at "http:\/\/127\.0\.0\.1:\d+\/v2\/stream\/recentchange": HTTP 403/,
  );
  assert.match(stderr, /set USER_AGENT/);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "producer stops within seconds of SIGINT on a stream connection open 31 s, all acknowledged",
  async fn() {
    // Issue 9 reports that with a connection 20 s old or more the read went on until the drain
    // timeout (PRODUCE_DRAIN_TIMEOUT_MS, 20 s) and ended with unacknowledged batches.
    const dir = await Deno.makeTempDir();
    const lines = await readRecordedLines(FILE); // 2,476 events: 41 s at 60/s
    await using broker = await startBroker({ dataDir: `${dir}/broker` });
    await using sse = await startSseServer({
      events: lines,
      rate: 60,
      eventsPerChunk: 3,
    });
    const child = spawnProducer({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
    }, ["--since", "0"]);
    const stderr = child.stderr.text();
    const stdout = child.stdout.text();
    await new Promise((r) => setTimeout(r, 31_000));
    child.kill("SIGINT");
    const signalledAt = performance.now();
    const status = await child.status;
    const stopMs = performance.now() - signalledAt;
    const log = (await stdout) + (await stderr);
    assert.equal(status.code, 0, log);
    assert.ok(stopMs < 3000, `exited ${Math.round(stopMs)} ms after SIGINT`);
    assert.doesNotMatch(log, /stopped before every batch was acknowledged/);
    assert.equal(sse.connections.length, 1, "one connection, 31 s old at the stop");
    const stopped = log.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === "stopped");
    assert.ok(stopped, log);
    const eventsIn = stopped.eventsIn as number;
    assert.ok(eventsIn > 30 * 60 * 0.8 && eventsIn < lines.length, `${eventsIn} events read`);
    assert.equal(stopped.produced, eventsIn, "every event read was acknowledged");
    const records = await readAllRecords(broker.url, TOPIC);
    assert.equal(records.length, eventsIn);
    await Deno.remove(dir, { recursive: true });
  },
});
