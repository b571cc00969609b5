/**
 * The local broker's metrics (`wikistream_broker_*`), read from a {@linkcode BrokerStats}
 * snapshot at scrape time.
 *
 * @module
 */
import { MetricsRegistry } from "../metrics/metrics.ts";
import type { ProgramMetrics } from "../metrics/program_metrics.ts";
import type { BrokerStats } from "./broker_stats.ts";

/** Options for {@linkcode brokerMetrics}. */
export interface BrokerMetricsOptions {
  /** Returns a snapshot of the broker. */
  stats: () => BrokerStats;
}

/**
 * Metrics of the local broker (`wikistream_broker_*`): `requests_total{method}`,
 * `server_errors_total`, `topics`, `partition_end_offset{topic,partition}`,
 * `consumer_instances`, `refused_total{reason}`, `accept_errors_total`, `connections`,
 * `open_partition_files`, `buffered_body_bytes`. Healthy while it answers.
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
      {
        name: "wikistream_broker_refused_total",
        help: "connections and requests refused by a limit, by reason",
        type: "counter",
        samples: Object.entries(s.refused).map(([reason, value]) => ({
          labels: { reason },
          value,
        })),
      },
      {
        name: "wikistream_broker_accept_errors_total",
        help: "failed accepts of a connection (EMFILE and the like), each retried",
        type: "counter",
        samples: [{ value: s.acceptErrors }],
      },
      {
        name: "wikistream_broker_connections",
        help: "connections served now",
        type: "gauge",
        samples: [{ value: s.connections }],
      },
      {
        name: "wikistream_broker_open_partition_files",
        help: "partitions whose files are open now (two descriptors each)",
        type: "gauge",
        samples: [{ value: s.openPartitionFiles }],
      },
      {
        name: "wikistream_broker_buffered_body_bytes",
        help: "request-body bytes held by requests not yet answered",
        type: "gauge",
        samples: [{ value: s.bufferedBodyBytes }],
      },
    ];
  });
  return { registry, health: () => ({ ok: true }) };
}
