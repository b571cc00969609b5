/**
 * The broker's HTTP server, with its own accept loop so that nothing arriving on the socket
 * can stop it:
 *
 * - at most `maxConnections` connections are served at once; one more is answered
 *   `503` (`Connection: close`, `Retry-After: 1`) and closed, so descriptors stay bounded;
 * - a connection that does not deliver a complete request head within `headerTimeoutMs`
 *   of its accept, or of the previous response, is closed (idle keep-alive connections
 *   included; a response not read by the client within that time is cut);
 * - a failing `accept` (`EMFILE` "Too many open files", `ENFILE`, `ENOBUFS`, …) is
 *   reported, logged at most once per 10 s with the count, and retried after a growing
 *   pause (10 ms to 1 s); `Deno.serve` instead ends its server on the first such error.
 *
 * HTTP itself (parsing, keep-alive, chunked bodies, head size limits with 431) is Deno's,
 * through `Deno.serveHttp` on each accepted connection (see `_serve_http.ts`).
 *
 * With `tls` it listens with `Deno.listenTls` and serves HTTPS under the same limits: the TLS
 * handshake happens inside the wait for the first request head, so a handshake that does not
 * complete within `headerTimeoutMs` is given up like a silent plain connection (counted as
 * `header_timeout`, its slot freed). Two Deno 2.9.6 limits: a TLS connection closed before its
 * handshake keeps its socket open until the peer closes it, so silent TLS peers are bounded in
 * slots but not in descriptors; and `Deno.listenTls` cannot request or verify client
 * certificates (no such option), so there is no mutual TLS here.
 *
 * @module
 */
import { sleepUnlessAborted, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import { V2_JSON } from "../rest_proxy/rest_proxy_media.ts";
import { denoServeHttp, type HttpConn, type RequestEvent } from "./_serve_http.ts";

/** Why a connection was turned away or closed early. */
export type ConnectionRefusal = "connections" | "header_timeout";

/** What {@linkcode serveConnections} listens with (a `Deno.TcpListener` in production). */
export interface ConnectionListener {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Waits for the next connection. */
  accept(): Promise<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

/** Options for {@linkcode serveConnections}. */
export interface ConnectionServerOptions {
  /** Address to bind. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Answers one request (should not throw; a throw is answered 500). */
  handler: (request: Request) => Promise<Response>;
  /** Most connections served at once. */
  maxConnections: number;
  /** Longest wait for a request head, from the accept or the end of the previous response. */
  headerTimeoutMs: number;
  /** Called for each connection turned away or closed for a limit. */
  onRefused?: (reason: ConnectionRefusal) => void;
  /** Called for each failed accept. */
  onAcceptError?: (error: unknown) => void;
  /** Logger. */
  log?: Logger;
  /** Serve HTTPS with this PEM certificate chain and private key. @default plain HTTP */
  tls?: ConnectionTls;
  /** Opens the listener. @default Deno.listen, or Deno.listenTls with `tls` */
  listen?: (options: { hostname: string; port: number }) => ConnectionListener;
}

/** The server's certificate for {@linkcode ConnectionServerOptions.tls}. */
export interface ConnectionTls {
  /** PEM certificate chain, the server's own certificate first. */
  cert: string;
  /** PEM private key of that certificate. */
  key: string;
}

/** A running {@linkcode serveConnections} server. */
export interface ConnectionServer {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Connections being served now. */
  readonly connections: number;
  /**
   * Stops accepting, closes idle connections, lets requests in progress finish (up to
   * 10 s, then closes them too) and resolves once every connection is closed.
   */
  shutdown(): Promise<void>;
}

/** Refused connections being answered at once; more are closed without an answer. */
const MAX_REFUSING = 64;
/** How long a refused connection may wait for its request head before the 503. */
const REFUSE_HEAD_WAIT_MS = 250;
/** How long a refused connection stays open at most (the 503 written, the client reading). */
const REFUSE_LINGER_MS = 1000;
const REFUSE_DRAIN_BYTES = 256 * 1024;
const ACCEPT_LOG_INTERVAL_MS = 10_000;
const MAX_ACCEPT_BACKOFF_MS = 1000;
const SHUTDOWN_GRACE_MS = 10_000;
/** Once stopping, how long after a response its connection may be closed. */
const STOP_FLUSH_MS = 50;

interface Served {
  http: HttpConn;
  /** A request is being answered (from its head to `respondWith` resolving). */
  busy: boolean;
  closed: boolean;
  requests: number;
  /** When the last response was handed to Deno (its bytes may still be in flight). */
  answeredAt: number;
  /** Closes the connection once it has waited for a request head long enough. */
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Listens and serves HTTP with bounded connections, a header timeout and an accept loop
 * that survives accept errors.
 *
 * @param options address, handler, limits, callbacks and logger
 * @returns the running server
 * @throws {Deno.errors.AddrInUse} when the port is taken
 * @throws {TypeError} when this Deno has no `Deno.serveHttp`
 * @throws {Deno.errors.InvalidData} when the TLS certificate or key cannot be used
 * @example Serve, call, stop
 * ```ts
 * import assert from "node:assert/strict";
 * const server = serveConnections({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxConnections: 8,
 *   headerTimeoutMs: 1000,
 *   handler: () => Promise.resolve(new Response("ok")),
 * });
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(await res.text(), "ok");
 * await server.shutdown();
 * ```
 */
export function serveConnections(options: ConnectionServerOptions): ConnectionServer {
  const serveHttp = denoServeHttp();
  const tls = options.tls;
  const listen = options.listen ??
    ((o: { hostname: string; port: number }) =>
      tls ? listenTls(o, tls) : Deno.listen({ ...o, transport: "tcp" }));
  const listener = listen({ hostname: options.hostname, port: options.port });
  const served = new Set<Served>();
  const tasks = new Set<Promise<void>>();
  const stopping = new AbortController();
  let closed: PromiseWithResolvers<void> | undefined;

  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };

  const closeServed = (s: Served) => {
    clearTimeout(s.idleTimer);
    if (s.closed) return;
    s.closed = true;
    try {
      s.http.close();
    } catch {
      // already closed by Deno (peer gone or protocol error)
    }
  };

  /** Arms the idle timer: the header timeout, or a short grace once the server stops. */
  const armIdle = (s: Served) => {
    clearTimeout(s.idleTimer);
    // `respondWith` resolves before Deno has written the response: leave it time to finish
    const delay = stopping.signal.aborted
      ? Math.max(0, s.answeredAt + STOP_FLUSH_MS - Date.now())
      : options.headerTimeoutMs;
    s.idleTimer = setTimeout(() => {
      // a connection that never sent a request is refused; an idle keep-alive one is not
      if (s.requests === 0 && !stopping.signal.aborted) options.onRefused?.("header_timeout");
      closeServed(s);
    }, delay);
  };

  const nextRequest = async (s: Served): Promise<RequestEvent | null> => {
    armIdle(s);
    try {
      return await s.http.nextRequest();
    } catch {
      return null; // a malformed request: Deno has answered 400/431 and ends the connection
    } finally {
      clearTimeout(s.idleTimer);
    }
  };

  const respond = async (request: Request): Promise<Response> => {
    if (stopping.signal.aborted) {
      await request.body?.cancel().catch(() => {});
      return stoppingResponse();
    }
    const response = await options.handler(request).catch(() =>
      new Response(null, { status: 500 })
    );
    // Deno.serveHttp gzips or brotli-compresses compressible bodies (application/json) for a
    // client that accepts it; Deno.serve and the REST Proxy do not: `no-transform` keeps the
    // bodies as they are. Once stopping, the response also ends the connection.
    const extra: Record<string, string> = {};
    if (!response.headers.has("cache-control") && !response.headers.has("content-encoding")) {
      extra["cache-control"] = "no-transform";
    }
    if (stopping.signal.aborted) extra.connection = "close";
    return withHeaders(response, extra);
  };

  const serve = async (conn: Deno.Conn) => {
    let http: HttpConn;
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      http = serveHttp(conn);
    } catch (error) {
      options.log?.warn("cannot serve an accepted connection", { error });
      closeQuietly(conn);
      return;
    }
    const s: Served = {
      http,
      busy: false,
      closed: false,
      requests: 0,
      answeredAt: 0,
      idleTimer: undefined,
    };
    served.add(s);
    try {
      for (;;) {
        const event = await nextRequest(s);
        if (event === null) break;
        s.requests++;
        s.busy = true;
        try {
          await event.respondWith(respond(event.request));
        } catch {
          break; // the peer went away while the response was written
        } finally {
          s.busy = false;
          s.answeredAt = Date.now();
        }
      }
    } finally {
      closeServed(s);
      served.delete(s);
      if (closed && served.size === 0) closed.resolve();
    }
  };

  /**
   * Answers 503 and closes. The request head is read first (or 250 ms waited for it) and
   * the connection drained until the client closes (at most 1 s), so that closing does not
   * reset a connection whose client has not read the answer yet.
   */
  const refuse = async (conn: Deno.Conn) => {
    options.onRefused?.("connections");
    const linger = setTimeout(() => closeQuietly(conn), REFUSE_LINGER_MS);
    const headRead = Promise.withResolvers<void>();
    const draining = (async () => {
      const sink = new Uint8Array(16 * 1024);
      let tail = "";
      let total = 0;
      try {
        while (total < REFUSE_DRAIN_BYTES) {
          const n = await conn.read(sink);
          if (n === null) break;
          total += n;
          const text = tail + decoder.decode(sink.subarray(0, n));
          if (text.includes("\r\n\r\n")) headRead.resolve();
          tail = text.slice(-3);
        }
      } catch {
        // closed by the linger timer or reset by the peer
      } finally {
        headRead.resolve();
      }
    })();
    const wait = setTimeout(() => headRead.resolve(), REFUSE_HEAD_WAIT_MS);
    await headRead.promise;
    clearTimeout(wait);
    try {
      await writeAll(conn, busyResponse(options.maxConnections));
      await conn.closeWrite();
    } catch {
      // the peer is gone
    }
    await draining;
    clearTimeout(linger);
    closeQuietly(conn);
  };

  const acceptLoop = async () => {
    let backoff = 0;
    let failures = 0;
    let lastLog = -Infinity;
    let refusing = 0;
    while (!stopping.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping.signal.aborted) break;
        options.onAcceptError?.(error);
        failures++;
        backoff = Math.min(MAX_ACCEPT_BACKOFF_MS, Math.max(10, backoff * 2));
        const now = Date.now();
        if (now - lastLog >= ACCEPT_LOG_INTERVAL_MS) {
          lastLog = now;
          options.log?.warn("accepting a connection failed; retrying", {
            error,
            code: (error as { code?: unknown }).code,
            failures,
            connections: served.size,
            retryInMs: backoff,
            hint: "raise the descriptor limit (ulimit -n) or lower BROKER_MAX_CONNECTIONS",
          });
          failures = 0;
        }
        await sleepUnlessAborted(SYSTEM_CLOCK, backoff, stopping.signal);
        continue;
      }
      backoff = 0;
      if (served.size < options.maxConnections) {
        track(serve(conn));
      } else if (refusing < MAX_REFUSING) {
        refusing++;
        track(refuse(conn).finally(() => refusing--));
      } else {
        options.onRefused?.("connections");
        closeQuietly(conn);
      }
    }
  };

  const loop = acceptLoop();
  let shuttingDown: Promise<void> | undefined;
  return {
    addr: listener.addr,
    get connections() {
      return served.size;
    },
    shutdown() {
      shuttingDown ??= (async () => {
        stopping.abort();
        closeQuietly(listener);
        await loop;
        closed = Promise.withResolvers<void>();
        // idle connections close (after a grace for a response in flight); busy ones close
        // once their response, which now says `Connection: close`, is written
        for (const s of served) if (!s.busy) armIdle(s);
        if (served.size === 0) closed.resolve();
        const grace = setTimeout(() => {
          for (const s of served) closeServed(s);
        }, SHUTDOWN_GRACE_MS);
        try {
          await closed.promise;
          while (tasks.size > 0) await Promise.allSettled([...tasks]);
        } finally {
          clearTimeout(grace);
        }
      })();
      return shuttingDown;
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function listenTls(
  address: { hostname: string; port: number },
  tls: ConnectionTls,
): Deno.TlsListener {
  try {
    return Deno.listenTls({ ...address, transport: "tcp", cert: tls.cert, key: tls.key });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw error;
    throw new Deno.errors.InvalidData(
      `Cannot serve HTTPS: ${(error as Error).message}; check that the certificate file holds ` +
        "PEM certificates (the server's first) and the key file the PEM private key of that " +
        "certificate",
      { cause: error },
    );
  }
}

function stoppingResponse(): Response {
  return new Response(
    JSON.stringify({ error_code: 503, message: "Service Unavailable: the broker is stopping" }),
    {
      status: 503,
      headers: { "content-type": V2_JSON, "retry-after": "1", connection: "close" },
    },
  );
}

function withHeaders(response: Response, extra: Record<string, string>): Response {
  try {
    for (const [name, value] of Object.entries(extra)) response.headers.set(name, value);
    return response;
  } catch {
    // immutable headers (a response from fetch): copy them
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
}

function busyResponse(limit: number): Uint8Array {
  const body = JSON.stringify({
    error_code: 503,
    message: `Service Unavailable: the broker serves its limit of ${limit} connections ` +
      "(BROKER_MAX_CONNECTIONS); retry later",
  });
  return encoder.encode(
    "HTTP/1.1 503 Service Unavailable\r\n" +
      `content-type: ${V2_JSON}\r\n` +
      `content-length: ${encoder.encode(body).length}\r\n` +
      "retry-after: 1\r\n" +
      "connection: close\r\n\r\n" + body,
  );
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}
