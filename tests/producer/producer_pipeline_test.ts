import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { UsageError } from "../../lib/cli/usage_error.ts";
import { runProducer } from "../../lib/producer/producer_pipeline.ts";
import type { ProduceBatcher } from "../../lib/producer/produce_batcher.ts";
import { producerMetrics } from "../../lib/producer/producer_metrics.ts";
import { reportProgress } from "../../lib/producer/producer_progress.ts";
import { createProducerStats } from "../../lib/producer/producer_stats.ts";
import { testLogger, testProducerConfig } from "../_helpers/producer_setup.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import type { ScannedRecentChange } from "../../lib/recentchange/recentchange_scan.ts";
import { SseMessage } from "../../lib/sse/sse_parse_stream.ts";

const FILE = "6rzan-real-time-system_2026-05-05.ndjson";
const TOPIC = "wikimedia-changes";

interface Ev {
  meta: { id: string; domain: string; dt: string };
  "server_name": string;
  title: string;
  wiki: string;
  type: string;
  bot: boolean;
}

function pageKey(e: Ev): string {
  return `${e["server_name"]}/${e.title}`;
}

/** Asserts every line arrived exactly once, keyed by page, same key ⇒ same partition, in order. */
function assertExactlyOnce(
  lines: string[],
  records: Awaited<ReturnType<typeof readAllRecords>>,
  checkOrder = true,
) {
  const byId = new Map<string, typeof records[number]>();
  for (const r of records) {
    const id = (r.value as Ev).meta.id;
    assert.ok(!byId.has(id), `duplicate ${id}`);
    byId.set(id, r);
  }
  assert.equal(records.length, lines.length);
  const partitionOfKey = new Map<string, number>();
  const lastOffsetOfKey = new Map<string, number>();
  for (const line of lines) {
    const e = JSON.parse(line) as Ev;
    const r = byId.get(e.meta.id);
    assert.ok(r, `missing ${e.meta.id}`);
    assert.deepEqual(r.value, e);
    assert.equal(r.key, pageKey(e));
    const p = partitionOfKey.get(pageKey(e));
    if (p !== undefined) assert.equal(r.partition, p, `key ${pageKey(e)} in two partitions`);
    partitionOfKey.set(pageKey(e), r.partition);
    const last = lastOffsetOfKey.get(pageKey(e));
    if (checkOrder && last !== undefined) {
      assert.ok(r.offset > last, `key ${pageKey(e)} out of order`);
    }
    lastOffsetOfKey.set(pageKey(e), r.offset);
  }
  assert.ok(new Set(records.map((r) => r.partition)).size > 1, "expected several partitions");
}

Deno.test("runProducer produces every event of a recording exactly once with page keys", async () => {
  const dir = await Deno.makeTempDir();
  const lines = await readRecordedLines(FILE, 1500);
  await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 3 });
  await using sse = await startSseServer({ events: lines });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: "200",
    }, ["--since", "0", "--max-events", "1500"]),
    { log, signal: new AbortController().signal },
  );
  assert.equal(stats.eventsProduced, 1500);
  assert.equal(sse.connections[0]!.since, "1970-01-01T00:00:00.000Z");
  assert.match(sse.connections[0]!.userAgent ?? "", /^wikistream-tests/);
  assertExactlyOnce(lines, await readAllRecords(broker.url, TOPIC));
  const state = JSON.parse(await Deno.readTextFile(`${dir}/state/state.json`));
  const lastTs = JSON.parse(lines[1499]!).meta.dt;
  assert.equal(JSON.parse(state.lastEventId)[0].timestamp, Date.parse(lastTs) + 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer with the default margins progresses and loses nothing when cut every 350 events", async () => {
  const dir = await Deno.makeTempDir();
  const lines = await readRecordedLines(FILE);
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  // 350 events are ~6.5 s of this recording: less than the 10 s restart margin.
  await using sse = await startSseServer({ events: lines, cutEvery: 350 });
  const stuck = new AbortController();
  const guard = setInterval(() => {
    if (sse.connections.length > 60) stuck.abort(); // no progress: stop instead of looping
  }, 20);
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
    }, ["--since", "0", "--max-events", String(lines.length)]),
    { log, signal: stuck.signal },
  ).finally(() => clearInterval(guard));
  assert.equal(stats.eventsProduced, lines.length);
  assert.ok(stats.reconnects >= 6, `reconnects ${stats.reconnects}`);
  assert.ok(stats.duplicatesDropped > 0, "the rewind should replay some events");
  assert.ok(sse.cuts >= 6);
  // Each reconnect resumed 1 s (the reconnect margin) before the last event received, and the
  // idle codfw entry followed it instead of drifting back.
  let served = 0;
  for (const [n, c] of sse.connections.slice(1).entries()) {
    served = Math.min(lines.length, sse.connections[n]!.startIndex + 350);
    const last = Date.parse(JSON.parse(lines[served - 1]!).meta.dt) + 1;
    assert.deepEqual(JSON.parse(c.lastEventId!), [
      { topic: "eqiad.mediawiki.recentchange", partition: 0, timestamp: last - 1000 },
      { topic: "codfw.mediawiki.recentchange", partition: 0, timestamp: last - 1000 },
    ]);
  }
  assertExactlyOnce(lines, await readAllRecords(broker.url, TOPIC));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer loses nothing when 20% of produce requests fail with 500 or 50003", async () => {
  const dir = await Deno.makeTempDir();
  const lines = await readRecordedLines(FILE, 1200);
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  broker.faults.add({ method: "POST", path: "^/topics/", status: 500, probability: 0.2 });
  broker.faults.add({
    method: "POST",
    path: "^/topics/",
    per_record_error_code: 50003,
    probability: 0.2,
    every: 3,
  });
  await using sse = await startSseServer({ events: lines });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: "50",
    }, ["--since", "0", "--max-events", "1200"]),
    { log, signal: new AbortController().signal },
  );
  assert.ok(stats.retries > 0, "expected retries");
  assert.equal(stats.deadLettered, 0);
  // Re-sending only failed records can put a retried record after a later one of its key.
  assertExactlyOnce(lines, await readAllRecords(broker.url, TOPIC), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer resumes from its saved position without loss or duplicates", async () => {
  const dir = await Deno.makeTempDir();
  const lines = await readRecordedLines(FILE, 1000);
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  await using sse = await startSseServer({ events: lines });
  const env = {
    STREAM_URL: sse.url.href,
    KAFKA_REST_URL: broker.url.href,
    STATE_DIR: `${dir}/state`,
  };
  const { log } = testLogger();
  await runProducer(testProducerConfig(env, ["--since", "0", "--max-events", "400"]), {
    log,
    signal: new AbortController().signal,
  });
  const second = await runProducer(testProducerConfig(env, ["--max-events", "600"]), {
    log,
    signal: new AbortController().signal,
  });
  assert.ok(second.duplicatesDropped > 0, "the rewound resume should replay some events");
  const resumed = JSON.parse(sse.connections.at(-1)!.lastEventId!);
  const saved = Date.parse(JSON.parse(lines[399]!).meta.dt) + 1;
  assert.equal(resumed[0].timestamp, saved - 10_000);
  assert.equal(resumed[1].timestamp, saved - 10_000, "offset -1 replaced by a timestamp");
  assertExactlyOnce(lines, await readAllRecords(broker.url, TOPIC));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer applies --max-events, filters, and drops canaries", async () => {
  const dir = await Deno.makeTempDir();
  const base = await readRecordedLines(FILE, 600);
  const canary = JSON.parse(base[0]!);
  canary.meta.domain = "canary";
  canary.meta.id = "canary-1";
  delete canary.type;
  delete canary.wiki;
  delete canary.title;
  const events = [JSON.stringify(canary), ...base];
  const wanted = base.filter((l) => {
    const e = JSON.parse(l) as Ev;
    return ["commonswiki", "wikidatawiki"].includes(e.wiki) && e.type !== "log" && !e.bot;
  });
  assert.ok(wanted.length > 20);
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  await using sse = await startSseServer({ events });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
    }, [
      "--since",
      "0",
      "--max-events",
      "20",
      "--wikis",
      "commonswiki,wikidatawiki",
      "--types",
      "edit,new,categorize",
      "--exclude-bots",
    ]),
    { log, signal: new AbortController().signal },
  );
  assert.equal(stats.canariesDropped, 1);
  assert.equal(stats.eventsProduced, 20);
  assert.ok(stats.filtered > 0);
  const records = await readAllRecords(broker.url, TOPIC);
  assert.deepEqual(
    new Set(records.map((r) => (r.value as Ev).meta.id)),
    new Set(wanted.slice(0, 20).map((l) => JSON.parse(l).meta.id)),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer dead-letters malformed data and records refused with 50002", async () => {
  const dir = await Deno.makeTempDir();
  const [good1, good2, good3] = await readRecordedLines(FILE, 3);
  const rawLines = [
    ":ok",
    "",
    "event: message",
    'id: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1}]',
    "data: {not json",
    "",
    "data: " + good1,
    "",
    'data: {"meta":{"dt":"2026-05-05T11:17:40.822Z"}}',
    "",
    "data: " + good2,
    "",
    "data: " + good3,
    "",
  ];
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  broker.faults.add({ method: "POST", path: "^/topics/", per_record_error_code: 50002, count: 1 });
  await using sse = await startSseServer({ rawLines });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: "1",
    }, ["--max-events", "3"]),
    { log, signal: new AbortController().signal },
  );
  assert.equal(stats.deadLettered, 3);
  assert.equal(stats.eventsProduced, 2);
  const letters = (await Deno.readTextFile(`${dir}/state/dead-letter.ndjson`)).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(letters.map((l) => l.raw), [
    "{not json",
    '{"meta":{"dt":"2026-05-05T11:17:40.822Z"}}',
    good1,
  ]);
  assert.match(letters[0].reason, /^not JSON/);
  assert.equal(letters[1].reason, "missing meta.id");
  assert.match(letters[2].reason, /50002/);
  assert.equal((await readAllRecords(broker.url, TOPIC)).length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer fails with a UsageError naming the URL when the stream answers 403", async () => {
  const dir = await Deno.makeTempDir();
  await using sse = await startSseServer({ events: [], statuses: [403] });
  const { log } = testLogger();
  await assert.rejects(
    runProducer(
      testProducerConfig({
        STREAM_URL: sse.url.href,
        KAFKA_REST_URL: "http://127.0.0.1:9",
        STATE_DIR: `${dir}/state`,
      }),
      { log, signal: new AbortController().signal },
    ),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.ok(error.message.includes(sse.url.href));
      assert.match(error.message, /HTTP 403/);
      assert.match(error.message, /USER_AGENT/);
      return true;
    },
  );
  assert.equal(sse.connections.length, 1, "a 403 is not retried");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer's default sink speaks KAFKA_REST_FLAVOR=redpanda (one offset per partition batch)", async () => {
  const dir = await Deno.makeTempDir();
  const lines = await readRecordedLines(FILE, 30);
  let produced = 0;
  let requests = 0;
  const giveUp = new AbortController();
  // A Redpanda-like proxy: one offsets entry per partition batch, not one per record.
  await using proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json() as { records: unknown[] };
    produced += body.records.length;
    if (++requests > 20) giveUp.abort(); // the Confluent reading retries this answer forever
    return Response.json({ offsets: [{ partition: 0, offset: produced - body.records.length }] });
  });
  await using sse = await startSseServer({ events: lines });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: `http://127.0.0.1:${proxy.addr.port}`,
      KAFKA_REST_FLAVOR: "redpanda",
      STATE_DIR: `${dir}/state`,
      PRODUCE_BATCH_MAX_RECORDS: "10",
      PRODUCE_DRAIN_TIMEOUT_MS: "200",
    }, ["--since", "0", "--max-events", "30"]),
    { log, signal: giveUp.signal },
  );
  assert.equal(stats.eventsProduced, 30);
  assert.equal(produced, 30);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runProducer dead-letters an event the SSE parser truncated and keeps streaming", async () => {
  const dir = await Deno.makeTempDir();
  const [good1, good2] = await readRecordedLines(FILE, 2);
  const bytes = (text: string) => new TextEncoder().encode(text);
  const source = {
    async *messages() {
      yield new SseMessage<ScannedRecentChange>(
        "message",
        bytes('{"meta":{"id":"x","dt":"2026-05-05T11'),
        "",
        undefined,
        { truncated: true },
      );
      yield new SseMessage<ScannedRecentChange>("message", bytes(good1!));
      yield new SseMessage<ScannedRecentChange>("message", bytes(good2!));
    },
  };
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  const { log } = testLogger();
  const stats = await runProducer(
    testProducerConfig({
      KAFKA_REST_URL: broker.url.href,
      STATE_DIR: `${dir}/state`,
    }, ["--max-events", "2"]),
    { log, signal: new AbortController().signal, source },
  );
  assert.equal(stats.deadLettered, 1);
  assert.equal(stats.eventsProduced, 2);
  const letters = (await Deno.readTextFile(`${dir}/state/dead-letter.ndjson`)).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(letters.length, 1);
  assert.match(letters[0].reason, /larger than the stream parser's cap/);
  assert.equal(letters[0].raw, '{"meta":{"id":"x","dt":"2026-05-05T11');
  await Deno.remove(dir, { recursive: true });
});

for (
  const [what, url] of [
    ["a closed port", `http://127.0.0.1:${closedPort()}/v2/stream/recentchange`],
    ["an unresolvable host", "http://wikistream-no-such-host.invalid/v2/stream/recentchange"],
  ] as const
) {
  Deno.test(`runProducer's warning for ${what} says how to run offline (deno task replay, --stream-url)`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { log, sink } = testLogger();
      const stop = new AbortController();
      const running = runProducer(
        testProducerConfig({
          STREAM_URL: url,
          KAFKA_REST_URL: "http://127.0.0.1:9/",
          STATE_DIR: `${dir}/state`,
        }),
        { log, signal: stop.signal },
      );
      const deadline = Date.now() + 10_000;
      // the stream's warnings (the unreachable proxy has its own, at start)
      const streamWarning = (r: { level: string; component: string }) =>
        r.level === "warn" && r.component === "test.sse";
      while (!sink.records.some(streamWarning) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stop.abort();
      await running;
      const warnings = sink.records.filter(streamWarning);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      const message = warnings[0]!.message;
      assert.ok(
        message.startsWith(`Cannot read the event stream at "${url}": connection failed`),
        message,
      );
      assert.ok(
        message.includes(
          "to run offline, serve the bundled sample with `deno task replay --loop " +
            "samples/recentchange-sample.ndjson.gz` and start with " +
            "--stream-url http://127.0.0.1:8090/v2/stream/recentchange",
        ),
        message,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("runProducer forwards an event with invalid UTF-8 with U+FFFD in place of the bad bytes and counts it", async () => {
  const dir = await Deno.makeTempDir();
  const [good1, good2, good3] = await readRecordedLines(FILE, 3);
  const encode = (text: string) => new TextEncoder().encode(text);
  /** The event's bytes with `bad` inserted inside its title. */
  const withBadBytes = (line: string, bad: number[]) => {
    const at = line.indexOf('"title":"') + '"title":"'.length;
    return new Uint8Array([...encode(line.slice(0, at)), ...bad, ...encode(line.slice(at))]);
  };
  const source = {
    async *messages() {
      yield new SseMessage<ScannedRecentChange>("message", withBadBytes(good1!, [0xff, 0xfe]));
      yield new SseMessage<ScannedRecentChange>("message", encode(good2!));
      // a lone continuation byte in data that is not JSON either: dead-lettered, and counted
      yield new SseMessage<ScannedRecentChange>("message", new Uint8Array([0x7b, 0x80]));
      yield new SseMessage<ScannedRecentChange>("message", encode(good3!));
    },
  };
  await using broker = await startBroker({ dataDir: `${dir}/broker` });
  const { log, sink } = testLogger();
  const stats = await runProducer(
    testProducerConfig({ KAFKA_REST_URL: broker.url.href, STATE_DIR: `${dir}/state` }, [
      "--max-events",
      "3",
    ]),
    { log, signal: new AbortController().signal, source },
  );
  assert.equal(stats.eventsProduced, 3);
  assert.equal(stats.deadLettered, 1);
  assert.equal((stats as { invalidUtf8?: number }).invalidUtf8, 2);
  const records = await readAllRecords(broker.url, TOPIC);
  const first = JSON.parse(good1!) as Ev;
  const forwarded = records.find((r) => (r.value as Ev).meta.id === first.meta.id)!;
  assert.equal((forwarded.value as Ev).title, "\uFFFD\uFFFD" + first.title);
  const warnings = sink.records.filter((r) => /not valid UTF-8/.test(r.message));
  assert.equal(warnings.length, 2);
  assert.equal(warnings[0]!.level, "warn");
  assert.equal(warnings[0]!.properties.metaId, first.meta.id);
  const stopped = sink.records.find((r) => r.message === "stopped")!;
  assert.equal(stopped.properties.invalidUtf8, 2);
  const metrics = producerMetrics({ stats, idleTimeoutMs: 1000 }).registry.render();
  assert.match(metrics, /^wikistream_producer_invalid_utf8_total 2$/m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reportProgress() shows the count of events with invalid UTF-8 in the progress line", async () => {
  const stats = createProducerStats(0);
  stats.eventsIn = 10;
  stats.invalidUtf8 = 2;
  const { log, sink } = testLogger();
  const stop = new AbortController();
  let sleeps = 0;
  await reportProgress(1000, {
    clock: {
      now: () => 1000 * sleeps,
      sleep: (_ms, signal) => {
        if (++sleeps > 1) stop.abort();
        return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
      },
    },
    log,
    stats,
    batcher: { inFlight: 0, queued: 0 } as unknown as ProduceBatcher,
    signal: stop.signal,
  });
  const progress = sink.records.filter((r) => r.message === "progress");
  assert.equal(progress.length, 1);
  assert.equal(progress[0]!.properties.invalidUtf8, 2);
});
