/**
 * `deno task soak [--seconds 180]`: a bounded soak of `deno task start`. The shipped sample
 * is replayed (`deno task replay`, paced so that it lasts about `--seconds`) into a
 * `start` run with its task's flags, while a load generator mixes, on 127.0.0.1 only and
 * bounded in count and time, normal produce and consume traffic on another topic with
 * idle connections, slow bodies, oversized chunked bodies, a topic flood and malformed
 * requests against the embedded broker. Prints requests served and errors by kind, peak
 * RSS and open descriptors of the program, and checks the lake with `deno task verify` and
 * DuckDB against the replayed events (each exactly once). Exits 1 when the lake is wrong or
 * the program died.
 *
 * @module
 */
import { readReplayEvents } from "../lib/replay/replay_events.ts";
import { queryParquet } from "../tests/_helpers/duckdb.ts";
import { programArgs } from "../tests/_helpers/program_command.ts";
import { spawnReplayTask } from "../tests/_helpers/replay_task.ts";

const ROOT = new URL("../", import.meta.url);
const SAMPLE = "samples/recentchange-sample.ndjson.gz";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const SECONDS = flag("seconds", 180);
/** Bounds of the load generator. */
const LOAD = {
  idleConnections: flag("idle", 400),
  slowBodies: 20,
  chunkedBodies: 4,
  chunkedBodyBytes: 300 * 1024 * 1024,
  floodTopics: flag("flood", 2000),
  malformed: 300,
};

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The deepest descendant of `pid` (the launcher starts the program as its child). */
async function programPid(pid: number): Promise<number> {
  try {
    const children = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
    return children === "" ? pid : await programPid(Number(children.split(/\s+/)[0]));
  } catch {
    return pid;
  }
}

async function usage(pid: number): Promise<{ rssMiB: number; fds: number }> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    let fds = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
    return { rssMiB: Math.round(rss), fds };
  } catch {
    return { rssMiB: 0, fds: 0 };
  }
}

/** Counts outcomes by kind: an HTTP status, or the error's name. */
class Tally {
  readonly counts = new Map<string, number>();
  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
  text(): string {
    return [...this.counts].sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none";
  }
}

async function request(tally: Tally, url: URL, init: RequestInit): Promise<void> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    await res.body?.cancel();
    tally.add(`HTTP ${res.status}`);
  } catch (error) {
    tally.add(error instanceof Error ? error.name : "error");
  }
}

const V2_JSON = "application/vnd.kafka.json.v2+json";

/** Normal traffic on another topic: produce batches and read them back in another group. */
async function normalTraffic(base: URL, until: number, tally: Tally): Promise<void> {
  const group = new URL("consumers/soak-readers", base);
  await request(tally, group, {
    method: "POST",
    headers: { "content-type": "application/vnd.kafka.v2+json" },
    body: JSON.stringify({ name: "r", format: "json", "auto.offset.reset": "earliest" }),
  });
  const instance = new URL("consumers/soak-readers/instances/r/", base);
  await request(tally, new URL("subscription", instance), {
    method: "POST",
    headers: { "content-type": "application/vnd.kafka.v2+json" },
    body: JSON.stringify({ topics: ["soak-other"] }),
  });
  for (let i = 0; Date.now() < until; i++) {
    const records = Array.from({ length: 50 }, (_, j) => ({ value: { n: i * 50 + j } }));
    await request(tally, new URL("topics/soak-other", base), {
      method: "POST",
      headers: { "content-type": V2_JSON },
      body: JSON.stringify({ records }),
    });
    await request(tally, new URL("records?timeout=200", instance), {
      headers: { accept: V2_JSON },
    });
    await new Promise((r) => setTimeout(r, 200));
  }
  await request(tally, instance, { method: "DELETE" });
}

/** Connections that never send a byte, held until the end. */
async function idleConnections(port: number, n: number, tally: Tally): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) {
    try {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      tally.add("opened");
    } catch (error) {
      tally.add(error instanceof Error ? error.name : "error");
    }
  }
  return conns;
}

/** Bodies that announce 1 MB and send a byte a second. */
async function slowBody(port: number, until: number, tally: Tally): Promise<void> {
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const head = `POST /topics/soak-slow HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
      `content-type: ${V2_JSON}\r\ncontent-length: 1000000\r\n\r\n{"records":[`;
    await conn.write(new TextEncoder().encode(head));
    while (Date.now() < until) {
      await conn.write(new TextEncoder().encode(" "));
      await new Promise((r) => setTimeout(r, 1000));
    }
    tally.add("held to the end");
  } catch (error) {
    tally.add(`closed by the broker (${error instanceof Error ? error.name : "error"})`);
  } finally {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

/** A chunked body far above the body cap. */
function chunkedBody(base: URL, bytes: number, tally: Tally): Promise<void> {
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return request(tally, new URL("topics/soak-chunked", base), {
    method: "POST",
    headers: { "content-type": V2_JSON },
    body,
  });
}

async function topicFlood(base: URL, n: number, tally: Tally): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    await Promise.all(
      Array.from(
        { length: Math.min(20, n - i) },
        (_, j) =>
          request(tally, new URL(`topics/flood-${i + j}`, base), {
            method: "POST",
            headers: { "content-type": V2_JSON },
            body: JSON.stringify({ records: [{ value: 1 }] }),
          }),
      ),
    );
  }
}

async function malformed(base: URL, port: number, n: number, tally: Tally): Promise<void> {
  const bodies = ["{", "[]", '{"records":5}', "\u0000\u0001", '{"records":[{"value":}]}'];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9) {
      // raw garbage on a socket
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(new TextEncoder().encode("GARBAGE \u00ff\u00fe\r\n\r\n"));
        conn.close();
        tally.add("garbage sent");
      } catch (error) {
        tally.add(error instanceof Error ? error.name : "error");
      }
      continue;
    }
    await request(tally, new URL(i % 3 === 0 ? "topics/%00bad" : "topics/soak-bad", base), {
      method: "POST",
      headers: { "content-type": i % 2 ? V2_JSON : "text/plain" },
      body: bodies[i % bodies.length],
    });
  }
}

const dir = await Deno.makeTempDir({ prefix: "wikistream-soak-" });
const sample = await readReplayEvents([new URL(SAMPLE, ROOT).pathname]);
const rate = Math.max(1, Math.ceil(sample.length / SECONDS));
const replay = await spawnReplayTask(["--port", "0", "--rate", String(rate), SAMPLE]);
const brokerPort = freePort();
const base = new URL(`http://127.0.0.1:${brokerPort}/`);
let exitCode = 0;
try {
  const start = new Deno.Command(Deno.execPath(), {
    args: programArgs("start", [
      "--stream-url",
      replay.url.href,
      "--since",
      "2026-05-05T00:00:00Z",
      "--max-events",
      String(sample.length),
      `--broker-port=${brokerPort}`,
      `--broker-data-dir=${dir}/broker`,
      `--state-dir=${dir}/producer`,
      `--output-url=${dir}/lake`,
      "--progress-interval-ms=0",
      "--flush-interval-ms=5000",
      "--log-format=json",
      "--log-level=warn",
    ]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(start.stderr).text();
  // wait for the broker to answer
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(new URL("topics", base));
      await res.body?.cancel();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const pid = await programPid(start.pid);
  let peak = { rssMiB: 0, fds: 0 };
  let running = true;
  const sampler = (async () => {
    while (running) {
      const u = await usage(pid);
      peak = { rssMiB: Math.max(peak.rssMiB, u.rssMiB), fds: Math.max(peak.fds, u.fds) };
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const until = Date.now() + SECONDS * 1000;
  const tallies = {
    normal: new Tally(),
    idle: new Tally(),
    slow: new Tally(),
    chunked: new Tally(),
    flood: new Tally(),
    malformed: new Tally(),
  };
  const idle = await idleConnections(brokerPort, LOAD.idleConnections, tallies.idle);
  const load = Promise.all([
    normalTraffic(base, until, tallies.normal),
    ...Array.from({ length: LOAD.slowBodies }, () => slowBody(brokerPort, until, tallies.slow)),
    (async () => {
      for (let i = 0; i < LOAD.chunkedBodies; i++) {
        await chunkedBody(base, LOAD.chunkedBodyBytes, tallies.chunked);
      }
    })(),
    topicFlood(base, LOAD.floodTopics, tallies.flood),
    malformed(base, brokerPort, LOAD.malformed, tallies.malformed),
  ]);
  const status = await start.status;
  running = false;
  await sampler;
  for (const c of idle) {
    try {
      c.close();
    } catch {
      // closed by the broker
    }
  }
  await load.catch(() => {});
  const log = await stderr;
  const verify = await new Deno.Command(Deno.execPath(), {
    args: programArgs("verify", ["--output-url", `${dir}/lake`]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const rows = await queryParquet(
    `${dir}/lake/**/*.parquet`,
    "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM data",
  );
  const ids = await queryParquet(`${dir}/lake/**/*.parquet`, "SELECT event_id FROM data");
  const expected = new Set(sample.map((l) => JSON.parse(l).meta.id as string));
  const inLake = new Set(ids.map((r) => String(r.event_id)));
  const missing = [...expected].filter((id) => !inLake.has(id)).length;
  const n = Number(rows[0]!.n);
  const distinct = Number(rows[0]!.ids);
  const report = [
    `soak: ${SECONDS} s, ${sample.length} sample events replayed at ${rate}/s into deno task start`,
    `start exit code ${status.code}; peak RSS ${peak.rssMiB} MiB; peak open descriptors ${peak.fds}`,
    ...Object.entries(tallies).map(([k, t]) => `load ${k}: ${t.text()}`),
    `lake: ${n} rows, ${distinct} distinct event_id, ${missing} sample events missing, ` +
    `${n - distinct} duplicated; verify exit ${verify.code}`,
  ];
  // deno-lint-ignore no-console
  console.log(report.join("\n"));
  if (status.code !== 0 || verify.code !== 0 || missing > 0 || n !== distinct) {
    exitCode = 1;
    // deno-lint-ignore no-console
    console.error(log.slice(-4000), new TextDecoder().decode(verify.stdout).slice(-2000));
  }
} finally {
  replay.child.kill("SIGTERM");
  await replay.child.status;
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(exitCode);
