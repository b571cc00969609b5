/**
 * {@linkcode openStreamSource}: the SSE client the producer reads, configured
 * from {@linkcode ProducerConfig}, validating each data line in place.
 *
 * @module
 */
import type { Clock } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type {
  RecentChangeScanner,
  ScannedRecentChange,
} from "../recentchange/recentchange_scan.ts";
import { SseClient, type SseSource } from "../sse/sse_client.ts";
import { OFFLINE_HINT, type ProducerConfig } from "./producer_config.ts";
import type { ProducerStats } from "./producer_stats.ts";
import type { ReconnectPosition } from "./reconnect_position.ts";

/** What the stream client needs besides the configuration. */
export interface StreamSourceParts {
  /** The stream URL with the start position applied. */
  url: URL;
  /** Gives the `Last-Event-ID` of each reconnect. */
  reconnect: ReconnectPosition;
  /** Validates each data line inside the received chunk. */
  scanner: RecentChangeScanner;
  /** Counts reconnects. */
  stats: ProducerStats;
  /** Logger (the client logs under `sse`). */
  log: Logger;
  /** Clock. */
  clock: Clock;
  /** The fetch implementation, when not the global one. */
  fetch?: typeof fetch;
}

/**
 * Opens the producer's SSE source.
 *
 * @param config the producer configuration (user agent, timeouts, backoff)
 * @param parts the position, scanner, counters and I/O
 * @returns the source of scanned events
 */
export function openStreamSource(
  config: ProducerConfig,
  parts: StreamSourceParts,
): SseSource<ScannedRecentChange> {
  const { scanner, reconnect, stats } = parts;
  return new SseClient<ScannedRecentChange>({
    inspectData: (chunk, start) => scanner.scanLine(chunk, start),
    url: parts.url,
    userAgent: config.userAgent,
    lastEventId: () => reconnect.resumeId(),
    idleTimeoutMs: config.idleTimeoutMs,
    backoffInitialMs: config.reconnectBackoffMs,
    backoffMaxMs: config.reconnectBackoffMaxMs,
    onReconnect: () => stats.reconnects++,
    unreachableHint: OFFLINE_HINT,
    log: parts.log.child("sse"),
    clock: parts.clock,
    ...(parts.fetch ? { fetch: parts.fetch } : {}),
  });
}
