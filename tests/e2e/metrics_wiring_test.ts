import assert from "node:assert/strict";
import { createConsumerStats } from "../../lib/consumer/consumer_stats.ts";
import { createProducerStats } from "../../lib/producer/producer_stats.ts";
import { combinedMetrics } from "../../lib/metrics/program_metrics.ts";
import { consumerMetrics } from "../../lib/consumer/consumer_metrics.ts";
import { producerMetrics } from "../../lib/producer/producer_metrics.ts";
import { MetricsRegistry } from "../../lib/metrics/metrics.ts";
import { startTestBroker } from "../_helpers/broker_http.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { programArgs, taskOfEntry } from "../_helpers/program_command.ts";

/** A program started as a subprocess with `METRICS_PORT=0`. */
interface MetricsProgram extends AsyncDisposable {
  /** Root URL of its metrics endpoint. */
  metricsUrl: URL;
  /** The log lines seen so far (JSON text). */
  logs: string[];
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts `<program>.ts` and waits for its "serving metrics" log line. */
async function startProgram(program: string, env: Record<string, string>): Promise<MetricsProgram> {
  const fullEnv = { LOG_FORMAT: "json", LOG_LEVEL: "info", METRICS_PORT: "0", ...env };
  const child = new Deno.Command(Deno.execPath(), {
    args: programArgs(taskOfEntry(`${program}.ts`)!, [], fullEnv),
    env: fullEnv,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  let found: ((url: URL) => void) | undefined;
  const listening = new Promise<URL>((resolve) => found = resolve);
  const drain = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (logs.length < 2000) logs.push(line);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "serving metrics") found?.(new URL("/", entry.url));
        } catch {
          // not a log line
        }
      }
    }
  })();
  let status: Deno.CommandStatus | undefined;
  const stop = async () => {
    if (!status) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      status = await child.status;
      await drain;
    }
    return status;
  };
  const timeout = new Promise<never>((_, reject) => {
    const id = setTimeout(() => reject(new Error(`${program} did not serve metrics`)), 30_000);
    child.status.finally(() => clearTimeout(id));
    listening.finally(() => clearTimeout(id));
  });
  let metricsUrl: URL;
  try {
    metricsUrl = await Promise.race([
      listening,
      timeout,
      child.status.then((s) => {
        throw new Error(`${program} exited with ${s.code}:\n${logs.join("\n")}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { metricsUrl, logs, stop, [Symbol.asyncDispose]: async () => void await stop() };
}

/** Scrapes `/metrics` into `name{labels}` → value. */
async function scrape(p: MetricsProgram): Promise<Map<string, number>> {
  const response = await fetch(new URL("metrics", p.metricsUrl));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function health(p: MetricsProgram): Promise<{ status: number; body: string }> {
  const response = await fetch(new URL("healthz", p.metricsUrl));
  return { status: response.status, body: await response.text() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("broker serves /metrics with topics, end offsets, instances and requests, and /healthz", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "metrics_broker_" });
  try {
    await using broker = await startProgram("broker", {
      BROKER_PORT: "0",
      BROKER_DATA_DIR: dataDir,
      BROKER_PARTITIONS: "2",
    });
    const ready = broker.logs.map((l) => JSON.parse(l)).find((e) => e.msg === "broker ready");
    const events = await loadRecordedEvents(30);
    await produceEvents(new URL(ready.url), events, { topic: "t" });
    const m = await scrape(broker);
    const end = [...m].filter(([k]) => k.startsWith("wikistream_broker_partition_end_offset{"));
    assert.equal(end.length, 2);
    assert.equal(end.reduce((n, [, v]) => n + v, 0), 30);
    assert.equal(m.get("wikistream_broker_topics"), 1);
    assert.equal(m.get("wikistream_broker_consumer_instances"), 0);
    assert.ok(m.get('wikistream_broker_requests_total{method="POST"}')! >= 1);
    assert.equal(m.get("wikistream_broker_server_errors_total"), 0);
    assert.equal((await health(broker)).status, 200);
    assert.equal((await broker.stop()).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("producer exports its counters and lag, and turns unhealthy when the stream goes silent", async () => {
  const events = await readRecordedLines(await firstRecording(), 25);
  await using tb = await startTestBroker();
  await using sse = await startSseServer({ events, atEnd: "hold" });
  const stateDir = await Deno.makeTempDir({ prefix: "metrics_producer_" });
  try {
    await using producer = await startProgram("producer", {
      STREAM_URL: sse.url.href,
      KAFKA_REST_URL: tb.broker.url.href,
      STATE_DIR: stateDir,
      STREAM_SINCE: "0",
      STREAM_IDLE_TIMEOUT_MS: "3000",
      PRODUCE_LINGER_MS: "10",
      PROGRESS_INTERVAL_MS: "0",
    });
    const m = await waitFor("25 produced events", async () => {
      const m = await scrape(producer);
      return m.get("wikistream_producer_events_produced_total") === 25 ? m : undefined;
    });
    assert.equal(m.get("wikistream_producer_events_in_total"), 25);
    assert.ok(m.get("wikistream_producer_bytes_produced_total")! > 1000);
    for (
      const name of [
        "retries_total",
        "reconnects_total",
        "dead_lettered_total",
        "duplicates_dropped_total",
        "canaries_dropped_total",
        "filtered_total",
      ]
    ) assert.ok(m.has(`wikistream_producer_${name}`), name);
    // recorded events are old: the lag is their age
    assert.ok(m.get("wikistream_producer_lag_seconds")! > 60);
    const unhealthy = await waitFor("an unhealthy producer", async () => {
      const h = await health(producer);
      return h.status === 503 ? h : undefined;
    });
    assert.match(unhealthy.body, /no event received for \d+ s/);
    assert.equal((await producer.stop()).code, 0);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

async function firstRecording(): Promise<string> {
  const dir = new URL("../../../shared/data/recentchange/", import.meta.url);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".ndjson")) names.push(e.name);
  return names.sort()[0]!;
}

Deno.test("consumer exports rows, rotations and freshness, and is unhealthy while commits fail", async () => {
  await using tb = await startTestBroker({ partitions: 2 });
  const lake = await Deno.makeTempDir({ prefix: "metrics_consumer_" });
  try {
    const events = await loadRecordedEvents(60);
    await produceEvents(tb.broker.url, events.slice(0, 30));
    await using consumer = await startProgram("consumer", {
      KAFKA_REST_URL: tb.broker.url.href,
      OUTPUT_URL: lake,
      FLUSH_INTERVAL_MS: "300",
      CONSUMER_READ_TIMEOUT_MS: "200",
      PROGRESS_INTERVAL_MS: "0",
    });
    const m = await waitFor("30 rows in the lake", async () => {
      const m = await scrape(consumer);
      return m.get("wikistream_consumer_rows_written_total") === 30 ? m : undefined;
    });
    assert.equal(m.get("wikistream_consumer_records_in_total"), 30);
    assert.ok(m.get("wikistream_consumer_files_written_total")! >= 1);
    assert.ok(m.get("wikistream_consumer_bytes_written_total")! > 0);
    assert.ok(m.get('wikistream_consumer_rotations_total{reason="age"}')! >= 1);
    assert.ok(m.has("wikistream_consumer_open_files"));
    assert.ok(m.has("wikistream_consumer_buffer_bytes"));
    assert.equal(m.get("wikistream_consumer_last_commit_ok"), 1);
    assert.ok(m.get("wikistream_consumer_lag_seconds")! > 60);
    assert.equal((await health(consumer)).status, 200);

    tb.broker.faults.add({ method: "POST", path: "/offsets$", status: 409, error_code: 40903 });
    await produceEvents(tb.broker.url, events.slice(30));
    const unhealthy = await waitFor("an unhealthy consumer", async () => {
      const h = await health(consumer);
      return h.status === 503 ? h : undefined;
    });
    assert.match(unhealthy.body, /commit failed/);
    assert.equal((await scrape(consumer)).get("wikistream_consumer_last_commit_ok"), 0);

    tb.broker.faults.clear();
    await waitFor("a healthy consumer again", async () => {
      return (await health(consumer)).status === 200 ? true : undefined;
    });
    assert.equal((await consumer.stop()).code, 0);
  } finally {
    await Deno.remove(lake, { recursive: true });
  }
});

Deno.test("consumerMetrics is unhealthy when records wait longer than the stall limit for a commit", () => {
  let t = 1_000_000;
  const stats = createConsumerStats();
  const { health, registry } = consumerMetrics({ stats, commitStallMs: 60_000, now: () => t });
  assert.equal(health().ok, true);
  stats.recordsIn = 10;
  t += 30_000;
  assert.equal(health().ok, true);
  t += 31_000;
  assert.match(health().reason!, /records wait for a commit since 61 s/);
  stats.lastCommitOk = true;
  stats.lastCommitTimeMs = t;
  assert.equal(health().ok, true);
  stats.rotations.rows = 2;
  assert.match(registry.render(), /wikistream_consumer_rotations_total\{reason="rows"\} 2/);
});

Deno.test("producerMetrics allows a grace period for the first event, then the idle timeout", () => {
  let t = 0;
  const stats = createProducerStats(0);
  const { health, registry } = producerMetrics({ stats, idleTimeoutMs: 1000, now: () => t });
  t = 1500;
  assert.equal(health().ok, true);
  t = 2500;
  assert.match(health().reason!, /no event received since the start/);
  stats.lastEventReceivedAtMs = 2400;
  stats.lastAckedEventTimeMs = 500;
  assert.equal(health().ok, true);
  assert.match(registry.render(), /wikistream_producer_lag_seconds 2\n/);
  t = 3500;
  assert.match(health().reason!, /no event received for 1 s/);
});

Deno.test("combinedMetrics renders every part's families and is unhealthy with the first failing part's reason", () => {
  const part = (name: string, ok: boolean) => {
    const registry = new MetricsRegistry();
    registry.counter(`${name}_total`, `${name} events`).add(2);
    return { registry, health: () => ok ? { ok } : { ok, reason: `${name} is stuck` } };
  };
  const healthy = combinedMetrics([part("a", true), part("b", true)]);
  const text = healthy.registry.render();
  assert.match(text, /^a_total 2$/m);
  assert.match(text, /^b_total 2$/m);
  assert.deepEqual(healthy.health(), { ok: true });
  const sick = combinedMetrics([part("a", true), part("b", false), part("c", false)]);
  assert.deepEqual(sick.health(), { ok: false, reason: "b is stuck" });
});
