/**
 * The producer's log lines about its counters: {@linkcode reportProgress} every progress
 * interval while it runs, {@linkcode logSummary} once it stopped.
 *
 * @module
 */
import { type Clock, sleepUnlessAborted } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type { ProduceBatcher } from "./produce_batcher.ts";
import type { ProducerStats } from "./producer_stats.ts";

/** What {@linkcode reportProgress} reads and where it writes. */
export interface ProgressOptions {
  /** Clock. */
  clock: Clock;
  /** Logger. */
  log: Logger;
  /** The live counters. */
  stats: ProducerStats;
  /** The batcher, for its in-flight and queued batches. */
  batcher: ProduceBatcher;
  /** Ends the reporting. */
  signal: AbortSignal;
}

/**
 * Logs a `progress` line (rates since the previous line, counters, lag) every `intervalMs`
 * until `signal` aborts.
 *
 * @param intervalMs the interval; 0 or less reports nothing
 * @param o clock, logger, counters and stop signal
 */
export async function reportProgress(intervalMs: number, o: ProgressOptions): Promise<void> {
  if (intervalMs <= 0) return;
  let prevIn = o.stats.eventsIn;
  let prevOut = o.stats.eventsProduced;
  let prevAt = o.clock.now();
  while (await sleepUnlessAborted(o.clock, intervalMs, o.signal)) {
    const now = o.clock.now();
    const seconds = Math.max(0.001, (now - prevAt) / 1000);
    const s = o.stats;
    o.log.info("progress", {
      inPerSec: Math.round(((s.eventsIn - prevIn) / seconds) * 10) / 10,
      outPerSec: Math.round(((s.eventsProduced - prevOut) / seconds) * 10) / 10,
      eventsIn: s.eventsIn,
      produced: s.eventsProduced,
      duplicates: s.duplicatesDropped,
      filtered: s.filtered,
      canaries: s.canariesDropped,
      deadLettered: s.deadLettered,
      invalidUtf8: s.invalidUtf8,
      retries: s.retries,
      reconnects: s.reconnects,
      lagMs: s.lastAckedEventTimeMs === null ? null : now - s.lastAckedEventTimeMs,
      inFlight: o.batcher.inFlight,
      queued: o.batcher.queued,
    });
    prevIn = s.eventsIn;
    prevOut = s.eventsProduced;
    prevAt = now;
  }
}

/**
 * Logs the `stopped` line with the run's final counters.
 *
 * @param log logger
 * @param stats the final counters
 * @param clock clock (for the run's duration)
 */
export function logSummary(log: Logger, stats: ProducerStats, clock: Clock): void {
  log.info("stopped", {
    seconds: Math.round((clock.now() - stats.startedAtMs) / 100) / 10,
    eventsIn: stats.eventsIn,
    produced: stats.eventsProduced,
    duplicates: stats.duplicatesDropped,
    filtered: stats.filtered,
    canaries: stats.canariesDropped,
    deadLettered: stats.deadLettered,
    invalidUtf8: stats.invalidUtf8,
    retries: stats.retries,
    reconnects: stats.reconnects,
    lastAckedEventTime: stats.lastAckedEventTimeMs === null
      ? null
      : new Date(stats.lastAckedEventTimeMs).toISOString(),
  });
}
