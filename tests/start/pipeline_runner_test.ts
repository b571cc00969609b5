import assert from "node:assert/strict";
import { envNames, parseConfig } from "../../lib/cli/config.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { PIPELINE_OPTIONS, runPipeline } from "../../lib/start/pipeline_runner.ts";
import { queryParquet } from "../_helpers/duckdb.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { programArgs } from "../_helpers/program_command.ts";

const RECORDING = "6rzan-real-time-system_2026-05-05.ndjson";

function pipelineConfig(dir: string, args: string[]) {
  return parseConfig(PIPELINE_OPTIONS, {
    args: [
      "--broker-port=0",
      `--broker-data-dir=${dir}/broker`,
      `--state-dir=${dir}/producer`,
      `--output-url=${dir}/lake`,
      "--progress-interval-ms=0",
      ...args,
    ],
  }).config;
}

Deno.test("runPipeline with --max-events puts exactly the produced events into the lake", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-start-" });
  const lines = await readRecordedLines(RECORDING, 400);
  await using sse = await startSseServer({ events: lines });
  try {
    const log = createLogger({ sink: memorySink() });
    const config = pipelineConfig(dir, [
      `--stream-url=${sse.url.href}`,
      "--since=2020-01-01T00:00:00Z",
      "--max-events=300",
      "--flush-interval-ms=500",
    ]);
    const stats = await runPipeline(config, { log, signal: new AbortController().signal });
    assert.equal(stats.producer.eventsProduced, 300);
    assert.equal(stats.consumer.rowsWritten, 300);
    const rows = await queryParquet(
      `${dir}/lake/**/*.parquet`,
      "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM data",
    );
    assert.equal(Number(rows[0]!.n), 300);
    assert.equal(Number(rows[0]!.ids), 300);
    const expected = new Set(lines.slice(0, 300).map((l) => JSON.parse(l).meta.id));
    const ids = await queryParquet(`${dir}/lake/**/*.parquet`, "SELECT event_id FROM data");
    assert.deepEqual(new Set(ids.map((r) => r.event_id)), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPipeline uses its embedded broker with v2 and no credentials even when .env is made for a remote proxy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-start-" });
  await using sse = await startSseServer({ events: await readRecordedLines(RECORDING, 100) });
  try {
    const remote = {
      KAFKA_REST_API: "v3",
      KAFKA_REST_CLUSTER_ID: "lkc-remote",
      KAFKA_REST_USERNAME: "remote-user",
      KAFKA_REST_PASSWORD: "remote-password",
      KAFKA_REST_CA_FILE: `${dir}/no-such-ca.pem`,
    };
    const config = parseConfig(PIPELINE_OPTIONS, {
      env: remote,
      args: [
        "--broker-port=0",
        `--broker-data-dir=${dir}/broker`,
        `--state-dir=${dir}/producer`,
        `--output-url=${dir}/lake`,
        "--progress-interval-ms=0",
        `--stream-url=${sse.url.href}`,
        "--since=2020-01-01T00:00:00Z",
        "--max-events=50",
        "--flush-interval-ms=500",
      ],
    }).config;
    for (const env of Object.keys(remote)) {
      assert.ok(!envNames(PIPELINE_OPTIONS).includes(env), `start does not read ${env}`);
    }
    const log = createLogger({ sink: memorySink() });
    const stats = await runPipeline(config, { log, signal: new AbortController().signal });
    assert.equal(stats.producer.eventsProduced, 50);
    assert.equal(stats.consumer.rowsWritten, 50);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPipeline reports an unreachable stream in one clear line and stops cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-start-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there any more: connection refused
  try {
    const sink = memorySink();
    const log = createLogger({ sink });
    const stop = new AbortController();
    const url = `http://127.0.0.1:${port}/v2/stream/recentchange`;
    const config = pipelineConfig(dir, [`--stream-url=${url}`]);
    const timer = setTimeout(() => stop.abort(), 2500);
    await runPipeline(config, { log, signal: stop.signal });
    clearTimeout(timer);
    const warnings = sink.records.filter((r) => r.level === "warn" && r.message.includes(url));
    assert.equal(warnings.length, 1, "one line per outage, not one per retry");
    assert.match(warnings[0]!.message, /--stream-url/);
    assert.equal(sink.records.filter((r) => r.level === "error").length, 0);
    assert.ok(sink.records.some((r) => r.message === "pipeline stopped"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Finds the "serving metrics" line in a JSON log and scrapes `/metrics` and `/healthz`. */
async function scrape(log: string): Promise<{ health: number; text: string }> {
  const line = log.split("\n").find((l) => l.includes('"msg":"serving metrics"'));
  assert.ok(line, "start.ts logged its metrics URL");
  const base = new URL("/", JSON.parse(line).url);
  const health = await fetch(new URL("healthz", base));
  await health.body?.cancel();
  const text = await (await fetch(new URL("metrics", base))).text();
  return { health: health.status, text };
}

Deno.test("start.ts serves all three metric families on METRICS_PORT and stops cleanly on SIGINT with exit code 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-start-" });
  const lines = await readRecordedLines(RECORDING, 200);
  await using sse = await startSseServer({ events: lines, atEnd: "hold" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: programArgs("start", [
        `--stream-url=${sse.url.href}`,
        "--since=2020-01-01T00:00:00Z",
        "--broker-port=0",
        `--broker-data-dir=${dir}/broker`,
        `--state-dir=${dir}/producer`,
        `--output-url=${dir}/lake`,
        "--progress-interval-ms=0",
        "--log-format=json",
        "--metrics-port=0",
      ]),
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoderStream();
    const text = child.stderr.pipeThrough(decoder);
    let log = "";
    let metrics: { health: number; text: string } | undefined;
    const reader = text.getReader();
    // wait until the producer has acknowledged all 200 events, then press Ctrl-C
    while (!log.includes('"produced":200') && !log.includes("reached")) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
      if (sse.eventsServed >= 200 && !log.includes("SIGINT")) {
        await new Promise((r) => setTimeout(r, 1500));
        metrics = await scrape(log);
        child.kill("SIGINT");
        break;
      }
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
    }
    const status = await child.status;
    assert.equal(status.code, 0, log);
    const stopped = log.split("\n").filter((l) => l.includes('"msg":"pipeline stopped"'));
    assert.equal(stopped.length, 1, log);
    const summary = JSON.parse(stopped[0]!);
    assert.equal(summary.produced, 200);
    const rows = await queryParquet(`${dir}/lake/**/*.parquet`, "SELECT count(*) AS n FROM data");
    assert.equal(Number(rows[0]!.n), summary.rows);
    assert.equal(summary.rows, summary.consumed);
    // One endpoint for the three parts, scraped while running.
    assert.ok(metrics, "the metrics endpoint was scraped");
    assert.equal(metrics.health, 200);
    assert.match(metrics.text, /^wikistream_producer_events_produced_total 200$/m);
    assert.match(metrics.text, /^wikistream_consumer_records_in_total \d+$/m);
    assert.match(metrics.text, /^wikistream_broker_requests_total\{method="POST"\} \d+$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
