/**
 * {@linkcode startReplayServer}: a local stand-in for stream.wikimedia.org that
 * serves recorded recentchange events framed as EventStreams frames them
 * (`docs/eventstreams.md` §3): a `:ok` comment, then per event `event: message`,
 * `id: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":<meta.dt + 1>},
 * {"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]`,
 * `data: <the event line, byte for byte>` and a blank line.
 *
 * Positions follow the real service (§2): `Last-Event-ID` is a JSON array of
 * `{topic, partition, offset | timestamp}` (offset wins; `offset: -1` means the
 * live end), `?since=` is epoch ms or a date-time, both resolved to the first
 * event at or after the target (Kafka offset-for-time); an unparsable position
 * is 400 and a foreign topic 404; with no position the stream starts at the live
 * end. Every event is on the `eqiad` topic; the `codfw` entry keeps its start
 * assignment.
 *
 * The replay is a live stream in miniature: with `rate` > 0, event `i` is
 * "published" `i / rate` seconds after the server starts; a client behind the
 * live end is served as fast as it reads (history), then at the rate. With rate
 * 0 every event counts as published at once. After the last event the
 * connection stays open and silent (`atEnd: "hold"`, as the real stream does
 * when nothing happens), or closes; with `loop` it never ends (see
 * `replay_sequence.ts` for what changes per round).
 *
 * Fault injection for tests: cutting connections mid-event (every N events per
 * connection or at random, seeded), answering scripted statuses, and serving
 * raw body lines instead of framed events.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import { ReplaySequence } from "./replay_sequence.ts";
import { seededRandom } from "./seeded_random.ts";

/** The topic that carries the replayed events. */
export const PRIMARY_TOPIC = "eqiad.mediawiki.recentchange";
/** The idle datacentre topic (it never delivers an event here). */
export const SECONDARY_TOPIC = "codfw.mediawiki.recentchange";
/** The path of the stream, as on stream.wikimedia.org. */
export const REPLAY_STREAM_PATH = "/v2/stream/recentchange";

/** What the server saw for one connection. */
export interface ReplayConnectionRecord {
  /** The `Last-Event-ID` header, or null. */
  lastEventId: string | null;
  /** The `since` query parameter, or null. */
  since: string | null;
  /** The `User-Agent` header, or null. */
  userAgent: string | null;
  /** HTTP status answered. */
  status: number;
  /** Position of the first event served (-1 when the request was refused). */
  startIndex: number;
}

/** Options for {@linkcode startReplayServer}. */
export interface ReplayServerOptions {
  /** Event texts to replay (one JSON event each). @default [] */
  events?: readonly string[];
  /** Events published per second; 0 publishes them all at once. @default 0 */
  rate?: number;
  /** Repeat the events without end. @default false */
  loop?: boolean;
  /** After the last event: keep the connection open silently, or close it. @default "hold" */
  atEnd?: "hold" | "close";
  /** Events per written chunk (at most). @default 32 */
  eventsPerChunk?: number;
  /** Host to bind. @default "127.0.0.1" */
  hostname?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Clock for the rate. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Fault: raw body lines served verbatim (joined with `\n`) instead of framed events. */
  rawLines?: readonly string[];
  /** Fault: cut the connection in the middle of an event after this many events per connection. */
  cutEvery?: number;
  /**
   * Fault: how a cut ends the connection after the half frame was sent: a clean end of
   * body, or an aborted body (like a stream reset). @default "close"
   */
  cutMode?: "close" | "reset";
  /** Fault: probability of cutting before each event (seeded). @default 0 */
  cutProbability?: number;
  /** Seed for random cuts. @default 1 */
  seed?: number;
  /** Fault: statuses answered to the first connections, in order (200 streams). @default [] */
  statuses?: readonly number[];
}

/** A running replay server. */
export interface RunningReplayServer {
  /** The stream URL (`http://HOST:PORT/v2/stream/recentchange`). */
  url: URL;
  /** One record per connection, in order. */
  connections: ReplayConnectionRecord[];
  /** Events per round (the files' event count). */
  readonly size: number;
  /** Events served so far, over all connections (replays included). */
  readonly eventsServed: number;
  /** Connections cut mid-event so far. */
  readonly cuts: number;
  /** Stops listening and ends open streams. */
  close(): Promise<void>;
  /** Same as close. */
  [Symbol.asyncDispose](): Promise<void>;
}

function jsonError(status: number, detail: string): Response {
  return new Response(JSON.stringify({ status, title: `HTTP ${status}`, detail }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

type Start = { index: number; secondary: string } | Response;

function resolveStart(
  sequence: ReplaySequence,
  live: number,
  lastEventId: string | null,
  since: string | null,
): Start {
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
      if (offset !== undefined) {
        index = offset < 0 ? live : sequence.firstAtOrAfterOffset(offset);
      } else index = sequence.firstAtOrAfterTime(ts!);
    }
  }
  if (index === undefined && since !== null) {
    const t = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
    if (!Number.isFinite(t)) return jsonError(400, `Invalid since timestamp: ${since}`);
    index = sequence.firstAtOrAfterTime(t);
  }
  // A position past the live end starts at the live end (nothing later exists yet).
  return { index: Math.min(index ?? live, live), secondary };
}

/**
 * Starts the replay server.
 *
 * @param options what to serve, how fast, where, and which faults to inject
 * @returns the running server
 * @throws {Deno.errors.AddrInUse} when the port is taken
 * @throws {RangeError} for a negative or non-finite rate
 * @example Serve two events to a test
 * ```ts ignore
 * await using server = await startReplayServer({ events: [line1, line2] });
 * const res = await fetch(new URL("?since=0", server.url));
 * ```
 */
export function startReplayServer(
  options: ReplayServerOptions = {},
): Promise<RunningReplayServer> {
  try {
    return Promise.resolve(serveReplay(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function serveReplay(options: ReplayServerOptions): RunningReplayServer {
  const rate = options.rate ?? 0;
  if (!Number.isFinite(rate) || rate < 0) {
    throw new RangeError(
      `Cannot start the replay server as 'rate' must be 0 or a positive number: current value is ${rate}`,
    );
  }
  const sequence = new ReplaySequence(options.events ?? [], { loop: options.loop ?? false });
  const clock = options.clock ?? SYSTEM_CLOCK;
  const random = seededRandom(options.seed ?? 1);
  const statuses = [...(options.statuses ?? [])];
  const perChunk = options.eventsPerChunk ?? 32;
  const connections: ReplayConnectionRecord[] = [];
  const closing = new AbortController();
  const encoder = new TextEncoder();
  const startedAt = clock.now();
  let eventsServed = 0;
  let cuts = 0;

  /** Events published by now (the live end); Infinity when all are and the sequence loops. */
  const published = () =>
    rate > 0
      ? Math.min(sequence.length, Math.floor(((clock.now() - startedAt) * rate) / 1000))
      : sequence.length;
  /** Where a client without a position starts. */
  const liveEnd = () => {
    const p = published();
    return Number.isFinite(p) ? p : sequence.size;
  };
  /** Waits until event `index` is published, or the signal aborts; false when aborted. */
  const waitForPublication = async (index: number, signal: AbortSignal) => {
    const due = startedAt + Math.ceil(((index + 1) * 1000) / rate);
    try {
      await clock.sleep(Math.max(1, due - clock.now()), signal);
      return true;
    } catch {
      return false;
    }
  };
  const hold = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });

  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    const record: ReplayConnectionRecord = {
      lastEventId: request.headers.get("last-event-id"),
      since: url.searchParams.get("since"),
      userAgent: request.headers.get("user-agent"),
      status: 200,
      startIndex: -1,
    };
    connections.push(record);
    if (!/^\/v2\/stream\/(mediawiki\.)?recentchange$/.test(url.pathname)) {
      record.status = 400;
      return jsonError(
        400,
        `Unknown stream in ${url.pathname}: this replay serves ${REPLAY_STREAM_PATH}`,
      );
    }
    const scripted = statuses.shift();
    if (scripted !== undefined && scripted !== 200) {
      record.status = scripted;
      return jsonError(scripted, `Scripted status ${scripted}`);
    }
    const start = resolveStart(sequence, liveEnd(), record.lastEventId, record.since);
    if (start instanceof Response) {
      record.status = start.status;
      return start;
    }
    record.startIndex = start.index;
    const ended = new AbortController();
    const stop = AbortSignal.any([closing.signal, ended.signal]);
    let next = start.index;
    let sentOnConnection = 0;
    let opened = false;
    let rawSent = false;
    let cutSent = false;
    const body = new ReadableStream<Uint8Array>({
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
        } else if (next < sequence.length) {
          let available = published();
          if (next >= available) {
            if (!await waitForPublication(next, stop)) {
              controller.close();
              return;
            }
            available = published();
          }
          let text = "";
          for (let n = 0; n < perChunk && next < available; n++) {
            const event = sequence.at(next);
            const frame = `event: message\nid: [{"topic":"${PRIMARY_TOPIC}","partition":0,` +
              `"timestamp":${event.timeMs + 1}},${start.secondary}]\ndata: ${event.data}\n\n`;
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
          if (text !== "") controller.enqueue(encoder.encode(text));
          return;
        }
        if ((options.atEnd ?? "hold") === "hold") await hold(stop);
        controller.close();
      },
      cancel: () => ended.abort(),
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  };

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    signal: closing.signal,
    onListen: () => {},
  }, handler);
  const addr = server.addr as Deno.NetAddr;
  // A wildcard bind is reachable on the loopback address; print that one.
  const host = addr.hostname === "0.0.0.0" || addr.hostname === "::"
    ? "127.0.0.1"
    : addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const close = async () => {
    closing.abort();
    await server.finished;
  };
  return {
    url: new URL(`http://${host}:${addr.port}${REPLAY_STREAM_PATH}`),
    connections,
    size: sequence.size,
    get eventsServed() {
      return eventsServed;
    },
    get cuts() {
      return cuts;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
