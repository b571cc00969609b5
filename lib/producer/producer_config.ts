/**
 * The producer's configuration: every option as an environment variable and a
 * CLI flag (see {@linkcode PRODUCER_OPTIONS}), parsed by `lib/cli/config.ts`.
 *
 * @module
 */
import type { ResolvedConfig } from "../cli/config.ts";
import {
  boolOption,
  enumListOption,
  enumOption,
  httpUrlOption,
  instantOption,
  intOption,
  listOption,
  optionalIntOption,
  stringOption,
} from "../cli/config_options.ts";
import { RECENTCHANGE_TYPES, type RecentChangeType } from "./event_filter.ts";
import { KAFKA_REST_ACCESS_OPTIONS, KAFKA_REST_OPTIONS } from "../rest_proxy/kafka_rest_options.ts";
import { REST_API_OPTIONS } from "../rest_proxy/rest_api_options.ts";
import { RECORD_KEY_MODES, type RecordKeyMode } from "./record_key.ts";

/** The public Wikimedia recentchange stream. */
export const DEFAULT_STREAM_URL = "https://stream.wikimedia.org/v2/stream/recentchange";

/** The default `User-Agent`; users should replace the contact placeholder (`USER_AGENT`). */
export const DEFAULT_USER_AGENT =
  "wikistream/0.1 (https://github.com/wikistream/wikistream; set USER_AGENT to your contact) deno/2";

/**
 * What the producer suggests when the stream cannot be reached: the offline first run
 * with the bundled sample (`deno task replay`, default port 8090; a test keeps this text,
 * the replay defaults and the sample file in step).
 */
export const OFFLINE_HINT: string =
  "check the network, or set --stream-url; to run offline, serve the " +
  "bundled sample with `deno task replay --loop samples/recentchange-sample.ndjson.gz` and " +
  "start with --stream-url http://127.0.0.1:8090/v2/stream/recentchange";

/**
 * The producer options that say how to reach a remote REST Proxy (credentials, TLS files, the
 * v2 or v3 API): `deno task start`, which produces to its own embedded broker, leaves them out.
 */
export const REMOTE_PROXY_OPTIONS: typeof REST_API_OPTIONS & typeof KAFKA_REST_ACCESS_OPTIONS = {
  ...REST_API_OPTIONS,
  ...KAFKA_REST_ACCESS_OPTIONS,
};

/** Every producer option. */
export const PRODUCER_OPTIONS = {
  streamUrl: httpUrlOption({
    env: "STREAM_URL",
    description: "the Wikimedia EventStreams URL to read (SSE)",
    default: new URL(DEFAULT_STREAM_URL),
  }),
  ...KAFKA_REST_OPTIONS,
  ...REMOTE_PROXY_OPTIONS,
  stateDir: stringOption<string>({
    env: "STATE_DIR",
    description: "directory for the resume state and the dead-letter file",
    default: ".wikistream/producer",
  }),
  userAgent: stringOption<string>({
    env: "USER_AGENT",
    description: "User-Agent sent to Wikimedia: name/version (contact URL or e-mail)",
    default: DEFAULT_USER_AGENT,
  }),
  produceKey: enumOption<RecordKeyMode>({
    env: "PRODUCE_KEY",
    description: "record key: page (server_name/title), wiki, id (meta.id) or none",
    default: "page",
    values: RECORD_KEY_MODES,
    secret: false,
  }),
  batchMaxRecords: intOption({
    env: "PRODUCE_BATCH_MAX_RECORDS",
    description: "most records in one produce request",
    default: 1000,
    min: 1,
    max: 100_000,
  }),
  batchMaxBytes: intOption({
    env: "PRODUCE_BATCH_MAX_BYTES",
    description: "most bytes of event JSON in one produce request (flush before exceeding)",
    default: 1024 * 1024,
    min: 1024,
  }),
  lingerMs: intOption({
    env: "PRODUCE_LINGER_MS",
    description: "longest time an event waits for its batch to fill",
    default: 200,
    max: 60_000,
  }),
  maxInFlight: intOption({
    env: "PRODUCE_MAX_IN_FLIGHT",
    description: "produce requests outstanding at once (1 keeps per-key order and bounds " +
      "crash duplicates to one batch)",
    default: 1,
    min: 1,
    max: 64,
  }),
  queueMaxBatches: intOption({
    env: "PRODUCE_QUEUE_MAX_BATCHES",
    description: "full batches waiting to be sent before the stream reader pauses",
    default: 4,
    min: 1,
    max: 1000,
  }),
  requestTimeoutMs: intOption({
    env: "PRODUCE_REQUEST_TIMEOUT_MS",
    description: "deadline of one produce request",
    default: 30_000,
    min: 100,
  }),
  retryBackoffMs: intOption({
    env: "PRODUCE_RETRY_BACKOFF_MS",
    description: "first delay before retrying a failed produce",
    default: 500,
    min: 1,
  }),
  retryBackoffMaxMs: intOption({
    env: "PRODUCE_RETRY_BACKOFF_MAX_MS",
    description: "largest delay between produce retries",
    default: 30_000,
    min: 1,
  }),
  drainTimeoutMs: intOption({
    env: "PRODUCE_DRAIN_TIMEOUT_MS",
    description: "on stop, how long to keep retrying unacknowledged batches before giving up " +
      "(they are re-read on restart)",
    default: 20_000,
  }),
  maxEvents: optionalIntOption({
    env: "PRODUCE_MAX_EVENTS",
    flag: "max-events",
    description: "stop after this many events are produced and acknowledged",
    min: 1,
  }),
  since: instantOption({
    env: "STREAM_SINCE",
    flag: "since",
    description: "start from this time (ISO-8601 or epoch ms) instead of the saved position",
    default: undefined,
  }),
  fromNow: boolOption({
    env: "STREAM_FROM_NOW",
    flag: "from-now",
    description: "start at the live end of the stream, ignoring the saved position",
    default: false,
  }),
  wikis: listOption({
    env: "FILTER_WIKIS",
    flag: "wikis",
    description: "produce only these wikis (comma-separated database names, e.g. enwiki); " +
      "a name no event matched in the first 10000 events is reported once",
    default: [],
  }),
  types: enumListOption<RecentChangeType>({
    env: "FILTER_TYPES",
    flag: "types",
    description:
      "produce only these event types (comma-separated: edit,new,log,categorize,external)",
    default: [],
    values: RECENTCHANGE_TYPES,
  }),
  excludeBots: boolOption({
    env: "FILTER_EXCLUDE_BOTS",
    flag: "exclude-bots",
    description: "drop events made by bots",
    default: false,
  }),
  idleTimeoutMs: intOption({
    env: "STREAM_IDLE_TIMEOUT_MS",
    description: "reconnect when the stream delivers nothing for this long",
    default: 30_000,
    min: 100,
  }),
  reconnectBackoffMs: intOption({
    env: "STREAM_RECONNECT_BACKOFF_MS",
    description: "first delay before reconnecting to the stream",
    default: 1000,
    min: 1,
  }),
  reconnectBackoffMaxMs: intOption({
    env: "STREAM_RECONNECT_BACKOFF_MAX_MS",
    description: "largest delay between stream reconnects",
    default: 60_000,
    min: 1,
  }),
  resumeMarginMs: intOption({
    env: "STREAM_RESUME_MARGIN_MS",
    description: "on start, how far the saved position's timestamps are moved back (replays " +
      "are dropped by meta.id)",
    default: 10_000,
  }),
  reconnectMarginMs: intOption({
    env: "STREAM_RECONNECT_MARGIN_MS",
    description: "on a reconnect, how far the last received position is moved back (at most " +
      "half of what the previous connection advanced, so it always progresses)",
    default: 1000,
    min: 1,
  }),
  dedupeIds: intOption({
    env: "STREAM_DEDUPE_IDS",
    description: "how many recent meta.ids are remembered to drop replayed events",
    default: 20_000,
    min: 100,
    max: 10_000_000,
  }),
  progressIntervalMs: intOption({
    env: "PROGRESS_INTERVAL_MS",
    description: "interval of the progress log line (0 turns it off)",
    default: 10_000,
  }),
};

/** The resolved producer configuration. */
export type ProducerConfig = ResolvedConfig<typeof PRODUCER_OPTIONS>;
