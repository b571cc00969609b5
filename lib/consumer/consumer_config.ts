/**
 * The consumer's configuration: every option as an environment variable and a
 * CLI flag (see {@linkcode CONSUMER_OPTIONS}), parsed by `lib/cli/config.ts`.
 *
 * @module
 */
import { ConfigError, type OptionSpec, type ResolvedConfig } from "../cli/config.ts";
import {
  boolOption,
  enumOption,
  intOption,
  optionalIntOption,
  stringOption,
} from "../cli/config_options.ts";
import { KAFKA_REST_ACCESS_OPTIONS, KAFKA_REST_OPTIONS } from "../rest_proxy/kafka_rest_options.ts";
import { LAKE_STORE_OPTIONS } from "../object_store/lake_store_options.ts";
import { PARQUET_COMPRESSIONS, type ParquetCompression } from "../lake/parquet_compression.ts";
import { restFlavorProblem } from "../rest_proxy/rest_flavor.ts";
import { MIN_MEMORY_MB } from "./memory_budget.ts";

const MIB = 1024 * 1024;

function rateOption(o: { env: string; description: string; default: number }): OptionSpec<number> {
  return {
    env: o.env,
    description: o.description,
    default: o.default,
    parse(raw) {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 1) {
        throw new Error("a number greater than 0 and at most 1 (1 disables the check)");
      }
      return n;
    },
  };
}

/** Every consumer option. */
export const CONSUMER_OPTIONS = {
  ...KAFKA_REST_OPTIONS,
  ...KAFKA_REST_ACCESS_OPTIONS,
  consumerGroup: stringOption<string>({
    env: "CONSUMER_GROUP",
    description: "consumer group: any number of consumer processes in one group write one " +
      "lake, each taking the partitions the proxy assigns it",
    default: "wikistream-lake",
  }),
  consumerInstanceId: {
    env: "CONSUMER_INSTANCE_ID",
    description: "this process's consumer instance name in the group, stable across restarts " +
      "so a restarted consumer takes its dead instance's partitions at once " +
      "(default: wikistream-<hostname>-<n>, n the lowest slot free on this host)",
    default: undefined,
    parse(raw: string): string | undefined {
      if (!/^[A-Za-z0-9._-]{1,200}$/.test(raw)) {
        throw new Error("letters, digits, '.', '_' and '-' (at most 200)");
      }
      return raw;
    },
  } as OptionSpec<string | undefined>,
  lakeSingleWriter: boolOption({
    env: "LAKE_SINGLE_WRITER",
    description: "allow a lake store that ignores conditional creates (If-None-Match): only " +
      "safe with exactly one consumer process per lake, since nothing then fences a second",
    default: false,
  }),
  ...LAKE_STORE_OPTIONS,
  parquetCompression: enumOption<ParquetCompression>({
    env: "PARQUET_COMPRESSION",
    description: "Parquet codec: zstd, snappy, gzip, lz4, brotli or none",
    default: "zstd",
    values: PARQUET_COMPRESSIONS,
  }),
  flushMaxRows: intOption({
    env: "FLUSH_MAX_ROWS",
    description: "seal the open files when one of them reaches this many rows (the Parquet " +
      "encoder's memory grows to fit the largest file: about 1.6 KB per row)",
    default: 50_000,
    min: 1,
  }),
  consumerMemoryMb: intOption({
    env: "CONSUMER_MEMORY_MB",
    description: "the memory the consumer may use, in MiB (a container's limit): " +
      "MAX_BUFFER_BYTES, FLUSH_MAX_BYTES and CONSUMER_MAX_BYTES default to shares of it, so " +
      "that the peak stays near 70% of it; more memory, larger files",
    default: 512,
    min: MIN_MEMORY_MB,
  }),
  flushMaxBytes: optionalIntOption({
    env: "FLUSH_MAX_BYTES",
    description: "seal the open files when one of them holds this many bytes IN MEMORY " +
      "(Arrow buffers before encoding, about 30 times its Parquet size; default: half of " +
      "MAX_BUFFER_BYTES, at most 256 MiB)",
    min: 1024,
  }),
  flushIntervalMs: intOption({
    env: "FLUSH_INTERVAL_MS",
    description: "seal the open files at the latest this long after their first record",
    default: 60_000,
    min: 100,
  }),
  maxOpenFiles: intOption({
    env: "MAX_OPEN_FILES",
    description: "seal when an event needs a new hour file and this many are open",
    default: 24,
    min: 1,
  }),
  maxBufferBytes: optionalIntOption({
    env: "MAX_BUFFER_BYTES",
    description: "in-memory budget of all open files (their allocated buffers); reaching it " +
      "seals them before the next record is taken (default: from CONSUMER_MEMORY_MB, " +
      "44 MiB at 512, 223 MiB at 1024)",
    min: 1024,
  }),
  dlqMaxErrorRate: rateOption({
    env: "DLQ_MAX_ERROR_RATE",
    description: "stop (exit 1) when this share of the recent records (decaying) is dead-lettered",
    default: 0.5,
  }),
  dedupeWindow: intOption({
    env: "DEDUPE_WINDOW",
    description: "event ids of the newest units kept to drop producer-side duplicates " +
      "(meta.id); shared by the partitions a consumer holds, each keeping its share",
    default: 200_000,
    min: 0,
  }),
  consumerAutoOffsetReset: enumOption<"earliest" | "latest">({
    env: "CONSUMER_AUTO_OFFSET_RESET",
    description: "where a new group starts: earliest or latest",
    default: "earliest",
    values: ["earliest", "latest"],
  }),
  consumerMaxBytes: optionalIntOption({
    env: "CONSUMER_MAX_BYTES",
    description: "max_bytes of one read (keep it far above the largest record; one parsed " +
      "read is held in memory; default: 2 MiB, 1 MiB when MAX_BUFFER_BYTES is under 64 MiB)",
    min: 64 * 1024,
  }),
  consumerReadTimeoutMs: intOption({
    env: "CONSUMER_READ_TIMEOUT_MS",
    description: "longest wait of one read (timeout and consumer.request.timeout.ms)",
    default: 1000,
    min: 10,
    max: 25_000,
  }),
  consumerFetchMinBytes: intOption({
    env: "CONSUMER_FETCH_MIN_BYTES",
    description: "fetch.min.bytes of the instance: a read returns once this much is ready",
    default: MIB,
    min: -1,
    max: 10_000_000,
  }),
  consumerUseBaseUri: boolOption({
    env: "CONSUMER_USE_BASE_URI",
    description: "call the instance at the proxy's base_uri instead of KAFKA_REST_URL",
    default: false,
  }),
  consumerHeartbeatMs: intOption({
    env: "CONSUMER_HEARTBEAT_MS",
    description: "keep-alive call interval while uploading (below the proxy's instance timeout)",
    default: 3000,
    min: 100,
  }),
  consumerUntilIdleMs: optionalIntOption({
    env: "CONSUMER_UNTIL_IDLE_MS",
    flag: "until-idle",
    description: "exit 0 after sealing once no new record arrived for this long (batch mode)",
    min: 1,
  }),
  progressIntervalMs: intOption({
    env: "PROGRESS_INTERVAL_MS",
    description: "interval of the progress log line (0 disables it)",
    default: 30_000,
    min: 0,
  }),
  testPauseAt: stringOption<string | undefined>({
    env: "WIKISTREAM_TEST_PAUSE_AT",
    description:
      "TEST ONLY: pauses that widen crash windows, e.g. after-manifest:200,after-upload:200",
    default: undefined,
  }),
};

/**
 * The folder of the locks that give consumers on one host distinct default instance names:
 * `$TMPDIR/wikistream-consumers` (`/tmp/wikistream-consumers` without `TMPDIR`).
 *
 * @param env reads an environment variable
 * @returns the folder
 */
export function instanceLockDir(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  return `${(env("TMPDIR") || "/tmp").replace(/\/+$/, "")}/wikistream-consumers`;
}

/** The resolved consumer configuration. */
export type ConsumerConfig = ResolvedConfig<typeof CONSUMER_OPTIONS>;

/**
 * Checks combinations of options that are invalid together (each option alone is valid).
 *
 * @param config the parsed consumer configuration
 * @throws {ConfigError} naming the variables, for example `CONSUMER_AUTO_OFFSET_RESET=latest`
 *   with `KAFKA_REST_FLAVOR=redpanda`
 */
export function validateConsumerConfig(
  config: Pick<ConsumerConfig, "kafkaRestFlavor" | "consumerAutoOffsetReset">,
): void {
  const problem = restFlavorProblem(config.kafkaRestFlavor, config.consumerAutoOffsetReset);
  if (problem) throw new ConfigError([problem]);
}
