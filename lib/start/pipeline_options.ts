/**
 * The options of `deno task start`, in a module of their own so that reading
 * them (the launcher does, to grant the configured paths) loads no pipeline code.
 *
 * @module
 */
import { embeddedBrokerLimitOptions } from "../broker/broker_config.ts";
import { intOption, stringOption } from "../cli/config_options.ts";
import { CONSUMER_OPTIONS } from "../consumer/consumer_config.ts";
import { PRODUCER_OPTIONS, REMOTE_PROXY_OPTIONS } from "../producer/producer_config.ts";
import type { OptionSpecs } from "../cli/config.ts";

/** Options that describe a remote REST Proxy (access, API): start runs its own broker. */
type RemoteProxyKey = keyof typeof REMOTE_PROXY_OPTIONS;
const REMOTE_PROXY_KEYS: readonly string[] = Object.keys(REMOTE_PROXY_OPTIONS);

function withoutRemoteProxy<S extends OptionSpecs>(specs: S): Omit<S, RemoteProxyKey> {
  return Object.fromEntries(
    Object.entries(specs).filter(([key]) => !REMOTE_PROXY_KEYS.includes(key)),
  ) as Omit<S, RemoteProxyKey>;
}

/**
 * Options of `deno task start`: the producer's and the consumer's, plus the embedded broker's.
 * The REST Proxy access and API options are not among them: start's producer and consumer talk
 * to the embedded broker only (so a `.env` made for a remote proxy does not get in the way).
 */
export const PIPELINE_OPTIONS = {
  ...withoutRemoteProxy(PRODUCER_OPTIONS),
  ...withoutRemoteProxy(CONSUMER_OPTIONS),
  progressIntervalMs: intOption({
    env: "PROGRESS_INTERVAL_MS",
    description: "interval of the combined progress line (0 turns it off)",
    default: 10_000,
  }),
  brokerPort: intOption({
    env: "BROKER_PORT",
    flag: "broker-port",
    description: "port of the embedded local broker (0 picks a free port)",
    default: 8082,
    max: 65535,
  }),
  brokerDataDir: stringOption<string>({
    env: "BROKER_DATA_DIR",
    flag: "broker-data-dir",
    description: "directory of the embedded broker's durable logs",
    default: ".wikistream/broker",
  }),
  brokerPartitions: intOption({
    env: "BROKER_PARTITIONS",
    flag: "partitions",
    description: "partitions of the topic when the embedded broker creates it",
    default: 3,
    min: 1,
    max: 1000,
  }),
  ...embeddedBrokerLimitOptions(),
  catchUpTimeoutMs: intOption({
    env: "START_CATCH_UP_TIMEOUT_MS",
    flag: "catch-up-timeout-ms",
    description: "after --max-events, how long the consumer may take to read what was produced",
    default: 60_000,
  }),
};
