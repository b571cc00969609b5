/**
 * Producer throughput: the recorded events repeated to 100,000 (unique ids),
 * through the real pipeline (`runProducer`: SSE client, parsing, inspection,
 * batching, REST produce, state saves) against a local endpoint that acknowledges
 * immediately, compared with bare `JSON.parse` of each line in the same run.
 * The stream server and the endpoint run in two workers, off the producer's thread.
 *
 * `deno task bench:producer` prints events/s and peak RSS;
 * under `deno bench` the same two measurements run as a baseline comparison.
 *
 * @module
 */
import { parseConfig } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { PRODUCER_OPTIONS } from "../lib/producer_config.ts";
import { runProducer } from "../lib/producer_pipeline.ts";
import { repeatedLine } from "./_repeat_events.ts";

const TOTAL = 100_000;
const FILE = new URL(
  "../../shared/data/recentchange/6rzan-real-time-system_2026-05-05.ndjson",
  import.meta.url,
);

async function baseLines(): Promise<string[]> {
  return (await Deno.readTextFile(FILE)).split("\n").filter((l) => l !== "");
}

async function startWorker(role: "sse" | "proxy", base: string[]): Promise<[string, Worker]> {
  const worker = new Worker(new URL("./_producer_bench_servers.ts", import.meta.url), {
    type: "module",
  });
  const url = await new Promise<string>((resolve) => {
    worker.onmessage = (e) => resolve(e.data.url);
    worker.postMessage({ role, base, total: TOTAL });
  });
  return [url, worker];
}

async function startServers(base: string[]): Promise<{ sse: string; proxy: string; stop(): void }> {
  const [sse, sseWorker] = await startWorker("sse", base);
  const [proxy, proxyWorker] = await startWorker("proxy", base);
  return {
    sse,
    proxy,
    stop: () => {
      sseWorker.terminate();
      proxyWorker.terminate();
    },
  };
}

async function runPipeline(base: string[]): Promise<number> {
  const servers = await startServers(base);
  const stateDir = await Deno.makeTempDir();
  try {
    const { config } = parseConfig(PRODUCER_OPTIONS, {
      env: {
        STREAM_URL: servers.sse,
        KAFKA_REST_URL: servers.proxy,
        STATE_DIR: stateDir,
        PROGRESS_INTERVAL_MS: "0",
        PRODUCE_BATCH_MAX_RECORDS: Deno.env.get("PRODUCE_BATCH_MAX_RECORDS") ?? "500",
      },
      args: ["--since", "0", "--max-events", String(TOTAL)],
    });
    const started = performance.now();
    const stats = await runProducer(config, {
      log: createLogger({ level: "error" }),
      signal: new AbortController().signal,
    });
    const ms = performance.now() - started;
    if (stats.eventsProduced !== TOTAL) throw new Error(`produced ${stats.eventsProduced}`);
    return ms;
  } finally {
    servers.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

function bareParse(lines: readonly string[]): number {
  const started = performance.now();
  let n = 0;
  for (const line of lines) if ((JSON.parse(line) as { meta?: unknown }).meta) n++;
  if (n !== lines.length) throw new Error("unexpected line");
  return performance.now() - started;
}

function repeated(base: string[]): string[] {
  return Array.from({ length: TOTAL }, (_, i) => repeatedLine(base, i).line);
}

if (import.meta.main) {
  const base = await baseLines();
  let peakRss = Deno.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  }, 50);
  await runPipeline(base); // warm-up
  const pipelineMs = await runPipeline(base);
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  clearInterval(sampler);
  const pipelinePeak = peakRss;
  const lines = repeated(base);
  bareParse(lines); // warm-up
  const parseMs = bareParse(lines);
  const producerRate = TOTAL / (pipelineMs / 1000);
  const parseRate = TOTAL / (parseMs / 1000);
  // deno-lint-ignore no-console
  console.log(
    [
      `events: ${TOTAL} (recording repeated, unique meta.id)`,
      `producer pipeline: ${Math.round(producerRate)} events/s (${pipelineMs.toFixed(0)} ms)`,
      `bare JSON.parse:   ${Math.round(parseRate)} events/s (${parseMs.toFixed(0)} ms)`,
      `ratio: ${(100 * producerRate / parseRate).toFixed(1)}% of bare parse (target >= 50%)`,
      `peak RSS during the producer run: ${(pipelinePeak / 1048576).toFixed(0)} MiB ` +
      "(whole process, including the worker's servers)",
    ].join("\n"),
  );
} else if (typeof Deno.bench === "function" && Deno.env.get("PRODUCER_DENO_BENCH") === "1") {
  const base = await baseLines();
  const lines = repeated(base);
  Deno.bench({
    name: "bare JSON.parse of 100k recorded lines",
    group: "producer",
    baseline: true,
    n: 5,
    warmup: 1,
    fn: () => void bareParse(lines),
  });
  Deno.bench({
    name: "producer pipeline, 100k events (SSE → batches → local REST endpoint)",
    group: "producer",
    n: 3,
    warmup: 1,
    fn: async () => void await runPipeline(base),
  });
}
