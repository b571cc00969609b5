/**
 * `deno task start`: the whole wikistream pipeline on one machine with embedded
 * defaults: the local broker, the producer on the live Wikimedia stream, and the
 * consumer writing Parquet to `./lake`. Ctrl-C stops all three cleanly.
 *
 * @module
 */
import { type BrokerStats, emptyBrokerStats } from "./lib/broker/broker_stats.ts";
import { METRICS_OPTIONS } from "./lib/metrics/metrics_options.ts";
import { createPipelineStats, PIPELINE_OPTIONS, runPipeline } from "./lib/start/pipeline_runner.ts";
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { brokerMetrics } from "./lib/broker/broker_metrics.ts";
import { consumerMetrics } from "./lib/consumer/consumer_metrics.ts";
import { combinedMetrics, runWithMetrics } from "./lib/metrics/program_metrics.ts";
import { producerMetrics } from "./lib/producer/producer_metrics.ts";

const NO_BROKER_YET: BrokerStats = emptyBrokerStats();

/** Runs the pipeline at the process edge. */
export async function main(): Promise<void> {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "wikistream",
    task: "start",
    summary: "Run the whole pipeline locally: embedded broker, producer on the live stream " +
      "(or --stream-url), consumer writing Parquet to OUTPUT_URL (default ./lake).",
    specs: { ...PIPELINE_OPTIONS, ...METRICS_OPTIONS },
    drainTimeoutMs: 45_000,
    async run(config, { signal, log }) {
      // One endpoint (METRICS_PORT) for the three parts, as the separate programs serve them.
      const stats = createPipelineStats();
      let brokerStats = (): BrokerStats => NO_BROKER_YET;
      const metrics = combinedMetrics([
        brokerMetrics({ stats: () => brokerStats() }),
        producerMetrics({ stats: stats.producer, idleTimeoutMs: config.idleTimeoutMs }),
        consumerMetrics({
          stats: stats.consumer,
          commitStallMs: Math.max(3 * config.flushIntervalMs, 120_000),
        }),
      ]);
      await runWithMetrics(
        { port: config.metricsPort, hostname: config.metricsHost, metrics, log },
        () =>
          runPipeline(config, {
            signal,
            log,
            stats,
            onBrokerReady: (url, accessor) => {
              brokerStats = accessor;
              log.info("local broker ready", { url: url.href });
            },
          }),
      );
    },
  });
}

if (import.meta.main) await main();
