/**
 * wikistream producer: reads the Wikimedia recentchange SSE stream and produces
 * every event to a Kafka topic through the REST Proxy v2 or v3 API, resumably.
 *
 * Run with `deno task produce`; `--help` lists the options.
 *
 * @module
 */
import { METRICS_OPTIONS } from "./lib/metrics/metrics_options.ts";
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { producerMetrics } from "./lib/producer/producer_metrics.ts";
import { runWithMetrics } from "./lib/metrics/program_metrics.ts";
import { PRODUCER_OPTIONS } from "./lib/producer/producer_config.ts";
import { runProducer } from "./lib/producer/producer_pipeline.ts";
import { createProducerStats } from "./lib/producer/producer_stats.ts";

/** Entry point: parse configuration, run the pipeline, set the exit code. */
export async function main(): Promise<void> {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "producer",
    task: "produce",
    summary: "Reads Wikimedia recentchange events (SSE) and produces them to Kafka through the " +
      "REST Proxy v2 API (v3 with KAFKA_REST_API=v3). Resumes from the saved position in STATE_DIR after a restart.",
    specs: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS },
    run: async (config, { signal, log }) => {
      const stats = createProducerStats();
      const metrics = producerMetrics({ stats, idleTimeoutMs: config.idleTimeoutMs });
      await runWithMetrics(
        { port: config.metricsPort, hostname: config.metricsHost, metrics, log },
        () => runProducer(config, { signal, log, stats }),
      );
    },
  });
}

if (import.meta.main) await main();
