/**
 * The options every program that talks to the Kafka REST Proxy shares: where
 * the proxy is, which dialect it speaks, the topic, and how to reach a proxy
 * that wants credentials (HTTP Basic or a bearer token) or TLS with a private
 * CA or a client certificate.
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

/**
 * How to authenticate to the REST Proxy and verify it: `KAFKA_REST_USERNAME` /
 * `KAFKA_REST_PASSWORD` (HTTP Basic), `KAFKA_REST_TOKEN` (bearer), `KAFKA_REST_CA_FILE`,
 * `KAFKA_REST_CERT_FILE` and `KAFKA_REST_KEY_FILE` (TLS).
 */
export const KAFKA_REST_ACCESS_OPTIONS = {
  kafkaRestUsername: stringOption<string | undefined>({
    env: "KAFKA_REST_USERNAME",
    description:
      "user for HTTP Basic authentication to the REST Proxy (Confluent Cloud: the API key)",
    default: undefined,
  }),
  kafkaRestPassword: stringOption<string | undefined>({
    env: "KAFKA_REST_PASSWORD",
    description: "password for HTTP Basic authentication (Confluent Cloud: the API secret)",
    default: undefined,
  }),
  kafkaRestToken: stringOption<string | undefined>({
    env: "KAFKA_REST_TOKEN",
    description: "bearer token for the REST Proxy (OIDC), instead of a user and password",
    default: undefined,
  }),
  kafkaRestCaFile: stringOption<string | undefined>({
    env: "KAFKA_REST_CA_FILE",
    description: "PEM file of the CA that signed the REST Proxy's certificate (private CA)",
    default: undefined,
  }),
  kafkaRestCertFile: stringOption<string | undefined>({
    env: "KAFKA_REST_CERT_FILE",
    description: "PEM client certificate for mutual TLS (with KAFKA_REST_KEY_FILE)",
    default: undefined,
  }),
  kafkaRestKeyFile: stringOption<string | undefined>({
    env: "KAFKA_REST_KEY_FILE",
    description: "PEM private key of KAFKA_REST_CERT_FILE",
    default: undefined,
    // a file name, not a secret: print it
    secret: false,
  }),
};
