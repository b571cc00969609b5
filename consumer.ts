/**
 * wikistream consumer: reads `wikimedia-changes` through the REST Proxy v2
 * consumer-group API and writes Parquet files (Hive-partitioned by event hour)
 * to S3, an S3-compatible store or a local folder, exactly once per record.
 *
 * @module
 */
import { CONSUMER_OPTIONS, validateConsumerConfig } from "./lib/consumer/consumer_config.ts";
import { runConsumer } from "./lib/consumer/consumer_pipeline.ts";
import { createConsumerStats } from "./lib/consumer/consumer_stats.ts";
import { METRICS_OPTIONS } from "./lib/metrics/metrics_options.ts";
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { consumerMetrics } from "./lib/consumer/consumer_metrics.ts";
import { runWithMetrics } from "./lib/metrics/program_metrics.ts";

/** Runs the consumer at the process edge. */
export async function main(): Promise<void> {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "consumer",
    task: "consume",
    summary: "Consume wikimedia-changes from the Kafka REST Proxy into a Parquet lake " +
      "(S3, MinIO or a folder), exactly once per record.",
    specs: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS },
    drainTimeoutMs: 30_000,
    async run(config, { signal, log }) {
      validateConsumerConfig(config);
      const stats = createConsumerStats();
      const metrics = consumerMetrics({
        stats,
        // a unit holds records up to FLUSH_INTERVAL_MS, then uploads: allow that, with margin
        commitStallMs: Math.max(3 * config.flushIntervalMs, 120_000),
      });
      await runWithMetrics(
        { port: config.metricsPort, hostname: config.metricsHost, metrics, log },
        () => runConsumer(config, { signal, log, drainTimeoutMs: 25_000, stats }),
      );
    },
  });
}

if (import.meta.main) await main();
