/**
 * The options every program that talks to the Kafka REST Proxy shares: where
 * the proxy is, which dialect it speaks, and the topic.
 *
 * @module
 */
import { httpUrlOption, stringOption } from "../cli/config_options.ts";
import { REST_FLAVOR_OPTION } from "./rest_flavor.ts";

/** `KAFKA_REST_URL`, `KAFKA_REST_FLAVOR` and `KAFKA_TOPIC`. */
export const KAFKA_REST_OPTIONS = {
  kafkaRestUrl: httpUrlOption({
    env: "KAFKA_REST_URL",
    description: "base URL of the Kafka REST Proxy (v2 API) or the local broker",
    default: new URL("http://localhost:8082"),
  }),
  kafkaRestFlavor: REST_FLAVOR_OPTION,
  kafkaTopic: stringOption<string>({
    env: "KAFKA_TOPIC",
    description: "Kafka topic between the producer and the consumer",
    default: "wikimedia-changes",
  }),
};
