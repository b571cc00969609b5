/**
 * {@linkcode runProducer}: the producer pipeline, usable in-process. It reads
 * the Wikimedia SSE stream, inspects each event once (canaries, malformed data,
 * `meta.id` dedupe, filters, key) — in place, in the received bytes, with
 * `recentchange_scan.ts`, or with `JSON.parse` for what that scanner does not
 * accept — batches the event bytes unchanged into REST Proxy produce requests,
 * and after each acknowledged batch saves the stream position
 * (never past an unacknowledged event) plus recent `meta.id`s, so a restart
 * resumes with a rewound `Last-Event-ID` and drops what it already produced.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import { describeError, type Logger } from "../cli/log.ts";
import { redactUrl } from "../cli/redact_url.ts";
import {
  RecentChangeScanner,
  type ScannedRecentChange,
} from "../recentchange/recentchange_scan.ts";
import { checkRestAccess } from "../rest_proxy/access_check.ts";
import { openRestAccess } from "../rest_proxy/rest_access.ts";
import type { RecordResult, RecordSink } from "../rest_proxy/rest_producer_client.ts";
import type { SseSource } from "../sse/sse_client.ts";
import { DeadLetterWriter } from "./dead_letter_writer.ts";
import { startDrainDeadline } from "./drain_deadline.ts";
import { eventSelection } from "./event_selection.ts";
import { type BatchRecord, ProduceBatcher } from "./produce_batcher.ts";
import { ProduceSender } from "./produce_sender.ts";
import type { ProducerConfig } from "./producer_config.ts";
import { logSummary, reportProgress } from "./producer_progress.ts";
import { readEvents } from "./producer_read_loop.ts";
import { openRecordSink } from "./record_sink.ts";
import { throwRunErrors } from "./producer_run_errors.ts";
import { ProducerStateStore } from "./producer_state_store.ts";
import { createProducerStats, type ProducerStats } from "./producer_stats.ts";
import { PositionCheckpoint } from "./position_checkpoint.ts";
import { RecentIdSet } from "./recent_id_set.ts";
import { ReconnectPosition } from "./reconnect_position.ts";
import { loadSavedState, resolveStartPosition } from "./start_position.ts";
import { openStreamSource } from "./stream_source.ts";

/** Options for {@linkcode runProducer}. */
export interface RunProducerOptions {
  /** Logger. */
  log: Logger;
  /** Stops reading; in-flight batches are flushed within `drainTimeoutMs`. */
  signal: AbortSignal;
  /** The fetch implementation for the stream and the proxy. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Replaces the SSE client (tests). */
  source?: SseSource<ScannedRecentChange>;
  /** Replaces the REST Proxy client (tests); the default speaks `KAFKA_REST_API`/`_FLAVOR`. */
  sink?: RecordSink;
  /** Counters to update live (for example a metrics endpoint); created when absent. */
  stats?: ProducerStats;
  /** Receives each acknowledged record with its partition and offset. */
  onAcked?: (record: BatchRecord, result: RecordResult) => void;
  /** Events after which `--wikis` values that matched none are reported. @default 10000 */
  unmatchedWikiCheckAfter?: number;
}

/** The state file and the dead-letter file of a state directory. */
export function producerPaths(stateDir: string): { state: string; deadLetter: string } {
  return { state: `${stateDir}/state.json`, deadLetter: `${stateDir}/dead-letter.ndjson` };
}

/**
 * Runs the producer until `--max-events` is reached, the signal aborts, or an
 * unrecoverable error occurs.
 *
 * @param config the resolved producer configuration
 * @param options logger, signal and injectable I/O
 * @returns the final counters
 * @throws {UsageError} for configuration errors (stream 400/403/404, proxy 4xx, corrupt state)
 */
export async function runProducer(
  config: ProducerConfig,
  options: RunProducerOptions,
): Promise<ProducerStats> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const log = options.log;
  const stats = options.stats ?? createProducerStats(clock.now());
  const paths = producerPaths(config.stateDir);
  // credentials and TLS first: a bad option stops the producer before it reads anything
  using access = await openRestAccess(config, options.fetch ? { fetch: options.fetch } : {});
  const sink = options.sink ??
    openRecordSink({ ...config, kafkaRestUrl: access.url }, access.fetch);
  if (!options.sink) {
    await checkRestAccess(access, {
      log,
      signal: options.signal,
      path: config.kafkaRestApi === "v3" ? "v3/clusters" : "topics",
    });
  }
  const store = new ProducerStateStore({ dir: config.stateDir });
  const saved = await loadSavedState(store);
  await Deno.mkdir(config.stateDir, { recursive: true });
  const seen = new RecentIdSet(config.dedupeIds);
  for (const id of saved?.recentIds ?? []) seen.add(id);
  const checkpoint = new PositionCheckpoint({
    store,
    stats,
    clock,
    capacity: config.dedupeIds,
    marginMs: config.resumeMarginMs,
    saved,
  });
  const { url, startId } = resolveStartPosition(config, saved, log, paths.state);
  const reconnect = new ReconnectPosition(startId, config.reconnectMarginMs);

  const readController = new AbortController();
  const readSignal = AbortSignal.any([options.signal, readController.signal]);
  const drain = startDrainDeadline(options.signal, config.drainTimeoutMs);

  const scanner = new RecentChangeScanner();
  const fetchOption = options.fetch ? { fetch: options.fetch } : {};
  const source = options.source ??
    openStreamSource(config, { url, reconnect, scanner, stats, log, clock, ...fetchOption });
  const deadLetters = new DeadLetterWriter({ path: paths.deadLetter, now: clock.now });
  const sender = new ProduceSender({
    sink,
    deadLetters,
    stats,
    backoffInitialMs: config.retryBackoffMs,
    backoffMaxMs: config.retryBackoffMaxMs,
    clock,
    log: log.child("produce"),
    signal: drain.signal,
    ...(options.onAcked ? { onAcked: options.onAcked } : {}),
  });
  // A failed send or save stops reading.
  const stopReadingOnError = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      readController.abort(error);
      throw error;
    }
  };
  const batcher = new ProduceBatcher({
    maxRecords: config.batchMaxRecords,
    maxBytes: config.batchMaxBytes,
    lingerMs: config.lingerMs,
    maxInFlight: config.maxInFlight,
    queueMaxBatches: config.queueMaxBatches,
    send: (batch) => stopReadingOnError(() => sender.send(batch)),
    commit: (batches) => stopReadingOnError(() => checkpoint.commit(batches)),
  });

  const progressController = new AbortController();
  const progress = reportProgress(config.progressIntervalMs, {
    clock,
    log,
    stats,
    batcher,
    signal: progressController.signal,
  });

  log.info("producing", {
    stream: redactUrl(url),
    proxy: redactUrl(access.url),
    proxyAuth: access.auth,
    proxyTls: access.tls,
    api: config.kafkaRestApi,
    topic: config.kafkaTopic,
    recordKey: config.produceKey,
  });
  const readError = await settle(readEvents({
    source,
    signal: readSignal,
    clock,
    log,
    stats,
    scanner,
    deadLetters,
    deadLetterPath: paths.deadLetter,
    batcher,
    seen,
    ...eventSelection(config, log, options.unmatchedWikiCheckAfter),
    keyMode: config.produceKey,
    maxEvents: config.maxEvents,
    reconnect,
  }));
  const sendError = await settle(batcher.close());
  drain.dispose();
  progressController.abort();
  await progress;
  await deadLetters.close();
  await finishStateFile(store, paths.state, log);
  logSummary(log, stats, clock);
  throwRunErrors({
    readError,
    sendError,
    readSignal,
    sendSignal: drain.signal,
    drainTimeoutMs: config.drainTimeoutMs,
    stateDir: config.stateDir,
    statePath: paths.state,
    log,
  });
  return stats;
}

/** Waits for `work` and returns what it threw (`undefined` when it succeeded). */
async function settle(work: Promise<void>): Promise<unknown> {
  try {
    await work;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Writes `state.json`; a failure only warns, since the journal already holds the position. */
async function finishStateFile(store: ProducerStateStore, file: string, log: Logger) {
  try {
    await store.finish();
  } catch (error) {
    log.warn("cannot write the readable copy of the position", {
      file,
      error: describeError(error),
    });
  }
}
