/**
 * What each program exports on `GET /metrics` and answers on `GET /healthz`:
 * {@linkcode producerMetrics}, {@linkcode consumerMetrics} and
 * {@linkcode brokerMetrics} turn the programs' own stats objects into a
 * {@linkcode MetricsRegistry} (read at scrape time, so the pipelines never
 * import metrics code) plus a health function for `serveMetrics`.
 *
 * @module
 */
import type { BrokerStats } from "../broker/broker_server.ts";
import type { ConsumerStats } from "../consumer/consumer_stats.ts";
import { type MetricFamily, MetricsRegistry } from "./metrics.ts";
import type { Logger } from "../cli/log.ts";
import { type HealthStatus, serveMetrics } from "./metrics_server.ts";
import type { ProducerStats } from "../producer/producer_pipeline.ts";
import { UsageError } from "../cli/program.ts";
import { statsCollector } from "./stats_metrics.ts";

/** A registry and a health check for `serveMetrics`. */
export interface ProgramMetrics {
  /** The metrics to render. */
  registry: MetricsRegistry;
  /** The health check. */
  health: () => HealthStatus;
}

function gauge(name: string, help: string, value: number | undefined): MetricFamily[] {
  return value === undefined ? [] : [{ name, help, type: "gauge", samples: [{ value }] }];
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}

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

/** Options for {@linkcode consumerMetrics}. */
export interface ConsumerMetricsOptions {
  /** The consumer's live counters. */
  stats: ConsumerStats;
  /** Longest time records may wait for a commit before the consumer is unhealthy. */
  commitStallMs: number;
  /** Wall clock. @default Date.now */
  now?: () => number;
}

/**
 * Metrics of the consumer (`wikistream_consumer_*`): the {@linkcode ConsumerStats} counters,
 * `rotations_total{reason}`, gauges `open_files`, `buffer_bytes`, `last_commit_ok`,
 * `lag_seconds` (now − newest committed `event_time`) and `last_commit_age_seconds`.
 * Unhealthy when the last commit failed, or when records arrived after the last successful
 * commit and none followed within `commitStallMs`.
 *
 * @param options stats, stall limit and clock
 * @returns registry and health check
 */
export function consumerMetrics(options: ConsumerMetricsOptions): ProgramMetrics {
  const { stats } = options;
  const now = options.now ?? Date.now;
  const startedAtMs = now();
  const registry = new MetricsRegistry();
  registry.collect(statsCollector({
    prefix: "wikistream_consumer",
    read: () => stats,
    gauges: ["openFiles", "bufferBytes", "lastCommitOk"],
    labels: { rotations: "reason" },
    skip: ["lastCommitTimeMs", "newestCommittedEventTimeMs"],
    help: {
      recordsIn: "records received from the proxy and taken into units",
      rowsWritten: "rows written to committed data files",
      filesWritten: "data files written",
      bytesWritten: "bytes of data files written",
      dlqRecords: "records dead-lettered",
      duplicates: "records dropped as duplicates (meta.id seen before)",
      rotations: "units sealed, by reason",
      openFiles: "hour files open in the current unit",
      bufferBytes: "bytes buffered by the current unit",
      lastCommitOk: "1 when the last offset commit succeeded, 0 when it failed",
    },
  }));
  registry.collect(() => {
    const t = now();
    return [
      ...gauge(
        "wikistream_consumer_lag_seconds",
        "now minus the newest event_time in committed files (freshness of the lake)",
        stats.newestCommittedEventTimeMs === undefined
          ? undefined
          : seconds(t - stats.newestCommittedEventTimeMs),
      ),
      ...gauge(
        "wikistream_consumer_last_commit_age_seconds",
        "seconds since the last successful offset commit",
        stats.lastCommitTimeMs === undefined ? undefined : seconds(t - stats.lastCommitTimeMs),
      ),
    ];
  });
  let seenCommitMs = stats.lastCommitTimeMs;
  let recordsAtCommit = stats.recordsIn;
  let pendingSinceMs = startedAtMs;
  const health = (): HealthStatus => {
    const t = now();
    if (stats.lastCommitOk === false) {
      return { ok: false, reason: "the last offset commit failed; see the consumer log" };
    }
    if (stats.lastCommitTimeMs !== seenCommitMs) {
      seenCommitMs = stats.lastCommitTimeMs;
      recordsAtCommit = stats.recordsIn;
      pendingSinceMs = stats.lastCommitTimeMs ?? t;
    }
    const waiting = t - pendingSinceMs;
    if (stats.recordsIn > recordsAtCommit && waiting > options.commitStallMs) {
      return {
        ok: false,
        reason: `records wait for a commit since ${Math.round(waiting / 1000)} s`,
      };
    }
    return { ok: true };
  };
  return { registry, health };
}

/** Options for {@linkcode brokerMetrics}. */
export interface BrokerMetricsOptions {
  /** Returns a snapshot of the broker. */
  stats: () => BrokerStats;
}

/**
 * Metrics of the local broker (`wikistream_broker_*`): `requests_total{method}`,
 * `server_errors_total`, `topics`, `partition_end_offset{topic,partition}`,
 * `consumer_instances`. Healthy while it answers.
 *
 * @param options the snapshot accessor
 * @returns registry and health check
 */
export function brokerMetrics(options: BrokerMetricsOptions): ProgramMetrics {
  const registry = new MetricsRegistry();
  registry.collect(() => {
    const s = options.stats();
    return [
      {
        name: "wikistream_broker_requests_total",
        help: "HTTP requests answered, by method",
        type: "counter",
        samples: Object.entries(s.requests).map(([method, value]) => ({
          labels: { method },
          value,
        })),
      },
      {
        name: "wikistream_broker_server_errors_total",
        help: "requests answered with a 5xx status",
        type: "counter",
        samples: [{ value: s.serverErrors }],
      },
      {
        name: "wikistream_broker_topics",
        help: "topics",
        type: "gauge",
        samples: [{ value: new Set(s.partitions.map((p) => p.topic)).size }],
      },
      {
        name: "wikistream_broker_partition_end_offset",
        help: "offset the next record of the partition gets",
        type: "gauge",
        samples: s.partitions.map((p) => ({
          labels: { topic: p.topic, partition: String(p.partition) },
          value: p.endOffset,
        })),
      },
      {
        name: "wikistream_broker_consumer_instances",
        help: "live consumer instances",
        type: "gauge",
        samples: [{ value: s.consumerInstances }],
      },
    ];
  });
  return { registry, health: () => ({ ok: true }) };
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
