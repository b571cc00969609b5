/**
 * A read-only snapshot of the local broker, which `RunningBroker.stats()` returns and
 * `broker_metrics.ts` renders.
 *
 * @module
 */

/** End offsets of one partition, for {@linkcode BrokerStats}. */
export interface PartitionStats {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Offset of the first retained record. */
  beginningOffset: number;
  /** Offset the next record gets (the high watermark). */
  endOffset: number;
}

/** A read-only snapshot of the broker, for metrics. */
export interface BrokerStats {
  /** HTTP requests answered, by method. */
  requests: Record<string, number>;
  /** Requests answered with a 5xx status. */
  serverErrors: number;
  /** Every partition of every topic. */
  partitions: PartitionStats[];
  /** Live consumer instances. */
  consumerInstances: number;
}
