/**
 * Shared setup for producer tests: a resolved producer configuration from a few
 * overrides, and a log sink.
 *
 * @module
 */
import { parseConfig } from "../../lib/cli/config.ts";
import { createLogger, type Logger, memorySink } from "../../lib/cli/log.ts";
import { PRODUCER_OPTIONS, type ProducerConfig } from "../../lib/producer/producer_config.ts";

/**
 * Builds a producer configuration for tests (fast backoff, short linger, no progress line).
 *
 * @param env environment overrides
 * @param args command-line arguments
 * @returns the resolved configuration
 */
export function testProducerConfig(
  env: Record<string, string>,
  args: string[] = [],
): ProducerConfig {
  return parseConfig(PRODUCER_OPTIONS, {
    env: {
      PRODUCE_LINGER_MS: "20",
      PRODUCE_RETRY_BACKOFF_MS: "5",
      PRODUCE_RETRY_BACKOFF_MAX_MS: "50",
      STREAM_RECONNECT_BACKOFF_MS: "5",
      STREAM_RECONNECT_BACKOFF_MAX_MS: "50",
      STREAM_IDLE_TIMEOUT_MS: "5000",
      PROGRESS_INTERVAL_MS: "0",
      USER_AGENT: "wikistream-tests/0.1 (https://example.org; tests@example.org)",
      ...env,
    },
    args,
  }).config;
}

/**
 * A logger that records into memory.
 *
 * @returns the logger and its records
 */
export function testLogger(): { log: Logger; sink: ReturnType<typeof memorySink> } {
  const sink = memorySink();
  return { log: createLogger({ sink, level: "debug", component: "test" }), sink };
}
