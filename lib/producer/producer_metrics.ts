/**
 * The producer's metrics (`wikistream_producer_*`) and health check, read from its
 * {@linkcode ProducerStats} at scrape time.
 *
 * @module
 */
import { MetricsRegistry } from "../metrics/metrics.ts";
import type { HealthStatus } from "../metrics/metrics_server.ts";
import { gauge, type ProgramMetrics, seconds } from "../metrics/program_metrics.ts";
import { statsCollector } from "../metrics/stats_metrics.ts";
import type { ProducerStats } from "./producer_stats.ts";

/** Options for {@linkcode producerMetrics}. */
export interface ProducerMetricsOptions {
  /** The producer's live counters. */
  stats: ProducerStats;
  /** `STREAM_IDLE_TIMEOUT_MS`: longer without an event is unhealthy. */
  idleTimeoutMs: number;
  /** Extra time allowed for the first event after start. @default idleTimeoutMs */
  startGraceMs?: number;
  /** Wall clock. @default Date.now */
  now?: () => number;
}

/**
 * Metrics of the producer (`wikistream_producer_*`): the {@linkcode ProducerStats} counters,
 * `lag_seconds` (now − `meta.dt` of the last acknowledged event) and
 * `last_event_age_seconds`. Unhealthy when no event arrived for longer than the idle timeout
 * (plus a grace period before the first event).
 *
 * @param options stats, idle timeout and clock
 * @returns registry and health check
 */
export function producerMetrics(options: ProducerMetricsOptions): ProgramMetrics {
  const { stats } = options;
  const now = options.now ?? Date.now;
  const grace = options.startGraceMs ?? options.idleTimeoutMs;
  const registry = new MetricsRegistry();
  registry.collect(statsCollector({
    prefix: "wikistream_producer",
    read: () => stats,
    skip: ["startedAtMs", "lastAckedEventTimeMs", "lastEventReceivedAtMs"],
    help: {
      eventsIn: "data events received from the stream",
      eventsProduced: "records acknowledged by the REST Proxy",
      bytesProduced: "request body bytes of acknowledged produce requests",
      deadLettered: "events written to the dead-letter file",
      invalidUtf8: "events whose data was not valid UTF-8 (invalid bytes replaced by U+FFFD)",
      retries: "produce retry rounds",
      reconnects: "stream reconnects",
      duplicatesDropped: "replayed events dropped by meta.id",
      canariesDropped: "canary events dropped",
      filtered: "events dropped by the wiki, type and bot filters",
    },
  }));
  registry.collect(() => {
    const t = now();
    return [
      ...gauge(
        "wikistream_producer_lag_seconds",
        "now minus meta.dt of the newest acknowledged event",
        stats.lastAckedEventTimeMs === null ? undefined : seconds(t - stats.lastAckedEventTimeMs),
      ),
      ...gauge(
        "wikistream_producer_last_event_age_seconds",
        "seconds since the last event was received",
        stats.lastEventReceivedAtMs === null ? undefined : seconds(t - stats.lastEventReceivedAtMs),
      ),
      ...gauge(
        "wikistream_producer_uptime_seconds",
        "seconds since the producer started",
        seconds(t - stats.startedAtMs),
      ),
    ];
  });
  const health = (): HealthStatus => {
    const t = now();
    if (stats.lastEventReceivedAtMs === null) {
      const waited = t - stats.startedAtMs;
      return waited > options.idleTimeoutMs + grace
        ? {
          ok: false,
          reason: `no event received since the start ${Math.round(waited / 1000)} s ago`,
        }
        : { ok: true };
    }
    const idle = t - stats.lastEventReceivedAtMs;
    return idle > options.idleTimeoutMs
      ? {
        ok: false,
        reason: `no event received for ${
          Math.round(idle / 1000)
        } s (STREAM_IDLE_TIMEOUT_MS ${options.idleTimeoutMs})`,
      }
      : { ok: true };
  };
  return { registry, health };
}
