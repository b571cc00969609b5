/**
 * {@linkcode SseClient}: a reconnecting server-sent-events client on `fetch` and
 * web streams (no `EventSource`, which cannot send a `User-Agent`). It sends a
 * descriptive `User-Agent` and `Last-Event-ID`, reconnects forever on network
 * errors, end of body, `event: error` frames, 429 and 5xx with exponential
 * backoff and jitter (immediate after a healthy connection), drops connections
 * that stay silent longer than the idle timeout, and stops with an
 * {@linkcode SseHttpError} on configuration errors (400, 403, 404, ...).
 *
 * What the server asks for is bounded: a `retry:` field and the `Retry-After` of a 429
 * or 503 (seconds or an HTTP-date) are honoured (the client waits at least that long)
 * but clamped to 0.5 s – 5 min (`lib/cli/server_delay.ts`); every 429 is logged at warn
 * with the delay used; of an error body only the first 8 KiB are read (300 characters
 * kept), the rest is cancelled unread. URLs in messages and logs have their credentials
 * removed (`lib/cli/redact_url.ts`).
 *
 * Consumers depend on {@linkcode SseSource}; tests can pass any async iterable.
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { readErrorText } from "../cli/bounded_body.ts";
import { type Clock, sleepUnlessAborted, SYSTEM_CLOCK } from "../cli/delay.ts";
import { describeError, type Logger } from "../cli/log.ts";
import { redactUrl, redactUrlsInText } from "../cli/redact_url.ts";
import { clampServerDelay, parseRetryAfter } from "../cli/server_delay.ts";
import {
  type DataInspection,
  SseEventParser,
  type SseMessage,
  type SseParseStreamOptions,
} from "./sse_parse_stream.ts";

/** A source of `message` events that survives reconnects (EventSource-like). */
export interface SseSource<T extends DataInspection = DataInspection> {
  /**
   * Yields data events until the signal aborts.
   *
   * @param signal stops the stream
   * @returns the events
   * @throws {SseHttpError} when the server refuses the request for good
   */
  messages(signal: AbortSignal): AsyncIterable<SseMessage<T>>;
  /**
   * Yields the same events in groups (those completed by one network read), which
   * saves an async step per event in a hot loop. Optional: callers fall back to
   * {@linkcode SseSource.messages}.
   *
   * @param signal stops the stream
   * @returns non-empty groups of events, in order
   */
  batches?(signal: AbortSignal): AsyncIterable<readonly SseMessage<T>[]>;
}

/** The stream answered with a status that retrying cannot fix (400, 401, 403, 404, ...). */
export class SseHttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The URL requested, credentials removed. */
  readonly url: string;
  /** The start of the response body (at most 300 characters). */
  readonly body: string;

  /**
   * Creates a `SseHttpError`.
   *
   * @param message what failed
   * @param status HTTP status
   * @param url the URL requested (credentials removed)
   * @param body the start of the response body
   */
  constructor(message: string, status: number, url: string, body: string) {
    super(message);
    this.name = "SseHttpError";
    this.status = status;
    this.url = url;
    this.body = body;
  }
}

/** What {@linkcode SseClientOptions.onReconnect} receives. */
export interface ReconnectInfo {
  /** Why the previous connection ended or failed. */
  reason: string;
  /** How long the client waits before connecting again. */
  delayMs: number;
  /** Failed attempts since the last healthy connection. */
  failures: number;
}

/** Options for {@linkcode SseClient}. */
export interface SseClientOptions<T extends DataInspection = DataInspection> {
  /** The stream URL, including any query (`?since=`). */
  url: URL | string;
  /** The `User-Agent` header; Wikimedia refuses generic or missing ones. */
  userAgent: string;
  /** Called before every connection; the result is sent as `Last-Event-ID` (omitted when undefined or empty). */
  lastEventId?: () => string | undefined;
  /** Drop a connection that delivers no bytes for this long. @default 30000 */
  idleTimeoutMs?: number;
  /** First reconnect delay. @default 1000 */
  backoffInitialMs?: number;
  /** Largest reconnect delay. @default 60000 */
  backoffMaxMs?: number;
  /** A connection open this long that delivered events counts as healthy (backoff resets). @default 10000 */
  healthyAfterMs?: number;
  /** Called before each reconnect. */
  onReconnect?: (info: ReconnectInfo) => void;
  /** Logger. */
  log?: Logger;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Clock for delays and the watchdog. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Random source for jitter. @default Math.random */
  random?: () => number;
  /** Reads data lines in place (see `SseParseStreamOptions.inspectData`). */
  inspectData?: SseParseStreamOptions<T>["inspectData"];
  /**
   * What the warning suggests when the stream cannot be reached at all (DNS or
   * connect failure). @default "check the network, or set --stream-url"
   */
  unreachableHint?: string;
}

const DEFAULT_HINT = "check the network, or set --stream-url";

const NOOP_LOGGER: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => NOOP_LOGGER,
};

/** Says whether an HTTP status from the stream is a configuration error (no retry). */
export function isFatalStreamStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** How much of an error body's text {@linkcode SseHttpError.body} and the logs keep. */
const ERROR_BODY_KEPT_CHARS = 300;

interface RetriableStreamErrorOptions extends ErrorOptions {
  unreachable?: boolean;
  status?: number;
  retryAfterMs?: number;
}

class RetriableStreamError extends Error {
  /** True when no connection was made (DNS or connect failure). */
  readonly unreachable: boolean;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The clamped `Retry-After` of a 429 or 503, when it had a readable one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: RetriableStreamErrorOptions) {
    super(message, options);
    this.name = "RetriableStreamError";
    this.unreachable = options?.unreachable ?? false;
    this.status = options?.status;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A reconnecting SSE client. */
export class SseClient<T extends DataInspection = DataInspection> implements SseSource<T> {
  #url: URL;
  #shownUrl: string;
  #userAgent: string;
  #lastEventId: () => string | undefined;
  #idleMs: number;
  #healthyMs: number;
  #backoff: Backoff;
  #onReconnect: (info: ReconnectInfo) => void;
  #log: Logger;
  #fetch: typeof fetch;
  #clock: Clock;
  #parserOptions: SseParseStreamOptions<T>;
  #unreachableHint: string;

  /**
   * Creates a `SseClient`.
   *
   * @param options URL, headers, timeouts, backoff and injected I/O
   */
  constructor(options: SseClientOptions<T>) {
    this.#url = new URL(options.url);
    this.#shownUrl = redactUrl(this.#url);
    this.#userAgent = options.userAgent;
    this.#lastEventId = options.lastEventId ?? (() => undefined);
    this.#idleMs = options.idleTimeoutMs ?? 30_000;
    this.#healthyMs = options.healthyAfterMs ?? 10_000;
    const backoff: ConstructorParameters<typeof Backoff>[0] = {
      initialMs: options.backoffInitialMs ?? 1000,
      maxMs: options.backoffMaxMs ?? 60_000,
    };
    if (options.random) backoff.random = options.random;
    this.#backoff = new Backoff(backoff);
    this.#onReconnect = options.onReconnect ?? (() => {});
    this.#log = options.log ?? NOOP_LOGGER;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#parserOptions = options.inspectData ? { inspectData: options.inspectData } : {};
    this.#unreachableHint = options.unreachableHint ?? DEFAULT_HINT;
  }

  /** The stream URL. */
  get url(): URL {
    return this.#url;
  }

  /**
   * Yields `message` events across reconnects until the signal aborts.
   *
   * @param signal stops the stream
   * @returns the events
   * @throws {SseHttpError} on a configuration error (400, 403, 404, or not an event stream)
   */
  async *messages(signal: AbortSignal): AsyncGenerator<SseMessage<T>> {
    for await (const batch of this.batches(signal)) yield* batch;
  }

  /**
   * Yields `message` events across reconnects until the signal aborts, grouped by network read.
   *
   * @param signal stops the stream
   * @returns non-empty groups of events
   * @throws {SseHttpError} on a configuration error (400, 403, 404, or not an event stream)
   */
  async *batches(signal: AbortSignal): AsyncGenerator<SseMessage<T>[]> {
    let retryMs: number | undefined;
    let retryField: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      const started = this.#clock.now();
      let delivered = 0;
      let reason = "end of stream";
      let failed = false;
      let unreachable = false;
      let status: number | undefined;
      let retryAfterMs: number | undefined;
      try {
        read: for await (const group of this.#connect(signal)) {
          let out: SseMessage<T>[] = group;
          for (let i = 0; i < group.length; i++) {
            const message = group[i]!;
            if (message.retry !== undefined && message.retry !== retryField) {
              retryField = message.retry;
              retryMs = clampServerDelay(retryField);
              if (retryMs !== retryField) {
                this.#log.warn("the stream's retry: field is out of range: clamped", {
                  url: this.#shownUrl,
                  retry: retryField,
                  retryMs,
                });
              }
            }
            if (message.event === "message") {
              if (out !== group) out.push(message);
              continue;
            }
            // Not a data event: pass on what came before it, without it.
            if (out === group) out = group.slice(0, i);
            if (message.event === "error") {
              const data = message.data.slice(0, ERROR_BODY_KEPT_CHARS);
              reason = `event: error from the server: ${data}`;
              this.#log.warn("the stream sent an error event: reconnecting", {
                url: this.#shownUrl,
                data,
              });
              delivered += out.length;
              if (out.length > 0) yield out;
              break read;
            }
            this.#log.debug("ignoring event", { event: message.event });
          }
          delivered += out.length;
          if (out.length > 0) yield out;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof SseHttpError) throw error;
        reason = redactUrlsInText(describeError(error));
        failed = delivered === 0;
        if (error instanceof RetriableStreamError) {
          unreachable = error.unreachable;
          status = error.status;
          retryAfterMs = error.retryAfterMs;
        }
      }
      if (signal.aborted) return;
      const healthy = delivered > 0 && this.#clock.now() - started >= this.#healthyMs;
      let delayMs: number;
      if (healthy) {
        this.#backoff.reset();
        failures = 0;
        delayMs = retryMs ?? 0;
      } else {
        if (delivered > 0) failures = 0;
        failures++;
        // the server's delays are minimums: the backoff may wait longer, never shorter
        delayMs = Math.max(retryMs ?? 0, retryAfterMs ?? 0, this.#backoff.next());
      }
      if (status === 429) {
        this.#log.warn("the stream answered HTTP 429 (too many requests): waiting to reconnect", {
          url: this.#shownUrl,
          delayMs,
          retryAfterMs: retryAfterMs ?? null,
          failures,
        });
      } else if (failed && failures === 1) {
        this.#log.warn(
          `Cannot read the event stream at "${this.#shownUrl}": ${reason}; retrying with backoff (${
            unreachable ? this.#unreachableHint : DEFAULT_HINT
          })`,
        );
      } else if (failed) {
        this.#log.debug("still cannot read the event stream", { reason, failures, delayMs });
      } else {
        this.#log.info("stream connection ended: reconnecting", {
          reason,
          events: delivered,
          delayMs,
        });
      }
      this.#onReconnect({ reason, delayMs, failures });
      if (!await sleepUnlessAborted(this.#clock, delayMs, signal)) return;
    }
  }

  async *#connect(signal: AbortSignal): AsyncGenerator<SseMessage<T>[]> {
    const connection = new AbortController();
    const connectionSignal = AbortSignal.any([signal, connection.signal]);
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      "user-agent": this.#userAgent,
    };
    const lastEventId = this.#lastEventId();
    if (lastEventId) headers["last-event-id"] = lastEventId;
    let lastActivity = this.#clock.now();
    const watchdog = setInterval(() => {
      if (this.#clock.now() - lastActivity > this.#idleMs) {
        connection.abort(
          new RetriableStreamError(`no data for ${this.#idleMs} ms (idle timeout)`),
        );
      }
    }, Math.max(10, Math.min(1000, Math.floor(this.#idleMs / 4))));
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // A stop cancels the reader instead of relying on the fetch signal to end the body read
    // (issue 9 reports stream connections open 20 s or more that kept delivering after it).
    const cancelRead = () => void reader?.cancel().catch(() => {});
    signal.addEventListener("abort", cancelRead, { once: true });
    connection.signal.addEventListener("abort", cancelRead, { once: true });
    try {
      let response: Response;
      try {
        response = await this.#fetch(this.#url, { headers, signal: connectionSignal });
      } catch (error) {
        if (connection.signal.aborted) throw connection.signal.reason;
        throw new RetriableStreamError(
          `connection failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, unreachable: true },
        );
      }
      if (response.status !== 200) {
        // a peer's error body may be huge or endless: read its start only
        const body = (await readErrorText(response)).slice(0, ERROR_BODY_KEPT_CHARS);
        if (isFatalStreamStatus(response.status)) {
          throw new SseHttpError(
            `The event stream at "${this.#shownUrl}" answered HTTP ${response.status}${
              body ? `: ${body}` : ""
            }`,
            response.status,
            this.#shownUrl,
            body,
          );
        }
        const retryAfterMs = response.status === 429 || response.status === 503
          ? parseRetryAfter(response.headers.get("retry-after"), this.#clock.now())
          : undefined;
        throw new RetriableStreamError(`HTTP ${response.status}${body ? `: ${body}` : ""}`, {
          status: response.status,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      const type = response.headers.get("content-type") ?? "";
      if (!type.startsWith("text/event-stream") || response.body === null) {
        await response.body?.cancel();
        throw new SseHttpError(
          `The URL "${this.#shownUrl}" is not an event stream: content-type "${type}"`,
          response.status,
          this.#shownUrl,
          "",
        );
      }
      // One read loop instead of a chain of transform streams: parsing a chunk emits
      // every message it completes, without a stream hop per message. The bytes are
      // never decoded here: messages decode their data only when asked.
      const bytes = response.body.getReader();
      reader = bytes;
      if (connectionSignal.aborted) cancelRead();
      const parser = new SseEventParser<T>(this.#parserOptions);
      let ready: SseMessage<T>[] = [];
      const collect = (message: SseMessage<T>) => void ready.push(message);
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await bytes.read();
        } catch (error) {
          if (connection.signal.aborted) throw connection.signal.reason;
          throw error;
        }
        if (result.done) {
          // A cancelled read also ends here: an idle timeout is then a failure, a stop is not.
          if (connection.signal.aborted) throw connection.signal.reason;
          parser.end();
          return;
        }
        lastActivity = this.#clock.now();
        parser.push(result.value, collect);
        if (ready.length > 0) {
          const messages = ready;
          ready = [];
          yield messages;
        }
      }
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener("abort", cancelRead);
      connection.signal.removeEventListener("abort", cancelRead);
      connection.abort(new RetriableStreamError("connection closed by the client"));
      await reader?.cancel().catch(() => {});
    }
  }
}
