/**
 * The producer's live counters: `runProducer` updates them, `producer_metrics.ts` reads them
 * at scrape time, and `deno task start` shows them in its summary.
 *
 * @module
 */

/** Counters of a producer run (read by the producer's metrics). */
export interface ProducerStats {
  /** When the run started (epoch ms). */
  startedAtMs: number;
  /** Data events received from the stream. */
  eventsIn: number;
  /** Events handed to the batcher (counts toward `--max-events`). */
  eventsAccepted: number;
  /** Records acknowledged by the proxy. */
  eventsProduced: number;
  /** Request body bytes of acknowledged produce requests. */
  bytesProduced: number;
  /** Produce requests made (including retries). */
  produceRequests: number;
  /** Replayed events dropped by `meta.id`. */
  duplicatesDropped: number;
  /** Canary events dropped. */
  canariesDropped: number;
  /** Events dropped by `--wikis`, `--types`, `--exclude-bots`. */
  filtered: number;
  /** Events written to the dead-letter file (malformed or refused by the proxy). */
  deadLettered: number;
  /**
   * Events whose data was not valid UTF-8: their invalid bytes became U+FFFD, then they were
   * forwarded (or dead-lettered or dropped like any other event).
   */
  invalidUtf8: number;
  /** Produce retry rounds. */
  retries: number;
  /** Stream reconnects. */
  reconnects: number;
  /** `meta.dt` of the last event covered by a saved position (epoch ms). */
  lastAckedEventTimeMs: number | null;
  /** When the last event was received (epoch ms). */
  lastEventReceivedAtMs: number | null;
  /** Times the resume state was saved. */
  stateSaves: number;
}

/**
 * Creates zeroed {@linkcode ProducerStats}.
 *
 * @param now the start time
 * @returns the counters
 */
export function createProducerStats(now: number = Date.now()): ProducerStats {
  return {
    startedAtMs: now,
    eventsIn: 0,
    eventsAccepted: 0,
    eventsProduced: 0,
    bytesProduced: 0,
    produceRequests: 0,
    duplicatesDropped: 0,
    canariesDropped: 0,
    filtered: 0,
    deadLettered: 0,
    invalidUtf8: 0,
    retries: 0,
    reconnects: 0,
    lastAckedEventTimeMs: null,
    lastEventReceivedAtMs: null,
    stateSaves: 0,
  };
}
