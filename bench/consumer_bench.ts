/**
 * Consumer encoding benchmark: REST Proxy JSON records → Arrow → Parquet bytes, against DuckDB
 * converting the same events NDJSON → ZSTD Parquet on one thread.
 *
 * Input: every recorded event of ../shared/data/recentchange/*.ndjson, repeated until at least
 * 100,000 rows. Copy k > 0 gets a distinct `meta.id` (first UUID group rewritten) and is moved
 * k weeks later (`meta.dt` and `timestamp`), so sorting by event time does not put identical
 * copies next to each other (which would flatter our sorted files against DuckDB's unsorted
 * ones). Ours is fed REST Proxy v2 `json` consume response bodies of 2,000 records each and
 * measures `JSON.parse` + `append` + `finish` + `encodeParquet`; DuckDB measures
 * `COPY (SELECT * FROM read_json(…)) TO … (FORMAT parquet, COMPRESSION zstd)` with
 * `threads=1`, reading the NDJSON file from disk.
 *
 * - `deno task bench` registers both as `Deno.bench` cases (DuckDB is the baseline).
 * - `deno task bench:consumer` (this file as a script) prints events/s, the ratio, Parquet
 *   bytes per event and peak RSS: `deno run -A bench/consumer_bench.ts [--runs=5] [--rows=100000]`.
 *   It also prints the process CPU time of each side (all threads, so V8's GC helper threads
 *   count against ours), which other load on the machine disturbs less than wall time.
 *
 * @module
 */

import { DuckDBInstance } from "@duckdb/node-api";
import { cpuUsage } from "node:process";
import { EventBatchBuilder } from "../lib/lake/event_batch_builder.ts";
import { encodeParquet } from "../lib/lake/parquet_encoder.ts";

const DATA_DIR = new URL("../../shared/data/recentchange/", import.meta.url);
const TOPIC = "wikimedia-changes";
const RECORDS_PER_RESPONSE = 2000;
const WEEK_MS = 7 * 86400000;

interface Workload {
  /** REST Proxy consume response bodies. */
  responses: string[];
  /** Path of the same events as NDJSON. */
  ndjsonPath: string;
  events: number;
  ndjsonBytes: number;
  dir: string;
}

function shiftDt(dt: string, ms: number): string {
  const shifted = new Date(Date.parse(dt) + ms).toISOString();
  // Keep the 2018 envelope's format (`+00:00`, no fraction).
  return dt.endsWith("+00:00") ? shifted.replace(/\.\d{3}Z$/, "+00:00") : shifted;
}

function prepareWorkload(minRows: number): Workload {
  const originals: string[] = [];
  const names = [...Deno.readDirSync(DATA_DIR)].map((e) => e.name).filter((n) =>
    n.endsWith(".ndjson")
  ).sort();
  for (const name of names) {
    for (const line of Deno.readTextFileSync(new URL(name, DATA_DIR)).split("\n")) {
      if (line !== "") originals.push(line);
    }
  }
  const lines: string[] = [];
  const ids = new Set<string>();
  for (let copy = 0; lines.length < minRows; copy++) {
    for (const line of originals) {
      if (copy === 0) {
        lines.push(line);
        ids.add(JSON.parse(line).meta.id);
        continue;
      }
      const event = JSON.parse(line);
      const id: string = event.meta.id;
      const head = (parseInt(id.slice(0, 8), 16) + copy * 0x9e3779b1) >>> 0;
      event.meta.id = head.toString(16).padStart(8, "0") + id.slice(8);
      event.meta.dt = shiftDt(event.meta.dt, copy * WEEK_MS);
      event.timestamp += copy * WEEK_MS / 1000;
      ids.add(event.meta.id);
      lines.push(JSON.stringify(event));
    }
  }
  if (ids.size !== lines.length) {
    throw new Error(`Cannot prepare workload: ${lines.length - ids.size} duplicate ids`);
  }
  const responses: string[] = [];
  for (let start = 0; start < lines.length; start += RECORDS_PER_RESPONSE) {
    const parts: string[] = [];
    const end = Math.min(lines.length, start + RECORDS_PER_RESPONSE);
    for (let i = start; i < end; i++) {
      parts.push(
        `{"topic":"${TOPIC}","key":null,"value":${lines[i]},"partition":0,"offset":${i}}`,
      );
    }
    responses.push(`[${parts.join(",")}]`);
  }
  const dir = Deno.makeTempDirSync({ prefix: "wikistream_bench_" });
  const ndjsonPath = `${dir}/events.ndjson`;
  const ndjson = lines.join("\n") + "\n";
  Deno.writeTextFileSync(ndjsonPath, ndjson);
  return {
    responses,
    ndjsonPath,
    events: lines.length,
    ndjsonBytes: new TextEncoder().encode(ndjson).length,
    dir,
  };
}

interface RecordJson {
  value: unknown;
  partition: number;
  offset: number;
}

function runOurs(w: Workload): { parquetBytes: number; rows: number } {
  const builder = new EventBatchBuilder({ capacity: 4096 });
  const now = Date.now();
  for (const body of w.responses) {
    const records = JSON.parse(body) as RecordJson[];
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const result = builder.append(r.value, r.partition, r.offset, now);
      if (!result.ok) throw new Error(`Cannot append benchmark record: ${result.reason}`);
    }
  }
  const table = builder.finish();
  const parquet = encodeParquet(table, {
    metadata: { "wikistream.kafka_offsets": `0:0-${w.events - 1}` },
  });
  return { parquetBytes: parquet.length, rows: table.numRows };
}

async function runDuckDb(
  w: Workload,
  connection: Awaited<ReturnType<DuckDBInstance["connect"]>>,
): Promise<{ parquetBytes: number }> {
  const out = `${w.dir}/duckdb.parquet`;
  await connection.run(
    `COPY (SELECT * FROM read_json('${w.ndjsonPath}')) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`,
  );
  return { parquetBytes: (await Deno.stat(out)).size };
}

function peakRssBytes(): number | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetPeakRss(): void {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  } catch {
    // Not Linux, or not permitted: the peak then covers the whole process lifetime.
  }
}

/** CPU time (user + system) of the whole process so far, in milliseconds. */
function cpuMs(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${(bytes / 1048576).toFixed(0)} MiB`;
}

async function report(runs: number, minRows: number): Promise<void> {
  const w = prepareWorkload(minRows);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run("SET threads=1");
    const ours: number[] = [];
    const duck: number[] = [];
    const oursCpu: number[] = [];
    const duckCpu: number[] = [];
    let oursBytes = 0;
    let duckBytes = 0;
    const baseRss = Deno.memoryUsage().rss;
    resetPeakRss();
    let oursPeak: number | undefined;
    // Warm-up (JIT, wasm, DuckDB caches), not measured.
    runOurs(w);
    await runDuckDb(w, connection);
    for (let i = 0; i < runs; i++) {
      resetPeakRss();
      let t = performance.now();
      let cpu = cpuMs();
      oursBytes = runOurs(w).parquetBytes;
      ours.push(performance.now() - t);
      oursCpu.push(cpuMs() - cpu);
      oursPeak = Math.max(oursPeak ?? 0, peakRssBytes() ?? 0);
      t = performance.now();
      cpu = cpuMs();
      duckBytes = (await runDuckDb(w, connection)).parquetBytes;
      duck.push(performance.now() - t);
      duckCpu.push(cpuMs() - cpu);
    }
    const oursRate = w.events / median(ours) * 1000;
    const duckRate = w.events / median(duck) * 1000;
    const lines = [
      `events: ${w.events} (NDJSON ${(w.ndjsonBytes / w.events).toFixed(0)} B/event), ` +
      `${w.responses.length} REST responses of ${RECORDS_PER_RESPONSE} records, ${runs} runs`,
      `ours   (REST JSON → Arrow → Parquet zstd): median ${median(ours).toFixed(0)} ms, ` +
      `${oursRate.toFixed(0)} events/s, ${(oursBytes / w.events).toFixed(2)} B/event ` +
      `(runs: ${ours.map((x) => x.toFixed(0)).join(", ")} ms)`,
      `duckdb (NDJSON → Parquet zstd, 1 thread): median ${median(duck).toFixed(0)} ms, ` +
      `${duckRate.toFixed(0)} events/s, ${(duckBytes / w.events).toFixed(2)} B/event ` +
      `(runs: ${duck.map((x) => x.toFixed(0)).join(", ")} ms)`,
      `process CPU time (all threads, less sensitive to other load): ours median ` +
      `${median(oursCpu).toFixed(0)} ms, duckdb median ${median(duckCpu).toFixed(0)} ms, ` +
      `ratio ${(median(duckCpu) / median(oursCpu)).toFixed(2)}x`,
      `ratio events/s ours/duckdb: ${(oursRate / duckRate).toFixed(2)}x; ` +
      `bytes/event ours/duckdb: ${(oursBytes / duckBytes).toFixed(2)}`,
      `RSS: ${mib(baseRss)} with inputs loaded; peak during our encode ${mib(oursPeak)} ` +
      `(process-wide high-water mark, reset before each run)`,
    ];
    // deno-lint-ignore no-console
    console.log(lines.join("\n"));
  } finally {
    connection.closeSync();
    instance.closeSync();
    await Deno.remove(w.dir, { recursive: true });
  }
}

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (import.meta.main) {
  await report(flag("runs", 5), flag("rows", 100000));
} else {
  const w = prepareWorkload(100000);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run("SET threads=1");
  globalThis.addEventListener("unload", () => {
    connection.closeSync();
    instance.closeSync();
    Deno.removeSync(w.dir, { recursive: true });
  });
  let printed = false;
  Deno.bench({
    name: `duckdb NDJSON → Parquet zstd, 1 thread (${w.events} events)`,
    group: "consumer",
    baseline: true,
    n: 5,
    warmup: 1,
    async fn() {
      await runDuckDb(w, connection);
    },
  });
  Deno.bench({
    name: `ours REST JSON → Arrow → Parquet zstd (${w.events} events)`,
    group: "consumer",
    n: 5,
    warmup: 1,
    fn() {
      const { parquetBytes } = runOurs(w);
      if (!printed) {
        printed = true;
        // deno-lint-ignore no-console
        console.log(`ours: ${(parquetBytes / w.events).toFixed(2)} Parquet B/event`);
      }
    },
  });
}
