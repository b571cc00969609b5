/**
 * A stand-in for stream.wikimedia.org that replays recorded recentchange events
 * (`../shared/data/recentchange/*.ndjson`) framed as the real service frames them:
 * `:ok` comment, then per event `event: message`, `id: [{eqiad…timestamp: meta.dt + 1},
 * {codfw…offset: -1}]`, `data: <line>`, blank line. It honours `Last-Event-ID` and
 * `?since=` (first event whose time ≥ T in file order, like Kafka offset-for-time),
 * can cut connections mid-event (every N events or randomly, seeded), can answer
 * error statuses, and can serve raw lines for bad-input tests.
 *
 * Also a CLI for end-to-end tests:
 * `deno run -A tests/_helpers/sse_server.ts --file a.ndjson --port 0 --cut-every 300`
 * prints the stream URL on stdout and runs until SIGINT/SIGTERM.
 *
 * @module
 */
import { parseCliFlags, seededRandom } from "./test_utils.ts";

/** Where the shared recordings live. */
export const RECORDINGS_DIR: URL = new URL("../../../shared/data/recentchange/", import.meta.url);

/** The topic that holds the replayed events. */
export const PRIMARY_TOPIC = "eqiad.mediawiki.recentchange";
/** The idle datacentre topic (always empty here). */
export const SECONDARY_TOPIC = "codfw.mediawiki.recentchange";

/**
 * Reads the first lines of a recording.
 *
 * @param name file name in the recordings folder (or a path/URL)
 * @param limit how many lines to keep
 * @returns the event texts
 */
export async function readRecordedLines(name: string | URL, limit?: number): Promise<string[]> {
  const url = typeof name === "string" && !name.includes("/")
    ? new URL(name, RECORDINGS_DIR)
    : name;
  const text = await Deno.readTextFile(url);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return limit === undefined ? lines : lines.slice(0, limit);
}

/** What the server saw for one connection. */
export interface SseConnectionRecord {
  /** The `Last-Event-ID` header, or null. */
  lastEventId: string | null;
  /** The `since` query parameter, or null. */
  since: string | null;
  /** The `User-Agent` header, or null. */
  userAgent: string | null;
  /** HTTP status answered. */
  status: number;
  /** Index of the first event served (events.length = latest). */
  startIndex: number;
}

/** Options for {@linkcode startSseServer}. */
export interface SseServerOptions {
  /** Event texts to replay (one JSON event each). */
  events?: readonly string[];
  /** Raw body lines served verbatim (joined with `\n`) instead of framed events. */
  rawLines?: readonly string[];
  /** Cut the connection in the middle of an event after this many events per connection. */
  cutEvery?: number;
  /**
   * How a cut ends the connection after the half frame was sent: a clean end of body, or an
   * aborted body (like a stream reset). @default "close"
   */
  cutMode?: "close" | "reset";
  /** Probability of cutting before each event (seeded). @default 0 */
  cutProbability?: number;
  /** Seed for random cuts. @default 1 */
  seed?: number;
  /** Statuses answered to the first connections, in order (200 streams). @default [] */
  statuses?: readonly number[];
  /** After the last event: keep the connection open silently, or close it. @default "hold" */
  atEnd?: "hold" | "close";
  /** Events per written chunk. @default 32 */
  eventsPerChunk?: number;
  /**
   * Replay at about this rate, one chunk at a time, like the live service (a connection then
   * stays open and delivering for `events.length / eventsPerSecond` s). @default as fast as read
   */
  eventsPerSecond?: number;
  /** Host to bind. @default "127.0.0.1" */
  hostname?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
}

/** A running test SSE server. */
export interface RunningSseServer {
  /** The stream URL (`…/v2/stream/recentchange`). */
  url: URL;
  /** One record per connection, in order. */
  connections: SseConnectionRecord[];
  /** Events served so far (including replays). */
  readonly eventsServed: number;
  /** Connections cut mid-event so far. */
  readonly cuts: number;
  /** Stops the server and ends open streams. */
  close(): Promise<void>;
  /** Same as close. */
  [Symbol.asyncDispose](): Promise<void>;
}

function eventTime(line: string): number {
  try {
    const dt = (JSON.parse(line) as { meta?: { dt?: unknown } })?.meta?.dt;
    const t = typeof dt === "string" ? Date.parse(dt) : NaN;
    return Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

function jsonError(status: number, detail: string): Response {
  return new Response(JSON.stringify({ status, title: `HTTP ${status}`, detail }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

type Start = { index: number; secondary: string } | Response;

function resolveStart(
  times: readonly number[],
  lastEventId: string | null,
  since: string | null,
): Start {
  const firstAtOrAfter = (t: number) => {
    for (let i = 0; i < times.length; i++) if (times[i]! >= t) return i;
    return times.length;
  };
  let index: number | undefined;
  let secondary = `{"topic":"${SECONDARY_TOPIC}","partition":0,"offset":-1}`;
  if (lastEventId !== null) {
    let entries: unknown;
    try {
      entries = JSON.parse(lastEventId);
    } catch {
      return jsonError(400, "Failed parsing Last-Event-ID header");
    }
    if (!Array.isArray(entries)) return jsonError(400, "Last-Event-ID must be an array");
    for (const e of entries as Record<string, unknown>[]) {
      if (typeof e?.topic !== "string" || !Number.isInteger(e.partition)) {
        return jsonError(400, "Invalid Last-Event-ID assignment");
      }
      if (e.topic !== PRIMARY_TOPIC && e.topic !== SECONDARY_TOPIC) {
        return jsonError(404, `Topic ${e.topic} is not in this stream`);
      }
      const offset = Number.isInteger(e.offset) ? e.offset as number : undefined;
      const ts = Number.isFinite(e.timestamp) ? e.timestamp as number : undefined;
      if (offset === undefined && ts === undefined) {
        return jsonError(400, "Assignment needs an offset or a timestamp");
      }
      if (e.topic === SECONDARY_TOPIC) {
        secondary = JSON.stringify(
          offset !== undefined
            ? { topic: SECONDARY_TOPIC, partition: 0, offset }
            : { topic: SECONDARY_TOPIC, partition: 0, timestamp: ts },
        );
        continue;
      }
      if (offset !== undefined) index = offset < 0 ? times.length : Math.min(offset, times.length);
      else index = firstAtOrAfter(ts!);
    }
  }
  if (index === undefined && since !== null) {
    const t = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
    if (!Number.isFinite(t)) return jsonError(400, `Invalid since timestamp: ${since}`);
    index = firstAtOrAfter(t);
  }
  return { index: index ?? times.length, secondary };
}

/**
 * Starts the test SSE server on 127.0.0.1.
 *
 * @param options what to serve and which faults to inject
 * @returns the running server
 */
export function startSseServer(options: SseServerOptions): Promise<RunningSseServer> {
  const events = options.events ?? [];
  const times = events.map(eventTime);
  const random = seededRandom(options.seed ?? 1);
  const statuses = [...(options.statuses ?? [])];
  const perChunk = options.eventsPerChunk ?? 32;
  const chunkIntervalMs = options.eventsPerSecond === undefined
    ? 0
    : perChunk * 1000 / options.eventsPerSecond;
  const connections: SseConnectionRecord[] = [];
  const closing = new AbortController();
  const encoder = new TextEncoder();
  let eventsServed = 0;
  let cuts = 0;

  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    const record: SseConnectionRecord = {
      lastEventId: request.headers.get("last-event-id"),
      since: url.searchParams.get("since"),
      userAgent: request.headers.get("user-agent"),
      status: 200,
      startIndex: -1,
    };
    connections.push(record);
    if (!/\/v2\/stream\/(mediawiki\.)?recentchange$/.test(url.pathname)) {
      record.status = 400;
      return jsonError(400, `Unknown stream in ${url.pathname}`);
    }
    const scripted = statuses.shift();
    if (scripted !== undefined && scripted !== 200) {
      record.status = scripted;
      return jsonError(scripted, `Scripted status ${scripted}`);
    }
    const start = resolveStart(times, record.lastEventId, record.since);
    if (start instanceof Response) {
      record.status = start.status;
      return start;
    }
    record.startIndex = start.index;
    let next = start.index;
    let sentOnConnection = 0;
    let opened = false;
    let rawSent = false;
    let cutSent = false;
    const hold = () =>
      new Promise<void>((resolve) => {
        if (closing.signal.aborted) resolve();
        else closing.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    // Ends the pacing wait early when the server closes or the client goes away.
    const gone = new AbortController();
    const ended = AbortSignal.any([closing.signal, gone.signal]);
    const pace = () =>
      new Promise<void>((resolve) => {
        if (ended.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          ended.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, chunkIntervalMs);
        ended.addEventListener("abort", done, { once: true });
      });
    const body = new ReadableStream<Uint8Array>({
      cancel: () => gone.abort(),
      pull: async (controller) => {
        if (!opened) {
          opened = true;
          controller.enqueue(encoder.encode(":ok\n\n"));
          return;
        }
        if (cutSent) {
          // End only now: the half frame enqueued by the previous pull has been written.
          if (options.cutMode === "reset") controller.error(new Error("connection cut (test)"));
          else controller.close();
          return;
        }
        if (options.rawLines !== undefined) {
          if (!rawSent) {
            rawSent = true;
            controller.enqueue(encoder.encode(options.rawLines.join("\n") + "\n"));
            return;
          }
        } else if (next < events.length) {
          if (chunkIntervalMs > 0 && sentOnConnection > 0) {
            await pace();
            if (gone.signal.aborted) return; // cancelled: nothing more to write
            if (closing.signal.aborted) {
              controller.close();
              return;
            }
          }
          let text = "";
          for (let n = 0; n < perChunk && next < events.length; n++) {
            const frame = `event: message\nid: [{"topic":"${PRIMARY_TOPIC}","partition":0,` +
              `"timestamp":${times[next]! + 1}},${start.secondary}]\ndata: ${events[next]}\n\n`;
            const cut = (options.cutEvery !== undefined && sentOnConnection >= options.cutEvery) ||
              (options.cutProbability !== undefined && random() < options.cutProbability);
            if (cut) {
              // Send half a frame and end the body on the next pull: the client receives an
              // unterminated event, which it must discard.
              controller.enqueue(encoder.encode(text + frame.slice(0, frame.length >> 1)));
              cutSent = true;
              cuts++;
              return;
            }
            text += frame;
            next++;
            sentOnConnection++;
            eventsServed++;
          }
          controller.enqueue(encoder.encode(text));
          return;
        }
        if ((options.atEnd ?? "hold") === "hold") await hold();
        controller.close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      signal: closing.signal,
      onListen: () => {},
    }, handler);
    const addr = server.addr as Deno.NetAddr;
    const close = async () => {
      closing.abort();
      await server.finished;
    };
    resolve({
      url: new URL(`http://${addr.hostname}:${addr.port}/v2/stream/recentchange`),
      connections,
      get eventsServed() {
        return eventsServed;
      },
      get cuts() {
        return cuts;
      },
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

async function main(): Promise<void> {
  const cli = parseCliFlags(Deno.args);
  if (!cli.file) {
    // deno-lint-ignore no-console
    console.error(
      "usage: sse_server.ts --file <name.ndjson|path> [--limit N] [--port 0] [--cut-every N] " +
        "[--cut-mode close|reset] [--cut-probability P] [--seed S] [--status 429,500] [--at-end hold|close]",
    );
    Deno.exitCode = 2;
    return;
  }
  const options: SseServerOptions = {
    events: await readRecordedLines(cli.file, cli.limit ? Number(cli.limit) : undefined),
    port: Number(cli.port ?? 0),
    atEnd: cli["at-end"] === "close" ? "close" : "hold",
  };
  if (cli["cut-every"]) options.cutEvery = Number(cli["cut-every"]);
  if (cli["cut-mode"] === "reset") options.cutMode = "reset";
  if (cli["cut-probability"]) options.cutProbability = Number(cli["cut-probability"]);
  if (cli.seed) options.seed = Number(cli.seed);
  if (cli.status) options.statuses = cli.status.split(",").map(Number);
  if (cli.hostname) options.hostname = cli.hostname;
  const server = await startSseServer(options);
  // deno-lint-ignore no-console
  console.log(server.url.href);
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = () => void server.close().then(resolve);
  });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
