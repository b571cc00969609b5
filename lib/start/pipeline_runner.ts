/**
 * The whole pipeline in one process, for `deno task start`: the local broker,
 * the producer on the live stream (or `--stream-url`), and the consumer writing
 * Parquet to `./lake`, with one combined progress line. Stopping (the signal)
 * drains the producer and the consumer (flush, upload, commit) and then closes
 * the broker. With `--max-events` the producer stops by itself and the consumer
 * runs until it has read everything that was produced.
 *
 * @module
 */
import { startBroker } from "../broker/broker_server.ts";
import type { BrokerStats } from "../broker/broker_stats.ts";
import type { ResolvedConfig } from "../cli/config.ts";
import type { ConsumerConfig } from "../consumer/consumer_config.ts";
import { runConsumer } from "../consumer/consumer_pipeline.ts";
import { type ConsumerStats, createConsumerStats } from "../consumer/consumer_stats.ts";
import { type Clock, sleepUnlessAborted, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type { ProducerConfig } from "../producer/producer_config.ts";
import { PIPELINE_OPTIONS } from "./pipeline_options.ts";

export { PIPELINE_OPTIONS };
import { runProducer } from "../producer/producer_pipeline.ts";
import { createProducerStats, type ProducerStats } from "../producer/producer_stats.ts";

/** The resolved options of {@linkcode runPipeline}. */
export type PipelineConfig = ResolvedConfig<typeof PIPELINE_OPTIONS>;

/** Live counters of the three parts. */
export interface PipelineStats {
  /** The producer's counters. */
  producer: ProducerStats;
  /** The consumer's counters. */
  consumer: ConsumerStats;
}

/** Dependencies of {@linkcode runPipeline}. */
export interface RunPipelineOptions {
  /** Logger. */
  log: Logger;
  /** Stops the pipeline: producer and consumer drain, then the broker closes. */
  signal: AbortSignal;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Called with the broker's URL and a stats accessor once it listens. */
  onBrokerReady?: (url: URL, stats: () => BrokerStats) => void;
  /** Counters to update live (for a metrics endpoint); created when absent. */
  stats?: PipelineStats;
}

/**
 * Creates zeroed {@linkcode PipelineStats}.
 *
 * @param now the start time (epoch ms)
 * @returns the counters
 */
export function createPipelineStats(now: number = Date.now()): PipelineStats {
  return { producer: createProducerStats(now), consumer: createConsumerStats() };
}

/**
 * Formats the combined progress line's properties.
 *
 * @param stats the live counters
 * @param now current time (epoch ms)
 * @returns properties for one log record
 */
export function pipelineProgress(stats: PipelineStats, now: number): Record<string, unknown> {
  const p = stats.producer;
  const c = stats.consumer;
  const lag = (t: number | null | undefined) =>
    t === null || t === undefined ? null : Math.round((now - t) / 1000);
  return {
    received: p.eventsIn,
    produced: p.eventsProduced,
    consumed: c.recordsIn,
    rows: c.rowsWritten,
    files: c.filesWritten,
    lakeBytes: c.bytesWritten,
    deadLetters: p.deadLettered + c.dlqRecords,
    duplicatesDropped: p.duplicatesDropped + c.duplicates,
    reconnects: p.reconnects,
    producerLagS: lag(p.lastAckedEventTimeMs),
    lakeFreshnessS: lag(c.newestCommittedEventTimeMs),
  };
}

/**
 * Runs broker, producer and consumer in this process until the signal aborts or,
 * with `--max-events`, until everything produced is in the lake.
 *
 * @param config the merged configuration
 * @param options logger, stop signal and clock
 * @returns the final counters
 * @throws whatever stopped the producer or the consumer (for example a `UsageError`)
 */
export async function runPipeline(
  config: PipelineConfig,
  options: RunPipelineOptions,
): Promise<PipelineStats> {
  const { log, signal } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const broker = await startBroker({
    dataDir: config.brokerDataDir,
    port: config.brokerPort,
    partitions: config.brokerPartitions,
    maxConnections: config.brokerMaxConnections,
    headerTimeoutMs: config.brokerHeaderTimeoutMs,
    bodyIdleTimeoutMs: config.brokerBodyIdleTimeoutMs,
    maxBodyBytes: config.brokerMaxBodyBytes,
    maxBufferedBytes: config.brokerMaxBufferedBytes,
    maxTopics: config.brokerMaxTopics,
    maxPartitions: config.brokerMaxPartitions,
    maxOpenPartitions: config.brokerMaxOpenPartitions,
    maxInstances: config.brokerMaxInstances,
    maxInstancesPerGroup: config.brokerMaxInstancesPerGroup,
    log: log.child("broker"),
  }).catch((error) => {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Cannot start the local broker: port ${config.brokerPort} is in use; stop the other ` +
          "process or pick another port with --broker-port (0 picks a free one)",
        { cause: error },
      );
    }
    throw error;
  });
  options.onBrokerReady?.(broker.url, () => broker.stats());
  const restUrl = new URL(broker.url.href);
  const stats = options.stats ?? createPipelineStats(clock.now());
  const producerStop = new AbortController();
  const consumerStop = new AbortController();
  const stopAll = () => {
    producerStop.abort(signal.reason);
    consumerStop.abort(signal.reason);
  };
  signal.addEventListener("abort", stopAll, { once: true });
  const progressStop = new AbortController();
  const progress = (async () => {
    if (config.progressIntervalMs <= 0) return;
    while (await sleepUnlessAborted(clock, config.progressIntervalMs, progressStop.signal)) {
      log.info("progress", pipelineProgress(stats, clock.now()));
    }
  })();

  // the embedded broker: plain loopback HTTP without credentials, produced to with v2 (which
  // creates the topic)
  const embedded = {
    kafkaRestUrl: restUrl,
    kafkaRestUsername: undefined,
    kafkaRestPassword: undefined,
    kafkaRestToken: undefined,
    kafkaRestCaFile: undefined,
    kafkaRestCertFile: undefined,
    kafkaRestKeyFile: undefined,
  };
  const producerConfig: ProducerConfig = Object.freeze({
    ...config,
    ...embedded,
    kafkaRestApi: "v2",
    kafkaRestClusterId: undefined,
    progressIntervalMs: 0,
  });
  const consumerConfig: ConsumerConfig = Object.freeze({
    ...config,
    ...embedded,
    progressIntervalMs: 0,
    consumerUntilIdleMs: undefined,
  });
  const producing = runProducer(producerConfig, {
    log: log.child("producer"),
    signal: producerStop.signal,
    stats: stats.producer,
  });
  const consuming = runConsumer(consumerConfig, {
    log: log.child("consumer"),
    signal: consumerStop.signal,
    stats: stats.consumer,
  });
  consuming.catch(() => producerStop.abort());
  try {
    try {
      await producing;
    } catch (error) {
      consumerStop.abort();
      await consuming.catch(() => {});
      throw error;
    }
    if (!signal.aborted) {
      // The producer stopped by itself (--max-events): let the consumer read what was produced.
      const deadline = clock.now() + config.catchUpTimeoutMs;
      while (
        stats.consumer.recordsIn + stats.consumer.recordsSkipped < stats.producer.eventsProduced &&
        clock.now() < deadline &&
        await sleepUnlessAborted(clock, 100, consumerStop.signal)
      );
      consumerStop.abort();
    }
    await consuming;
    log.info("pipeline stopped", pipelineProgress(stats, clock.now()));
    return stats;
  } finally {
    signal.removeEventListener("abort", stopAll);
    progressStop.abort();
    await progress;
    await broker.close();
  }
}
