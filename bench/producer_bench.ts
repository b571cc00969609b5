/**
 * Producer throughput: the recorded events repeated to 100,000 (unique ids),
 * through the real pipeline (`runProducer`: SSE client, parsing, inspection,
 * batching, REST produce, state saves) against a local endpoint that acknowledges
 * immediately, compared with bare `JSON.parse` of each line in the same run.
 * The stream server and the endpoint run off the producer's thread, once in a
 * separate process (the producer alone in this process: its CPU time and RSS are
 * its own) and once in a worker of this process (the earlier topology).
 *
 * `deno task bench:producer` prints events/s (wall and per CPU-second) and peak RSS;
 * under `deno bench` the same two measurements run as a baseline comparison.
 *
 * @module
 */
import { parseConfig } from "../lib/cli/config.ts";
import { createLogger } from "../lib/cli/log.ts";
import { PRODUCER_OPTIONS } from "../lib/producer/producer_config.ts";
import { runProducer } from "../lib/producer/producer_pipeline.ts";
import process from "node:process";
import { repeatedLine } from "./_repeat_events.ts";
import { ioFloor } from "./_producer_io_floor.ts";

const TOTAL = 100_000;
const FILE = new URL(
  "../../shared/data/recentchange/6rzan-real-time-system_2026-05-05.ndjson",
  import.meta.url,
);

async function baseLines(): Promise<string[]> {
  return (await Deno.readTextFile(FILE)).split("\n").filter((l) => l !== "");
}

type Topology = "process" | "worker";

interface Servers {
  sse: string;
  proxy: string;
  stop(): Promise<void>;
}

const SERVERS = new URL("./_producer_bench_servers.ts", import.meta.url);

async function startWorkerServers(base: string[]): Promise<Servers> {
  const worker = new Worker(SERVERS, { type: "module" });
  const urls = await new Promise<{ sse: string; proxy: string }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage({ base, total: TOTAL });
  });
  return { ...urls, stop: () => Promise.resolve(worker.terminate()) };
}

async function startProcessServers(): Promise<Servers> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SERVERS.pathname, "serve", String(TOTAL)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bench server process exited before printing its URLs");
    text += value;
  }
  const urls = JSON.parse(text.slice(0, text.indexOf("\n"))) as { sse: string; proxy: string };
  return {
    ...urls,
    stop: async () => {
      await child.stdin.close();
      await child.status;
      await reader.cancel();
    },
  };
}

/** One measured producer run. */
interface RunFigures {
  /** Wall time of `runProducer`. */
  ms: number;
  /** CPU time (user + system) of this whole process during the run. */
  processCpuMs: number;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function runPipeline(base: string[], topology: Topology): Promise<RunFigures> {
  const servers = topology === "process"
    ? await startProcessServers()
    : await startWorkerServers(base);
  const stateDir = await Deno.makeTempDir();
  try {
    const { config } = parseConfig(PRODUCER_OPTIONS, {
      env: {
        STREAM_URL: servers.sse,
        KAFKA_REST_URL: servers.proxy,
        STATE_DIR: stateDir,
        PROGRESS_INTERVAL_MS: "0",
        // The product's batch defaults, unless overridden for an experiment.
        ...Object.fromEntries(
          ["PRODUCE_BATCH_MAX_RECORDS", "PRODUCE_BATCH_MAX_BYTES", "PRODUCE_MAX_IN_FLIGHT"]
            .flatMap((k) => Deno.env.get(k) === undefined ? [] : [[k, Deno.env.get(k)!]]),
        ),
      },
      args: ["--since", "0", "--max-events", String(TOTAL)],
    });
    const started = performance.now();
    const cpuStarted = cpuMs();
    const stats = await runProducer(config, {
      log: createLogger({ level: "error" }),
      signal: new AbortController().signal,
    });
    const figures = { ms: performance.now() - started, processCpuMs: cpuMs() - cpuStarted };
    if (stats.eventsProduced !== TOTAL) throw new Error(`produced ${stats.eventsProduced}`);
    return figures;
  } finally {
    await servers.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function runFloor(): Promise<RunFigures> {
  const servers = await startProcessServers();
  try {
    const started = performance.now();
    const cpuStarted = cpuMs();
    await ioFloor(servers.sse, servers.proxy, TOTAL);
    return { ms: performance.now() - started, processCpuMs: cpuMs() - cpuStarted };
  } finally {
    await servers.stop();
  }
}

function bareParse(lines: readonly string[]): RunFigures {
  const started = performance.now();
  const cpuStarted = cpuMs();
  let n = 0;
  for (const line of lines) if ((JSON.parse(line) as { meta?: unknown }).meta) n++;
  if (n !== lines.length) throw new Error("unexpected line");
  return { ms: performance.now() - started, processCpuMs: cpuMs() - cpuStarted };
}

function rate(ms: number): number {
  return TOTAL / (ms / 1000);
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

function repeated(base: string[]): string[] {
  return Array.from({ length: TOTAL }, (_, i) => repeatedLine(base, i).line);
}

if (import.meta.main) {
  const base = await baseLines();
  let peakRss = Deno.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  }, 20);
  await runPipeline(base, "process"); // warm-up
  const run = await runPipeline(base, "process");
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  const processPeak = peakRss;
  await runFloor(); // warm-up
  const floor = await runFloor();
  await runPipeline(base, "worker"); // warm-up
  const inWorkers = await runPipeline(base, "worker");
  clearInterval(sampler);
  const lines = repeated(base);
  bareParse(lines); // warm-up
  const parse = bareParse(lines);
  const cpuRate = (f: RunFigures) => TOTAL / (f.processCpuMs / 1000);
  const pct = (a: number, b: number) => `${(100 * a / b).toFixed(1)}%`;
  // deno-lint-ignore no-console
  console.log(
    [
      `events: ${TOTAL} (recording repeated, unique meta.id)`,
      `bare JSON.parse:   ${Math.round(rate(parse.ms))} events/s (${
        parse.ms.toFixed(0)
      } ms wall, ` +
      `${Math.round(cpuRate(parse))} events per CPU-second)`,
      `producer, servers in a separate process (producer alone in this process):`,
      `  wall: ${Math.round(rate(run.ms))} events/s (${run.ms.toFixed(0)} ms) = ` +
      `${pct(rate(run.ms), rate(parse.ms))} of bare parse (target >= 50%)`,
      `  CPU:  ${Math.round(cpuRate(run))} events per CPU-second of this process ` +
      `(${run.processCpuMs.toFixed(0)} ms, all its threads) = ` +
      `${pct(cpuRate(run), cpuRate(parse))} of bare parse per CPU-second`,
      `  peak RSS of this process: ${mib(processPeak)}`,
      `I/O floor, same servers (read the stream, post the data lines 1000 per request, ` +
      `no parsing, validation, keys, dedupe or state):`,
      `  wall: ${Math.round(rate(floor.ms))} events/s (${floor.ms.toFixed(0)} ms) = ` +
      `${pct(rate(floor.ms), rate(parse.ms))} of bare parse; the producer reaches ` +
      `${pct(rate(run.ms), rate(floor.ms))} of the floor`,
      `producer, servers in workers of this process (3 busy threads on ${navigator.hardwareConcurrency} cores):`,
      `  wall: ${Math.round(rate(inWorkers.ms))} events/s (${inWorkers.ms.toFixed(0)} ms) = ` +
      `${pct(rate(inWorkers.ms), rate(parse.ms))} of bare parse`,
      `  peak RSS (whole process, including the servers' pre-generated stream): ${mib(peakRss)}`,
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
    fn: async () => void await runPipeline(base, "process"),
  });
}
