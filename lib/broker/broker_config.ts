/**
 * Option specs of the local broker (`broker.ts`), for {@linkcode parseConfig}.
 *
 * @module
 */
import type { OptionSpec } from "../cli/config.ts";
import { boolOption, intOption, stringOption } from "../cli/config_options.ts";
import { DEFAULT_BROKER_LIMITS } from "./broker_limits.ts";

const D = DEFAULT_BROKER_LIMITS;

/**
 * The broker's limits (see `broker_limits.ts`): flags and `BROKER_*` variables, also read by
 * `deno task start` for its embedded broker (see {@linkcode embeddedBrokerLimitOptions}).
 */
export const BROKER_LIMIT_OPTIONS = {
  maxConnections: intOption({
    env: "BROKER_MAX_CONNECTIONS",
    flag: "max-connections",
    description: "connections served at once; one more is answered 503 and closed",
    default: D.maxConnections,
    min: 1,
  }),
  headerTimeoutMs: intOption({
    env: "BROKER_HEADER_TIMEOUT_MS",
    flag: "header-timeout-ms",
    description: "a connection without a complete request head this long after its accept " +
      "or its last response is closed (idle keep-alive connections too)",
    default: D.headerTimeoutMs,
    min: 1,
  }),
  bodyIdleTimeoutMs: intOption({
    env: "BROKER_BODY_IDLE_TIMEOUT_MS",
    flag: "body-idle-timeout-ms",
    description: "longest pause between two chunks of a request body, then 408",
    default: D.bodyIdleTimeoutMs,
    min: 1,
  }),
  maxBodyBytes: intOption({
    env: "BROKER_MAX_BODY_BYTES",
    flag: "max-body-bytes",
    description: "largest request body, counted on the bytes read (chunked or not), then 413",
    default: D.maxBodyBytes,
    min: 1,
  }),
  maxBufferedBytes: intOption({
    env: "BROKER_MAX_BUFFERED_BYTES",
    flag: "max-buffered-bytes",
    description: "request-body bytes held at once by all requests together, then 503; " +
      "at least BROKER_MAX_BODY_BYTES",
    default: D.maxBufferedBytes,
    min: 1,
  }),
  maxTopics: intOption({
    env: "BROKER_MAX_TOPICS",
    flag: "max-topics",
    description: "topics; creating one more fails with 400 (40002)",
    default: D.maxTopics,
    min: 1,
  }),
  maxPartitions: intOption({
    env: "BROKER_MAX_PARTITIONS",
    flag: "max-partitions",
    description: "partitions of all topics together; a topic that would pass it fails with " +
      "400 (40002)",
    default: D.maxPartitions,
    min: 1,
  }),
  maxOpenPartitions: intOption({
    env: "BROKER_MAX_OPEN_PARTITIONS",
    flag: "max-open-partitions",
    description: "partitions whose files are open at once (two descriptors each); " +
      "the least recently used idle one is closed to open another",
    default: D.maxOpenPartitions,
    min: 1,
  }),
  maxInstances: intOption({
    env: "BROKER_MAX_INSTANCES",
    flag: "max-instances",
    description: "live consumer instances of the broker; creating one more answers 429 (42901)",
    default: D.maxInstances,
    min: 1,
  }),
  maxInstancesPerGroup: intOption({
    env: "BROKER_MAX_INSTANCES_PER_GROUP",
    flag: "max-instances-per-group",
    description: "live consumer instances of one group; one more answers 429 (42901)",
    default: D.maxInstancesPerGroup,
    min: 1,
  }),
};

/** {@linkcode BROKER_LIMIT_OPTIONS} as `deno task start` reads them: `broker…` fields. */
export type EmbeddedBrokerLimitOptions = {
  [K in keyof typeof BROKER_LIMIT_OPTIONS as `broker${Capitalize<K>}`]: OptionSpec<number>;
};

/**
 * The limit options for an embedded broker: the same variables, with fields prefixed
 * `broker` and flags prefixed `broker-` (`--broker-max-connections`).
 *
 * @returns the option specs
 */
export function embeddedBrokerLimitOptions(): EmbeddedBrokerLimitOptions {
  const out: Record<string, OptionSpec<number>> = {};
  for (const [key, spec] of Object.entries(BROKER_LIMIT_OPTIONS)) {
    out[`broker${key[0]!.toUpperCase()}${key.slice(1)}`] = { ...spec, flag: `broker-${spec.flag}` };
  }
  return out as EmbeddedBrokerLimitOptions;
}

/**
 * Who may call the broker and over what: HTTP Basic users, bearer tokens and HTTPS (see
 * `broker_access.ts`, which reads the files at start). Paths only; the launcher grants read
 * access to exactly these files.
 */
export const BROKER_ACCESS_OPTIONS = {
  usersFile: stringOption<string | undefined>({
    env: "BROKER_USERS_FILE",
    flag: "users-file",
    description: "file of user:password or user:pbkdf2-sha256:… lines; when set, every request " +
      "needs HTTP Basic credentials of one of them (or a token of BROKER_TOKENS_FILE), else 401",
    default: undefined,
  }),
  tokensFile: stringOption<string | undefined>({
    env: "BROKER_TOKENS_FILE",
    flag: "tokens-file",
    description: "file of bearer tokens (plain or {SHA256}<base64>); when set, every request " +
      "needs Authorization: Bearer with one of them (or Basic credentials), else 401",
    default: undefined,
    // a file name, not a secret: print it
    secret: false,
  }),
  tlsCertFile: stringOption<string | undefined>({
    env: "BROKER_TLS_CERT_FILE",
    flag: "tls-cert-file",
    description: "PEM certificate chain: serve HTTPS (with BROKER_TLS_KEY_FILE)",
    default: undefined,
  }),
  tlsKeyFile: stringOption<string | undefined>({
    env: "BROKER_TLS_KEY_FILE",
    flag: "tls-key-file",
    description: "PEM private key of BROKER_TLS_CERT_FILE",
    default: undefined,
    // a file name, not a secret: print it
    secret: false,
  }),
};

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
  ...BROKER_ACCESS_OPTIONS,
  ...BROKER_LIMIT_OPTIONS,
};
