/**
 * {@linkcode openRecordSink}: the REST Proxy client the producer sends batches to, chosen by
 * `KAFKA_REST_API`: the v2 client (`KAFKA_REST_FLAVOR` decides how its answers are read) or
 * the v3 streaming-produce client (Confluent Cloud), both behind {@linkcode RecordSink}.
 *
 * @module
 */
import { ConfigError } from "../cli/config.ts";
import { restApiProblem } from "../rest_proxy/rest_api_options.ts";
import { type RecordSink, RestProducerClient } from "../rest_proxy/rest_producer_client.ts";
import { RestV3ProducerClient } from "../rest_proxy/rest_v3_producer_client.ts";
import type { ProducerConfig } from "./producer_config.ts";

/**
 * Builds the producer's record sink.
 *
 * @param config the producer configuration (proxy URL, API, cluster id, topic, timeout)
 * @param fetchImpl the fetch implementation @default globalThis.fetch
 * @returns the sink
 * @throws {ConfigError} for `KAFKA_REST_API=v3` with `KAFKA_REST_FLAVOR=redpanda`
 */
export function openRecordSink(
  config: Pick<
    ProducerConfig,
    | "kafkaRestUrl"
    | "kafkaRestApi"
    | "kafkaRestClusterId"
    | "kafkaRestFlavor"
    | "kafkaTopic"
    | "requestTimeoutMs"
  >,
  fetchImpl?: typeof fetch,
): RecordSink {
  const problem = restApiProblem(config.kafkaRestApi, config.kafkaRestFlavor);
  if (problem) throw new ConfigError([problem]);
  const fetchOption = fetchImpl ? { fetch: fetchImpl } : {};
  if (config.kafkaRestApi === "v3") {
    return new RestV3ProducerClient({
      baseUrl: config.kafkaRestUrl,
      topic: config.kafkaTopic,
      requestTimeoutMs: config.requestTimeoutMs,
      ...(config.kafkaRestClusterId ? { clusterId: config.kafkaRestClusterId } : {}),
      ...fetchOption,
    });
  }
  return new RestProducerClient({
    baseUrl: config.kafkaRestUrl,
    topic: config.kafkaTopic,
    requestTimeoutMs: config.requestTimeoutMs,
    flavor: config.kafkaRestFlavor,
    ...fetchOption,
  });
}
