/**
 * wikistream consumer: reads `wikimedia-changes` through the REST Proxy v2
 * consumer-group API and writes Parquet files (Hive-partitioned by event hour)
 * to S3, an S3-compatible store or a local folder, exactly once per record.
 *
 * @module
 */
import { CONSUMER_OPTIONS } from "./lib/consumer_config.ts";
import { runConsumer } from "./lib/consumer_pipeline.ts";
import { runProgram } from "./lib/program.ts";

/** Runs the consumer at the process edge. */
export async function main(): Promise<void> {
  await runProgram({
    name: "consumer",
    summary: "Consume wikimedia-changes from the Kafka REST Proxy into a Parquet lake " +
      "(S3, MinIO or a folder), exactly once per record.",
    specs: CONSUMER_OPTIONS,
    drainTimeoutMs: 30_000,
    async run(config, { signal, log }) {
      await runConsumer(config, { signal, log, drainTimeoutMs: 25_000 });
    },
  });
}

if (import.meta.main) await main();
