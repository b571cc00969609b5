/**
 * Catch-up benchmark of the consumer: a backlog of recorded events (repeated with
 * distinct `meta.id`s, each copy shifted by one hour) is put into a local broker
 * subprocess, then `consumer.ts --until-idle` drains it into a local lake in a
 * second subprocess, run under `/usr/bin/time` (its CPU seconds and peak RSS). Prints events/s,
 * events per CPU-second, peak RSS, the lake's bytes per event and file-size distribution, and
 * the reference measured in the same run on the same events: DuckDB `read_json` → `COPY …
 * (FORMAT parquet, COMPRESSION zstd)` with 1 and with 2 threads, in its own process (process
 * start included, as the consumer's is). With `--consumers 1,2` the same
 * backlog is drained once by one consumer process and once by two processes in one
 * consumer group (a new group and lake per run), and the ratio of their events/s is printed.
 *
 * Run: `deno task bench:backlog [--events 500000] [--consumers 1,2] [-- extra consumer flags]`
 *
 * @module
 */
import { spawnBroker } from "../tests/_helpers/broker_process.ts";
import { RECORDING_FILES, RECORDINGS } from "../tests/_helpers/produce_events.ts";
import { programArgs } from "../tests/_helpers/program_command.ts";

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

function copyOf(event: Record<string, unknown>, copy: number): Record<string, unknown> {
  const meta = event.meta as Record<string, unknown>;
  const dt = Date.parse(String(meta.dt)) + copy * 3_600_000;
  return {
    ...event,
    meta: {
      ...meta,
      id: `${String(meta.id).slice(0, 28)}${String(copy).padStart(8, "0")}`,
      dt: new Date(dt).toISOString(),
    },
  };
}

/** Puts the backlog into the broker and writes the same values as NDJSON (DuckDB's input). */
async function produceBacklog(url: URL, total: number, ndjsonPath: string): Promise<void> {
  const lines = (await recordedLines()).map((l) => JSON.parse(l));
  const ndjson = await Deno.open(ndjsonPath, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let produced = 0;
  for (let copy = 0; produced < total; copy++) {
    for (let i = 0; i < lines.length && produced < total; i += 1000) {
      const slice = lines.slice(i, Math.min(i + 1000, i + total - produced));
      const records = slice.map((e) => {
        const value = copyOf(e, copy);
        return { key: (value.meta as { id: string }).id, value };
      });
      const res = await fetch(new URL("topics/wikimedia-changes", url), {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.json.v2+json" },
        body: JSON.stringify({ records }),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`produce failed: HTTP ${res.status}`);
      await ndjson.write(
        encoder.encode(records.map((r) => JSON.stringify(r.value)).join("\n") + "\n"),
      );
      produced += records.length;
    }
  }
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

const total = flag("events", 500_000);
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
  await produceBacklog(broker.url, total, ndjsonPath);
  const produceMs = performance.now() - t0;
  const lines = [
    `backlog: ${total} events put into the broker in ${(produceMs / 1000).toFixed(1)} s`,
    `consumer flags: ${extra.join(" ") || "(defaults)"}`,
  ];
  const runs: Drain[] = [];
  for (const n of counts) {
    const run = await drain(broker.url, dir, n, extra);
    runs.push(run);
    lines.push(
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
    lines.push(
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
  const one = runs[0]!;
  const duck1 = ducks[0]!;
  lines.push(
    `ratio (${one.consumers} consumer process vs duckdb 1 thread): events per CPU-second ${
      ((total / one.cpuSeconds) / (total / duck1.cpuSeconds)).toFixed(2)
    }×; wall events/s ${(duck1.wallSeconds / one.seconds).toFixed(2)}× (vs 2 threads ${
      (ducks[1]!.wallSeconds / one.seconds).toFixed(2)
    }×); bytes/event ${(one.lake.bytes / duck1.bytes).toFixed(2)}×`,
  );
  if (runs.length > 1) {
    const base = runs[0]!;
    for (const run of runs.slice(1)) {
      lines.push(
        `${run.consumers} vs ${base.consumers}: ${
          (base.seconds / run.seconds).toFixed(2)
        }× the events/s`,
      );
    }
  }
  // deno-lint-ignore no-console
  console.log(lines.join("\n"));
} finally {
  await broker.kill("SIGTERM");
  await Deno.remove(dir, { recursive: true });
}
