/**
 * Catch-up benchmark of the consumer: a backlog of recorded events (repeated with
 * distinct `meta.id`s and re-timed onto one contiguous clock at `--rate` events per second, the
 * live stream's pace, so the backlog covers the hours a real one would) is put into a local broker
 * subprocess, then `consumer.ts --until-idle` drains it into a local lake in a
 * second subprocess, run under `/usr/bin/time` (its CPU seconds and peak RSS). Prints events/s,
 * events per CPU-second, peak RSS, the lake's bytes per event and file-size distribution, and
 * the reference measured in the same run on the same events: DuckDB `read_json` → `COPY …
 * (FORMAT parquet, COMPRESSION zstd)` with 1 and with 2 threads, in its own process (process
 * start included, as the consumer's is). With `--consumers 1,2` the same
 * backlog is drained once by one consumer process and once by two processes in one
 * consumer group (a new group and lake per run), and the ratio of their events/s is printed.
 *
 * Run: `deno task bench:backlog [--events 500000] [--rate 50] [--consumers 1,2] [--profile] [--programs] [-- extra consumer flags]`
 *
 * @module
 */
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { RECORDING_FILES, RECORDINGS } from "../tests/_helpers/produce_events.ts";
import { programArgs } from "../tests/_helpers/program_command.ts";
import { spawnReplayTask } from "../tests/_helpers/replay_task.ts";
import { allocatorEnv } from "../lib/launcher/allocator_env.ts";
import {
  cpuTicks,
  InspectorProfiler,
  type ProfileSummary,
  residentByMapping,
} from "./_cpu_profile.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function recordedLines(): Promise<string[]> {
  const lines: string[] = [];
  for (const name of RECORDING_FILES) {
    const text = await Deno.readTextFile(new URL(name, RECORDINGS));
    for (const line of text.split("\n")) if (line.trim() !== "") lines.push(line);
  }
  return lines;
}

/** Where the backlog's clock starts: an hour boundary, as a real backlog's need not be. */
const CLOCK_START = Date.parse("2026-11-30T09:17:00Z");

/**
 * Copy `copy` of a recorded event, as the `n`-th event of the backlog: a distinct `meta.id`, and
 * `meta.dt` / `timestamp` on a clock that advances `1000 / rate` ms per event. Re-timing matters:
 * the recordings span years (one is a 2018–2019 sample), and shifting whole copies would spread a
 * backlog over hundreds of hours of a few hundred events each, which no live backlog looks like.
 */
function copyOf(
  event: Record<string, unknown>,
  copy: number,
  n: number,
  rate: number,
): Record<string, unknown> {
  const meta = event.meta as Record<string, unknown>;
  const ms = CLOCK_START + Math.floor((n * 1000) / rate);
  return {
    ...event,
    ...(typeof event.timestamp === "number" ? { timestamp: Math.floor(ms / 1000) } : {}),
    meta: {
      ...meta,
      id: `${String(meta.id).slice(0, 28)}${String(copy).padStart(8, "0")}`,
      dt: new Date(ms).toISOString(),
    },
  };
}

/** Events per part file of the replayed stream (`deno task replay` reads each file as one string). */
const PART_EVENTS = 200_000;

/** The part files holding the backlog for `deno task replay`, in order. */
function partPaths(ndjsonPath: string, total: number): string[] {
  return Array.from(
    { length: Math.ceil(total / PART_EVENTS) },
    (_, k) => `${ndjsonPath}.part-${k}`,
  );
}

/**
 * Puts the backlog into the broker and writes the same values as NDJSON (DuckDB's input), and
 * again in parts of {@linkcode PART_EVENTS} (the replayed stream's input).
 */
async function produceBacklog(
  url: URL,
  total: number,
  rate: number,
  ndjsonPath: string,
): Promise<void> {
  const lines = (await recordedLines()).map((l) => JSON.parse(l));
  const ndjson = await Deno.open(ndjsonPath, { write: true, create: true, truncate: true });
  const parts = partPaths(ndjsonPath, total);
  let part: Deno.FsFile | undefined;
  let partIndex = -1;
  const encoder = new TextEncoder();
  let produced = 0;
  for (let copy = 0; produced < total; copy++) {
    for (let i = 0; i < lines.length && produced < total; i += 1000) {
      const slice = lines.slice(i, Math.min(i + 1000, i + total - produced));
      const records = slice.map((e, j) => {
        const value = copyOf(e, copy, produced + j, rate);
        return { key: (value.meta as { id: string }).id, value };
      });
      const res = await fetch(new URL("topics/wikimedia-changes", url), {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.json.v2+json" },
        body: JSON.stringify({ records }),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`produce failed: HTTP ${res.status}`);
      const text = encoder.encode(records.map((r) => JSON.stringify(r.value)).join("\n") + "\n");
      await ndjson.write(text);
      if (Math.floor(produced / PART_EVENTS) !== partIndex) {
        partIndex = Math.floor(produced / PART_EVENTS);
        part?.close();
        part = await Deno.open(parts[partIndex]!, { write: true, create: true });
      }
      await part!.write(text);
      produced += records.length;
    }
  }
  part?.close();
  ndjson.close();
}

/** What `/usr/bin/time -f "%e %U %S %M"` wrote: wall s, user s, system s, peak RSS KiB. */
interface ProcessTime {
  wallSeconds: number;
  cpuSeconds: number;
  peakMiB: number;
}

async function readTime(path: string): Promise<ProcessTime> {
  const text = (await Deno.readTextFile(path)).trim().split("\n").at(-1)!;
  const [wall, user, system, rssKiB] = text.split(/\s+/).map(Number);
  return {
    wallSeconds: wall!,
    cpuSeconds: user! + system!,
    peakMiB: Math.round(rssKiB! / 1024),
  };
}

function timed(args: string[], out: string): string[] {
  return ["-f", "%e %U %S %M", "-o", out, ...args];
}

/** The file sizes of the lake: count, quantiles, and how many are under 1 MiB. */
function sizeDistribution(sizes: number[]): string {
  const s = [...sizes].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  return `file sizes min ${kib(q(0))}, p10 ${kib(q(0.1))}, median ${kib(q(0.5))}, p90 ${
    kib(q(0.9))
  }, max ${kib(s.at(-1) ?? 0)}; ${s.filter((n) => n < 1 << 20).length} of ${s.length} under 1 MiB`;
}

interface DuckRun extends ProcessTime {
  threads: number;
  bytes: number;
}

async function duckdb(dir: string, ndjsonPath: string, threads: number): Promise<DuckRun> {
  const out = `${dir}/duckdb-${threads}.parquet`;
  const timeFile = `${dir}/time-duckdb-${threads}.txt`;
  const status = await new Deno.Command("/usr/bin/time", {
    args: timed([
      Deno.execPath(),
      "run",
      "-A",
      new URL("./_duckdb_copy.ts", import.meta.url).pathname,
      ndjsonPath,
      out,
      String(threads),
    ], timeFile),
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!status.success) throw new Error(`DuckDB reference failed (exit ${status.code})`);
  return { threads, bytes: (await Deno.stat(out)).size, ...(await readTime(timeFile)) };
}

async function lakeBytes(dir: string): Promise<{ files: number; bytes: number; sizes: number[] }> {
  const sizes: number[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".parquet")) sizes.push((await Deno.stat(p)).size);
    }
  };
  await walk(dir);
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), sizes };
}

interface Drain {
  consumers: number;
  seconds: number;
  peaksMiB: number[];
  cpuSeconds: number;
  codes: number[];
  lake: { files: number; bytes: number; sizes: number[] };
}

/** Drains the whole backlog with `n` consumer processes in a new group into a new lake. */
async function drain(url: URL, dir: string, n: number, extra: string[]): Promise<Drain> {
  const lakeDir = `${dir}/lake-${n}`;
  const start = performance.now();
  const timeFiles = Array.from({ length: n }, (_, i) => `${dir}/time-consumer-${n}-${i}.txt`);
  const children = Array.from({ length: n }, (_, i) =>
    new Deno.Command("/usr/bin/time", {
      args: timed([
        Deno.execPath(),
        ...programArgs("consume", [
          `--kafka-rest-url=${url.href}`,
          `--output-url=${lakeDir}`,
          `--consumer-group=bench-${n}`,
          `--consumer-instance-id=bench-${n}-${i}`,
          "--until-idle=3000",
          "--progress-interval-ms=0",
          "--log-level=warn",
          ...extra,
        ]),
      ], timeFiles[i]!),
      env: allocatorEnv(Deno.env.toObject()),
      stdout: "null",
      stderr: "inherit",
    }).spawn());
  const statuses = await Promise.all(children.map((c) => c.status));
  const times = await Promise.all(timeFiles.map(readTime));
  return {
    consumers: n,
    seconds: (performance.now() - start - 3000) / 1000, // minus the idle wait
    peaksMiB: times.map((t) => t.peakMiB),
    cpuSeconds: times.reduce((a, t) => a + t.cpuSeconds, 0),
    codes: statuses.map((s) => s.code),
    lake: await lakeBytes(lakeDir),
  };
}

/** Evaluated in the consumer: `Deno.memoryUsage()` and the size of parquet-wasm's memory. */
const MEMORY_EXPRESSION = `import("parquet-wasm").then((m) => ({
  ...Deno.memoryUsage(), wasm: m.wasmMemory().buffer.byteLength,
}), () => Deno.memoryUsage())`;

/**
 * Drains the backlog once more with one consumer under the inspector, until it goes idle (the
 * backlog is drained): with `profile`, samples its CPU and returns where the time went; else
 * samples `Deno.memoryUsage()` and parquet-wasm's memory every 250 ms and returns the sample
 * with the highest RSS (a separate run: the profiler's own samples take memory).
 */
async function inspectedDrain(
  url: URL,
  dir: string,
  extra: string[],
  profile: boolean,
): Promise<
  { summary?: ProfileSummary; peak: Record<string, number>; mappings: Record<string, number> }
> {
  const port = 9400 + Math.floor(Math.random() * 500);
  const [run, ...rest] = programArgs("consume", [
    `--kafka-rest-url=${url.href}`,
    `--output-url=${dir}/lake-inspected-${profile}`,
    `--consumer-group=bench-inspected-${profile}`,
    "--until-idle=3000",
    "--progress-interval-ms=0",
    "--log-level=warn",
    ...extra,
  ]);
  const child = new Deno.Command(Deno.execPath(), {
    args: [run!, `--inspect=127.0.0.1:${port}`, ...rest],
    env: allocatorEnv(Deno.env.toObject()),
    stdout: "null",
    stderr: "null",
  }).spawn();
  const profiler = await InspectorProfiler.connect(port);
  if (profile) await profiler.startProfiling();
  let ticks = cpuTicks(child.pid);
  let quiet = 0;
  let peak: Record<string, number> = { rss: 0 };
  let mappings: Record<string, number> = {};
  for (let busy = false; quiet < 2;) {
    await new Promise((r) => setTimeout(r, 250));
    if (!profile) {
      const usage = await profiler.evaluate(MEMORY_EXPRESSION) as Record<string, number>;
      if (usage && usage.rss > peak.rss!) {
        peak = usage;
        mappings = residentByMapping(child.pid);
      }
    }
    const now = cpuTicks(child.pid);
    if (now - ticks > 10) busy = true;
    quiet = busy && now - ticks <= 2 ? quiet + 1 : 0;
    ticks = now;
  }
  const summary = profile ? await profiler.stop() : undefined;
  profiler.close();
  await child.status;
  return { summary, peak, mappings };
}

function profileLines(summary: ProfileSummary, p: Record<string, number>): string[] {
  const mib = (n = 0) => `${Math.round(n / 2 ** 20)} MiB`;
  const line = (l: { name: string; ms: number; share: number }) =>
    `  ${(l.share * 100).toFixed(1).padStart(5)}%  ${
      (l.ms / 1000).toFixed(2).padStart(6)
    } s  ${l.name}`;
  return [
    `memory at the highest RSS sampled (every 250 ms, one more drain under the inspector): rss ${
      mib(p.rss)
    }, V8 heap total ${mib(p.heapTotal)} (used ${mib(p.heapUsed)}), external ${
      mib(p.external)
    }, parquet-wasm memory ${p.wasm === undefined ? "unknown" : mib(p.wasm)}; the rest (${
      mib(p.rss! - p.heapTotal! - p.external! - (p.wasm ?? 0))
    }) is code, the runtime's native memory and allocator slack`,
    `profile (one more drain under the inspector, ${
      (summary.totalMs / 1000).toFixed(1)
    } s sampled), by stage:`,
    ...summary.stages.map(line),
    "by function (self time):",
    ...summary.functions.map(line),
  ];
}

/**
 * The producer and `deno task start` on the same backlog, replayed by `deno task replay --rate 0`
 * as a stream: each under `/usr/bin/time` with its task's flags, each until `--max-events`.
 * The producer posts to the benchmark's broker (a new topic); `start` runs its own broker, producer
 * and consumer into a new lake.
 */
async function programRuns(url: URL, dir: string, ndjsonPath: string): Promise<string[]> {
  const lines: string[] = [];
  const runs: [string, string[]][] = [
    ["produce", [
      `--kafka-rest-url=${url.href}`,
      "--kafka-topic=bench-producer",
      `--state-dir=${dir}/producer-state`,
    ]],
    ["start", [
      "--broker-port=0",
      `--broker-data-dir=${dir}/start-broker`,
      `--output-url=${dir}/lake-start`,
      `--state-dir=${dir}/start-state`,
    ]],
  ];
  for (const [task, args] of runs) {
    const replay = await spawnReplayTask([
      "--rate",
      "0",
      "--port",
      "0",
      ...partPaths(ndjsonPath, total),
    ]);
    try {
      const timeFile = `${dir}/time-${task}.txt`;
      const status = await new Deno.Command("/usr/bin/time", {
        args: timed([
          Deno.execPath(),
          ...programArgs(task, [
            ...args,
            `--stream-url=${replay.url.href}`,
            `--since=${new Date(CLOCK_START).toISOString()}`, // the backlog, not the live end
            `--max-events=${total}`,
            "--progress-interval-ms=0",
            "--log-level=warn",
          ]),
        ], timeFile),
        env: allocatorEnv(Deno.env.toObject()),
        stdout: "null",
        stderr: "inherit",
      }).output();
      const t = await readTime(timeFile);
      lines.push(
        `${task} (${total} events replayed over SSE, until --max-events): ${
          t.wallSeconds.toFixed(1)
        } s = ${
          Math.round(total / t.wallSeconds)
        } events/s; exit code ${status.code}; peak RSS ${t.peakMiB} MiB; CPU ${
          t.cpuSeconds.toFixed(1)
        } s`,
      );
    } finally {
      replay.child.kill("SIGTERM");
      await replay.child.status;
    }
  }
  return lines;
}

/** What `bench/_consumer_stack_floor.ts` printed for one depth. */
interface FloorRun {
  rows: number;
  bodies: number;
  bodyBytes: number;
  files: number;
  parquetBytes: number;
  cpuMs: number;
}

/** The floor's runs at each depth, cumulative (see `bench/_consumer_stack_floor.ts`). */
type StackFloor = Record<"read" | "parse" | "columns" | "encode", FloorRun>;

/**
 * The stack's floor on the same backlog, with the consumer's default `max_bytes` and 50,000-row
 * files: one process and one new consumer group per depth.
 */
async function stackFloor(url: URL): Promise<StackFloor> {
  const runs: Partial<StackFloor> = {};
  for (const depth of ["read", "parse", "columns", "encode"] as const) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_consumer_stack_floor.ts", import.meta.url).pathname,
        url.href,
        "wikimedia-changes",
        depth,
        "1048576",
        "50000",
      ],
      env: allocatorEnv(Deno.env.toObject()),
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`the stack floor run failed (exit ${output.code})`);
    runs[depth] = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
  }
  return runs as StackFloor;
}

function floorLines(floor: StackFloor, total: number, duckCpuSeconds: number, oursCpu: number) {
  const us = (ms: number) => `${(ms * 1000 / total).toFixed(2)} µs`;
  const read = floor.read.cpuMs;
  const parse = floor.parse.cpuMs - read;
  const columns = floor.columns.cpuMs - floor.parse.cpuMs;
  const encode = floor.encode.cpuMs - floor.columns.cpuMs;
  const stack = read + parse + encode;
  const perCpu = (ms: number) => Math.round(total / (ms / 1000));
  const duck = total / duckCpuSeconds;
  return [
    `stack floor (same backlog; a process per depth, no consumer logic; CPU per event): fetch ${
      us(read)
    } (${floor.read.bodies} bodies of ${
      (floor.read.bodyBytes / floor.read.bodies / 1024).toFixed(0)
    } KiB), TextDecoder + JSON.parse ${us(parse)}, our column building ${
      us(columns)
    }, Arrow IPC + parquet-wasm zstd ${us(encode)} (${floor.encode.files} files of ≤50000 rows, ${
      (floor.encode.parquetBytes / total).toFixed(1)
    } B/event)`,
    `  fetch + parse + encode = ${us(stack)}/event = ${perCpu(stack)} events per CPU-second = ${
      (perCpu(stack) / duck).toFixed(2)
    }× duckdb 1 thread; with column building ${us(stack + columns)} = ${
      perCpu(stack + columns)
    } events per CPU-second = ${
      (perCpu(stack + columns) / duck).toFixed(2)
    }×; the consumer's CPU is ${(oursCpu * 1000 / (stack + columns)).toFixed(2)}× that`,
  ];
}

/** Prints lines at once, so a later failure keeps what was measured before it. */
function report(...text: string[]): void {
  // deno-lint-ignore no-console
  console.log(text.join("\n"));
}

const total = flag("events", 500_000);
/** Events per second of event time; the 2026-05-05 full-stream recording runs at 54/s. */
const rate = flag("rate", 50);
const counts = (() => {
  const i = Deno.args.indexOf("--consumers");
  return i >= 0 ? Deno.args[i + 1]!.split(",").map(Number) : [1];
})();
const extra = Deno.args.includes("--") ? Deno.args.slice(Deno.args.indexOf("--") + 1) : [];
const dir = await Deno.makeTempDir({ prefix: "wikistream-backlog-" });
const broker = await spawnBroker({ dataDir: `${dir}/broker` });
try {
  const t0 = performance.now();
  const ndjsonPath = `${dir}/events.ndjson`;
  await produceBacklog(broker.url, total, rate, ndjsonPath);
  const produceMs = performance.now() - t0;
  report(
    `backlog: ${total} events (${rate}/s of event time, ${
      (total / rate / 3600).toFixed(1)
    } h) put into the broker in ${(produceMs / 1000).toFixed(1)} s`,
    `consumer flags: ${extra.join(" ") || "(defaults)"}`,
  );
  const runs: Drain[] = [];
  for (const n of counts) {
    const run = await drain(broker.url, dir, n, extra);
    runs.push(run);
    report(
      `${n} consumer process${n === 1 ? "" : "es"}: catch-up ${run.seconds.toFixed(1)} s = ${
        Math.round(total / run.seconds)
      } events/s (idle wait excluded); exit codes ${run.codes.join(",")}; peak RSS ${
        run.peaksMiB.join(", ")
      } MiB; CPU ${run.cpuSeconds.toFixed(1)} s = ${
        Math.round(total / run.cpuSeconds)
      } events per CPU-second; lake ${run.lake.files} files, ${run.lake.bytes} bytes, ${
        (run.lake.bytes / total).toFixed(1)
      } B/event; ${sizeDistribution(run.lake.sizes)}`,
    );
  }
  // the reference, same events, same machine, same run: DuckDB NDJSON → Parquet (zstd)
  const ducks = [await duckdb(dir, ndjsonPath, 1), await duckdb(dir, ndjsonPath, 2)];
  for (const d of ducks) {
    report(
      `duckdb ${d.threads} thread${d.threads === 1 ? "" : "s"} (read_json → COPY parquet zstd, ` +
        `process start included): ${d.wallSeconds.toFixed(1)} s = ${
          Math.round(total / d.wallSeconds)
        } events/s; CPU ${d.cpuSeconds.toFixed(1)} s = ${
          Math.round(total / d.cpuSeconds)
        } events per CPU-second; peak RSS ${d.peakMiB} MiB; ${d.bytes} bytes, ${
          (d.bytes / total).toFixed(1)
        } B/event`,
    );
  }
  const floor = await stackFloor(broker.url);
  report(...floorLines(floor, total, ducks[0]!.cpuSeconds, runs[0]!.cpuSeconds));
  if (Deno.args.includes("--programs")) {
    report(...await programRuns(broker.url, dir, ndjsonPath));
  }
  if (Deno.args.includes("--profile")) {
    const { peak, mappings } = await inspectedDrain(broker.url, dir, extra, false);
    report(
      `resident memory at that sample by mapping: ${
        Object.entries(mappings).sort((a, b) => b[1] - a[1]).map(([k, kib]) =>
          `${k} ${Math.round(kib / 1024)} MiB`
        ).join(", ")
      }`,
    );
    const { summary } = await inspectedDrain(broker.url, dir, extra, true);
    report(...profileLines(summary!, peak));
  }
  const one = runs[0]!;
  const duck1 = ducks[0]!;
  report(
    `ratio (${one.consumers} consumer process vs duckdb 1 thread): events per CPU-second ${
      ((total / one.cpuSeconds) / (total / duck1.cpuSeconds)).toFixed(2)
    }×; wall events/s ${(duck1.wallSeconds / one.seconds).toFixed(2)}× (vs 2 threads ${
      (ducks[1]!.wallSeconds / one.seconds).toFixed(2)
    }×); bytes/event ${(one.lake.bytes / duck1.bytes).toFixed(2)}×`,
  );
  if (runs.length > 1) {
    const base = runs[0]!;
    for (const run of runs.slice(1)) {
      report(
        `${run.consumers} vs ${base.consumers}: ${
          (base.seconds / run.seconds).toFixed(2)
        }× the events/s`,
      );
    }
  }
} finally {
  await broker.kill("SIGTERM");
  // a program still finishing (a failed run) may write into it: retry once after a moment
  await Deno.remove(dir, { recursive: true }).catch(async () => {
    await new Promise((r) => setTimeout(r, 2000));
    await Deno.remove(dir, { recursive: true });
  });
}
