/**
 * The consumer's metrics (`wikistream_consumer_*`) and health check, read from its
 * {@linkcode ConsumerStats} at scrape time.
 *
 * @module
 */
import { MetricsRegistry } from "../metrics/metrics.ts";
import type { HealthStatus } from "../metrics/metrics_server.ts";
import { gauge, type ProgramMetrics, seconds } from "../metrics/program_metrics.ts";
import { statsCollector } from "../metrics/stats_metrics.ts";
import type { MetricFamily } from "../metrics/metrics.ts";
import type { ConsumerStats } from "./consumer_stats.ts";

function partitionGauge<T>(
  name: string,
  help: string,
  lanes: ReadonlyMap<number, T>,
  value: (lane: T) => number | undefined,
): MetricFamily[] {
  const samples = [];
  for (const [partition, lane] of [...lanes].sort((a, b) => a[0] - b[0])) {
    const v = value(lane);
    if (v !== undefined) samples.push({ labels: { partition: String(partition) }, value: v });
  }
  return samples.length === 0 ? [] : [{ name, help, type: "gauge", samples }];
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
    skip: ["lastCommitTimeMs", "newestCommittedEventTimeMs", "partitionsOwned", "lanes"],
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
      takeovers: "dead instances holding this consumer's name deleted to take it back",
      rebalances: "changes of the partitions the proxy assigns to this consumer",
      fencedUnits: "sealed units discarded because another consumer claimed their place first",
      rewinds: "times the proxy was sent back to the lake's position of a partition",
      offsetGaps: "offset ranges the topic did not deliver even after a rewind",
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
        "wikistream_consumer_partitions_owned",
        "partitions of the topic the proxy assigns to this consumer (Confluent and the local " +
          "broker; Redpanda cannot say)",
        stats.partitionsOwned.length,
      ),
      ...partitionGauge(
        "wikistream_consumer_partition_lake_offset",
        "per partition taken on: the last offset in the lake",
        stats.lanes,
        (l) => l.lakeEnd,
      ),
      ...partitionGauge(
        "wikistream_consumer_partition_lag_seconds",
        "per partition taken on: now minus the newest event_time this consumer committed",
        stats.lanes,
        (l) => l.newestEventTimeMs === undefined ? undefined : seconds(t - l.newestEventTimeMs),
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
