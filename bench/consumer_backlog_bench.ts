/**
 * Catch-up benchmark of the consumer: a backlog of recorded events (repeated with
 * distinct `meta.id`s, each copy shifted by one hour) is put into a local broker
 * subprocess, then `consumer.ts --until-idle` drains it into a local lake in a
 * second subprocess. Prints events/s, the consumer's peak RSS (sampled from
 * /proc every 100 ms) and the lake's bytes per event. With `--consumers 1,2` the same
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

async function produceBacklog(url: URL, total: number): Promise<void> {
  const lines = (await recordedLines()).map((l) => JSON.parse(l));
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
      produced += records.length;
    }
  }
}

async function rssKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function lakeBytes(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".parquet")) {
        files++;
        bytes += (await Deno.stat(p)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

interface Drain {
  consumers: number;
  seconds: number;
  peaksMiB: number[];
  codes: number[];
  lake: { files: number; bytes: number };
}

/** Drains the whole backlog with `n` consumer processes in a new group into a new lake. */
async function drain(url: URL, dir: string, n: number, extra: string[]): Promise<Drain> {
  const lakeDir = `${dir}/lake-${n}`;
  const start = performance.now();
  const children = Array.from({ length: n }, (_, i) =>
    new Deno.Command(Deno.execPath(), {
      args: programArgs("consume", [
        `--kafka-rest-url=${url.href}`,
        `--output-url=${lakeDir}`,
        `--consumer-group=bench-${n}`,
        `--consumer-instance-id=bench-${n}-${i}`,
        "--until-idle=3000",
        "--progress-interval-ms=0",
        "--log-level=warn",
        ...extra,
      ]),
      stdout: "null",
      stderr: "inherit",
    }).spawn());
  const peaks = children.map(() => 0);
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (const [i, c] of children.entries()) peaks[i] = Math.max(peaks[i]!, await rssKiB(c.pid));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const statuses = await Promise.all(children.map((c) => c.status));
  done = true;
  await sampler;
  return {
    consumers: n,
    seconds: (performance.now() - start - 3000) / 1000, // minus the idle wait
    peaksMiB: peaks.map((k) => Math.round(k / 1024)),
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
  await produceBacklog(broker.url, total);
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
      } MiB; lake ${run.lake.files} files, ${run.lake.bytes} bytes, ${
        (run.lake.bytes / total).toFixed(1)
      } B/event`,
    );
  }
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
