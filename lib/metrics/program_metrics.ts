/**
 * What every program serves on `GET /metrics` and `GET /healthz`: a
 * {@linkcode ProgramMetrics} (registry plus health check), built by each program's own
 * metrics module (`producer/producer_metrics.ts`, `consumer/consumer_metrics.ts`,
 * `broker/broker_metrics.ts`) from its stats object, read at scrape time so the pipelines
 * never import metrics code; {@linkcode combinedMetrics} for `deno task start`, and
 * {@linkcode runWithMetrics} to serve them while a program runs.
 *
 * @module
 */
import { type MetricFamily, MetricsRegistry } from "./metrics.ts";
import type { Logger } from "../cli/log.ts";
import { type HealthStatus, serveMetrics } from "./metrics_server.ts";
import { UsageError } from "../cli/usage_error.ts";

/** A registry and a health check for `serveMetrics`. */
export interface ProgramMetrics {
  /** The metrics to render. */
  registry: MetricsRegistry;
  /** The health check. */
  health: () => HealthStatus;
}

/**
 * A one-sample gauge family, or none while the value is unknown.
 *
 * @param name metric name
 * @param help help text
 * @param value the sample, `undefined` when not known yet
 * @returns zero or one family
 */
export function gauge(name: string, help: string, value: number | undefined): MetricFamily[] {
  return value === undefined ? [] : [{ name, help, type: "gauge", samples: [{ value }] }];
}

/**
 * Milliseconds as seconds, negative durations (clock steps) as 0.
 *
 * @param ms a duration in milliseconds
 * @returns the duration in seconds, at least 0
 */
export function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}

/**
 * Serves several programs' metrics from one endpoint (`deno task start` runs broker,
 * producer and consumer in one process): every part's families, and healthy only
 * while every part is (the first unhealthy part's reason otherwise).
 *
 * @param parts the programs' metrics
 * @returns registry and health check
 */
export function combinedMetrics(parts: readonly ProgramMetrics[]): ProgramMetrics {
  const registry = new MetricsRegistry();
  for (const part of parts) registry.collect(() => part.registry.gather());
  const health = (): HealthStatus => {
    for (const part of parts) {
      const status = part.health();
      if (!status.ok) return status;
    }
    return { ok: true };
  };
  return { registry, health };
}

/** Options for {@linkcode runWithMetrics}. */
export interface RunWithMetricsOptions {
  /** `METRICS_PORT`; `undefined` serves nothing, 0 picks a free port. */
  port: number | undefined;
  /** `METRICS_HOST`. */
  hostname: string;
  /** What to serve. */
  metrics: ProgramMetrics;
  /** Logger (the endpoint logs "serving metrics" with its URL). */
  log: Logger;
}

/**
 * Serves `/metrics` and `/healthz` while `work` runs, then stops the endpoint.
 *
 * @param options port, address, metrics and logger
 * @param work the program's work
 * @returns the work's result
 * @throws {UsageError} when the port cannot be bound
 */
export async function runWithMetrics<T>(
  options: RunWithMetricsOptions,
  work: () => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  let server;
  try {
    server = serveMetrics({
      port: options.port,
      hostname: options.hostname,
      registry: options.metrics.registry,
      health: options.metrics.health,
      signal: stop.signal,
      log: options.log.child("metrics"),
    });
  } catch (error) {
    throw new UsageError(
      `Cannot serve metrics on ${options.hostname}:${options.port} (${
        error instanceof Error ? error.message : String(error)
      }); choose another METRICS_PORT or unset it`,
      { cause: error },
    );
  }
  try {
    return await work();
  } finally {
    stop.abort();
    await server?.finished;
  }
}
