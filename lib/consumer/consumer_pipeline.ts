/**
 * The consumer pipeline: REST Proxy consumer group → lake units → Parquet in an
 * object store, exactly once per Kafka record.
 *
 * Any number of consumer processes in one group write one lake. Units cover one
 * partition each and are numbered per partition; a unit's place is claimed by a
 * conditional create of its manifest, so when two processes believe they own a
 * partition (a rebalance, an expired instance that wakes up) the first claim wins
 * and the other discards its unit. Invariant: per partition, the newest manifest
 * says the last offset whose record is in the lake, and every record up to it is
 * in exactly one unit. Units of a partition are published in sequence (claim,
 * objects, offset commit, pointer); taking a partition on rebuilds an incomplete
 * newest unit byte for byte from the topic before any new unit, and every record
 * at or below the lake's position is skipped, whatever the proxy replays. Kafka's
 * committed offsets only save re-reading; the lake is the truth.
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import { redactUrl } from "../cli/redact_url.ts";
import { CommitProtocol, type TestPauses } from "../lake/commit_protocol.ts";
import { LakeLayout } from "../lake/lake_layout.ts";
import type { ObjectStore } from "../object_store/object_store.ts";
import { openObjectStore } from "../object_store/open_object_store.ts";
import { formatOutputLocation } from "../object_store/output_url.ts";
import { openRestAccess } from "../rest_proxy/rest_access.ts";
import { type ConsumerClient, RestConsumerClient } from "../rest_proxy/rest_consumer_client.ts";
import type { ConsumeContext, ConsumeState } from "./consume_context.ts";
import { consumeLoop } from "./consume_loop.ts";
import { type ConsumerConfig, instanceLockDir, validateConsumerConfig } from "./consumer_config.ts";
import { defaultInstanceName } from "./instance_name.ts";
import { memoryBudget } from "./memory_budget.ts";
import { ConsumerSession } from "./consumer_session.ts";
import { type ConsumerStats, createConsumerStats, progressProperties } from "./consumer_stats.ts";
import { prepareLake } from "./lake_preflight.ts";

/** Dependencies of {@linkcode runConsumer}. */
export interface RunConsumerOptions {
  /** Logger. */
  log: Logger;
  /** Stops reading; the pipeline then seals, uploads, commits and returns. */
  signal: AbortSignal;
  /** Fetch for the REST Proxy client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Lake store; opened from `OUTPUT_URL` when absent (with an empty key prefix when given). */
  store?: ObjectStore;
  /** Consumer client; a {@linkcode RestConsumerClient} when absent. */
  client?: ConsumerClient;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Time allowed to seal and upload after `signal` aborts. @default 25000 */
  drainTimeoutMs?: number;
  /** Stats object to update (so callers can watch progress). @default a new one */
  stats?: ConsumerStats;
  /** Longest wait for the records of an incomplete unit during a rebuild (longer than the
   * proxy instance timeout, since a crashed instance may hold partitions until it expires).
   * @default 600000 */
  redoStallMs?: number;
}

/**
 * Parses `WIKISTREAM_TEST_PAUSE_AT` (`after-manifest:200,after-file:50,after-upload:200`).
 *
 * @param text the option value
 * @returns the pauses
 * @throws {TypeError} for unknown names
 */
export function parseTestPauses(text: string | undefined): TestPauses {
  const pauses: TestPauses = {};
  for (const part of (text ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, ms] = part.split(":");
    const value = Number(ms ?? "0");
    if (name === "after-manifest") pauses.afterManifest = value;
    else if (name === "after-file") pauses.afterFile = value;
    else if (name === "after-upload") pauses.afterUpload = value;
    else throw new TypeError(`Unknown WIKISTREAM_TEST_PAUSE_AT entry "${part}"`);
  }
  return pauses;
}

/** Time allowed to delete the consumer instance once the work is over or abandoned. */
const CLOSE_TIMEOUT_MS = 4000;

/**
 * Says whether `error` only reports that one of `signals` aborted (a stop request or the
 * drain deadline), as opposed to a failure that happened to coincide with the stop.
 *
 * @param error the error thrown
 * @param signals the stop and drain signals
 * @returns true when the error is an abort
 */
export function isAbortError(error: unknown, signals: readonly AbortSignal[]): boolean {
  for (let e = error, depth = 0; e !== undefined && depth < 8; depth++) {
    if (signals.some((s) => s.aborted && s.reason === e)) return true;
    if (e instanceof DOMException && (e.name === "AbortError" || e.name === "TimeoutError")) {
      return true;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/**
 * Runs the consumer until `signal` aborts or, with `consumerUntilIdleMs`, until the topic is
 * idle; then seals, uploads and commits what it holds and deletes the consumer instance.
 *
 * @param config the consumer configuration
 * @param options logger, stop signal and injectable dependencies
 * @returns the final stats
 * @throws when the lake store refuses access, the error budget is exhausted, or an
 *   incomplete unit cannot be rebuilt
 */
export async function runConsumer(
  config: ConsumerConfig,
  options: RunConsumerOptions,
): Promise<ConsumerStats> {
  const { log, signal } = options;
  validateConsumerConfig(config);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const stats = options.stats ?? createConsumerStats();
  const memory = memoryBudget(config);
  // credentials and TLS first: a bad option stops the consumer before it touches the lake
  using access = await openRestAccess(config, options.fetch ? { fetch: options.fetch } : {});
  const topic = config.kafkaTopic;
  let store = options.store;
  let prefix = "";
  let where = store?.description ?? "";
  if (!store) {
    const opened = openObjectStore(config.outputUrl, {
      region: config.awsRegion,
      endpoint: config.s3Endpoint,
      forcePathStyle: config.s3ForcePathStyle,
      ...(config.awsCaBundle === undefined ? {} : { caBundleFile: config.awsCaBundle }),
      credentials: config, // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
    }, log);
    store = opened.store;
    prefix = opened.prefix;
    where = formatOutputLocation(opened.location);
  }
  const layout = new LakeLayout({ prefix, topic });
  const protocol = new CommitProtocol({
    store,
    layout,
    log: log.child("lake"),
    clock,
    pauses: parseTestPauses(config.testPauseAt),
    onRetry: () => stats.storeRetries++,
  });
  const named = config.consumerInstanceId === undefined
    ? await defaultInstanceName(config.consumerGroup, instanceLockDir())
    : undefined;
  const owner = config.consumerInstanceId ?? named!.name;
  const client = options.client ?? new RestConsumerClient({
    baseUrl: access.url,
    group: config.consumerGroup,
    namePrefix: owner,
    instanceName: owner,
    onTakeover: () => stats.takeovers++,
    autoOffsetReset: config.consumerAutoOffsetReset,
    maxBytes: memory.consumerMaxBytes,
    readTimeoutMs: config.consumerReadTimeoutMs,
    fetchMinBytes: config.consumerFetchMinBytes,
    useBaseUri: config.consumerUseBaseUri,
    flavor: config.kafkaRestFlavor,
    fetch: access.fetch,
    log: log.child("rest"),
    clock,
  });
  const session = new ConsumerSession({
    client,
    topic,
    log: log.child("session"),
    heartbeatMs: config.consumerHeartbeatMs,
    clock,
    backoff: new Backoff({ initialMs: 200, maxMs: 10_000 }),
    onInstanceCreated: () => stats.instancesCreated++,
    flavor: config.kafkaRestFlavor,
  });
  // Sealing goes on after the stop signal, up to the drain timeout.
  const sealing = new AbortController();
  const drainTimeoutMs = options.drainTimeoutMs ?? 25_000;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const onStop = () => {
    drainTimer = setTimeout(
      () => sealing.abort(new Error("Cannot finish the last upload within the drain timeout")),
      drainTimeoutMs,
    );
  };
  if (signal.aborted) onStop();
  else signal.addEventListener("abort", onStop, { once: true });

  const ctx: ConsumeContext = {
    config,
    log,
    clock,
    stats,
    topic,
    layout,
    protocol,
    session,
    signal,
    sealing: sealing.signal,
    owner,
    redoStallMs: options.redoStallMs ?? 600_000,
    memory,
  };
  const state: ConsumeState = { step: "starting" };

  try {
    log.info("consumer starting", {
      proxy: redactUrl(access.url),
      proxyAuth: access.auth,
      proxyTls: access.tls,
      topic,
      group: config.consumerGroup,
      instance: owner,
      lake: where,
      memoryMb: config.consumerMemoryMb,
      maxBufferBytes: memory.maxBufferBytes,
      flushMaxBytes: memory.flushMaxBytes,
      consumerMaxBytes: memory.consumerMaxBytes,
    });
    state.step = "checking the lake";
    await prepareLake(ctx);
    await consumeLoop(ctx, state);
    log.info("consumer stopped", progressProperties(stats, 0, 0, clock.now()));
    return stats;
  } catch (error) {
    // A stop request always ends in a clean stop: whatever was cut short (reading the lake
    // state, a rebuild, an upload past the drain timeout) is safe to abandon, since the
    // next start finds the same lake state and finishes or redoes it.
    if (!signal.aborted || !isAbortError(error, [signal, sealing.signal])) throw error;
    log.warn("stopped before finishing: the next start resumes from the lake", {
      step: state.step,
      reason: sealing.signal.aborted ? "drain timeout" : "stop request",
      drainTimeoutMs,
    });
    log.info("consumer stopped", progressProperties(stats, 0, 0, clock.now()));
    return stats;
  } finally {
    signal.removeEventListener("abort", onStop);
    if (drainTimer !== undefined) clearTimeout(drainTimer);
    const closing = new AbortController();
    const closeTimer = setTimeout(
      () => closing.abort(new Error("Cannot delete the consumer instance in time")),
      CLOSE_TIMEOUT_MS,
    );
    try {
      await session.close(closing.signal);
    } finally {
      clearTimeout(closeTimer);
    }
    if (!options.store) store.close?.();
    named?.release();
  }
}
