/**
 * Option specs of the local broker (`broker.ts`), for {@linkcode parseConfig}.
 *
 * @module
 */
import { boolOption, intOption, stringOption } from "../cli/config_options.ts";

/** The broker's options: flags and `BROKER_*` environment variables. */
export const BROKER_OPTIONS = {
  port: intOption({
    env: "BROKER_PORT",
    flag: "port",
    description: "TCP port to listen on (0 picks a free port)",
    default: 8082,
    max: 65535,
  }),
  host: stringOption<string>({
    env: "BROKER_HOST",
    flag: "host",
    description: "address to bind",
    default: "127.0.0.1",
  }),
  dataDir: stringOption<string>({
    env: "BROKER_DATA_DIR",
    flag: "data-dir",
    description: "directory of the durable topic and offset logs",
    default: ".wikistream/broker",
  }),
  partitions: intOption({
    env: "BROKER_PARTITIONS",
    flag: "partitions",
    description: "partition count of topics created on first produce",
    default: 3,
    min: 1,
    max: 1000,
  }),
  instanceTimeoutMs: intOption({
    env: "BROKER_INSTANCE_TIMEOUT_MS",
    flag: "instance-timeout-ms",
    description: "consumer.instance.timeout.ms: idle consumer instances are destroyed after this",
    default: 300_000,
    min: 1,
  }),
  requestTimeoutMs: intOption({
    env: "BROKER_REQUEST_TIMEOUT_MS",
    flag: "request-timeout-ms",
    description: "consumer.request.timeout.ms: server default of the longest read wait",
    default: 1000,
  }),
  advertisedUrl: stringOption<string | undefined>({
    env: "BROKER_ADVERTISED_URL",
    flag: "advertised-url",
    description: "base URL put into consumer base_uri (default: from the request's Host header)",
    default: undefined,
  }),
  maxRecordBytes: intOption({
    env: "BROKER_MAX_RECORD_BYTES",
    flag: "max-record-bytes",
    description: "largest record (key + value bytes) accepted, like Kafka's max.request.size; " +
      "a bigger one fails per record with 50002",
    default: 1_048_576,
    min: 1,
  }),
  faults: boolOption({
    env: "BROKER_FAULTS",
    flag: "faults",
    description: "enable the /_admin fault-injection endpoints (tests only)",
    default: false,
  }),
};
