/**
 * A read-only snapshot of the local broker, which `RunningBroker.stats()` returns and
 * `broker_metrics.ts` renders.
 *
 * @module
 */
import { REFUSAL_REASONS, type RefusalReason } from "./broker_error.ts";

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
  /** Connections and requests refused by a limit, by reason (see `RefusalReason`). */
  refused: Record<string, number>;
  /** Failed accepts of a connection (`EMFILE` and the like), each retried. */
  acceptErrors: number;
  /** Connections served now. */
  connections: number;
  /** Partitions whose files are open now (two descriptors each). */
  openPartitionFiles: number;
  /** Request-body bytes held now by requests not yet answered. */
  bufferedBodyBytes: number;
  /** HTTP requests answered, by method. */
  requests: Record<string, number>;
  /** Requests answered with a 5xx status. */
  serverErrors: number;
  /** Every partition of every topic. */
  partitions: PartitionStats[];
  /** Live consumer instances. */
  consumerInstances: number;
}

/**
 * The snapshot of a broker that has not started yet: every count zero.
 *
 * @returns the snapshot
 */
export function emptyBrokerStats(): BrokerStats {
  return {
    refused: {},
    acceptErrors: 0,
    connections: 0,
    openPartitionFiles: 0,
    bufferedBodyBytes: 0,
    requests: {},
    serverErrors: 0,
    partitions: [],
    consumerInstances: 0,
  };
}

/** The counters a running broker updates, from which its {@linkcode BrokerStats} are read. */
export interface BrokerCounts {
  /** HTTP requests answered, by method. */
  requests: Record<string, number>;
  /** Requests answered with a 5xx status. */
  serverErrors: number;
  /** Refusals by reason, every reason present from the start. */
  refused: Record<RefusalReason, number>;
  /** Failed accepts. */
  acceptErrors: number;
}

/**
 * Zeroed counters.
 *
 * @returns the counters
 */
export function createBrokerCounts(): BrokerCounts {
  return {
    requests: {},
    serverErrors: 0,
    refused: Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<
      RefusalReason,
      number
    >,
    acceptErrors: 0,
  };
}
