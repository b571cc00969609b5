/**
 * The operations endpoint of a program: `GET /metrics` renders a
 * {@linkcode MetricsRegistry} in the Prometheus text format 0.0.4 and
 * `GET /healthz` answers 200 `{"status":"ok"}` or 503
 * `{"status":"unhealthy","reason":…}` from a health callback.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { describeError } from "../cli/log.ts";
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "./metrics.ts";

/** What a health callback reports. */
export interface HealthStatus {
  /** True when the program is doing its job. */
  ok: boolean;
  /** Why it is not, for the 503 body. */
  reason?: string;
}

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Port to listen on; `undefined` turns the endpoint off, 0 picks a free port. */
  port: number | undefined;
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** The metrics to render. */
  registry: MetricsRegistry;
  /** Called for every `GET /healthz`. */
  health: () => HealthStatus | Promise<HealthStatus>;
  /** Stops the server when aborted. */
  signal: AbortSignal;
  /** Where to log start, stop and failures. */
  log: Logger;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port actually bound. */
  port: number;
  /** The address actually bound. */
  hostname: string;
  /**
   * Resolves when the server has stopped: after the signal aborts, or when Deno's accept
   * loop fails (for example `EMFILE`, "Too many open files"), which is logged and leaves the
   * program running without its endpoint (`/healthz` then fails, as it should).
   */
  finished: Promise<void>;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * Builds the request handler (exported for tests that do not need a socket).
 *
 * @param options registry, health callback and logger
 * @returns a `fetch`-style handler
 */
export function metricsHandler(
  options: Pick<ServeMetricsOptions, "registry" | "health" | "log">,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== "/metrics" && path !== "/healthz") {
      return json(404, { error: `Cannot find "${path}": use /metrics or /healthz` });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (path === "/metrics") {
      try {
        return new Response(request.method === "HEAD" ? null : options.registry.render(), {
          headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
        });
      } catch (error) {
        options.log.warn("cannot render metrics", { error: describeError(error) });
        return json(500, { error: `Cannot render metrics: ${describeError(error)}` });
      }
    }
    let health: HealthStatus;
    try {
      health = await options.health();
    } catch (error) {
      health = { ok: false, reason: `health check failed: ${describeError(error)}` };
    }
    return health.ok
      ? json(200, { status: "ok" })
      : json(503, { status: "unhealthy", reason: health.reason ?? "unknown" });
  };
}

/**
 * Serves `/metrics` and `/healthz` until the signal aborts.
 *
 * @param options port, registry, health callback, signal and logger
 * @returns the running server, or `undefined` when the port is unset
 */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer | undefined {
  if (options.port === undefined) return undefined;
  const hostname = options.hostname ?? "127.0.0.1";
  const server = Deno.serve({
    port: options.port,
    hostname,
    signal: options.signal,
    onListen: () => {},
    onError: (error) => {
      options.log.warn("metrics request failed", { error: describeError(error) });
      return new Response("internal error", { status: 500 });
    },
  }, metricsHandler(options));
  const addr = server.addr as Deno.NetAddr;
  options.log.info("serving metrics", {
    url: `http://${addr.hostname}:${addr.port}/metrics`,
  });
  // Deno.serve ends on the first failed accept and rejects `finished`: never let that
  // unhandled rejection end the program
  const finished = server.finished.catch((error) => {
    options.log.error("metrics endpoint stopped: accepting a connection failed", {
      error: describeError(error),
    });
  });
  return { port: addr.port, hostname: addr.hostname, finished };
}
