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
import { DeadLetterWriter } from "./dead_letter_writer.ts";
import { type Clock, sleepUnlessAborted, SYSTEM_CLOCK } from "../cli/delay.ts";
import { createEventFilter } from "./event_filter.ts";
import { describeError, type Logger } from "../cli/log.ts";
import { type ProduceBatch, ProduceBatcher, type StreamPosition } from "./produce_batcher.ts";
import { ProduceSender } from "./produce_sender.ts";
import { OFFLINE_HINT, type ProducerConfig } from "./producer_config.ts";
import { type ProducerState, ProducerStateStore } from "./producer_state_store.ts";
import { UsageError } from "../cli/usage_error.ts";
import { RecentIdSet } from "./recent_id_set.ts";
import { type InspectedEvent, inspectRecentChange } from "../recentchange/recentchange_event.ts";
import {
  RecentChangeScanner,
  type ScannedRecentChange,
} from "../recentchange/recentchange_scan.ts";
import { recordKeyBytes } from "./record_key.ts";
import {
  type RecordResult,
  type RecordSink,
  RestProducerClient,
} from "../rest_proxy/rest_producer_client.ts";
import { RestProxyError } from "../rest_proxy/rest_proxy_error.ts";
import { rewindLastEventId } from "./resume_position.ts";
import { SseClient, SseHttpError, type SseSource } from "../sse/sse_client.ts";
import { UnmatchedWikiCheck } from "./unmatched_wiki_check.ts";
import type { BatchRecord } from "./produce_batcher.ts";
import type { SseMessage } from "../sse/sse_parse_stream.ts";
import { createProducerStats, type ProducerStats } from "./producer_stats.ts";

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
  /** Replaces the REST Proxy client (tests); the default speaks `KAFKA_REST_FLAVOR`. */
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

/** An event's place in the stream; its SSE id is decoded only if the position is saved. */
class MessagePosition implements StreamPosition {
  readonly #message: SseMessage<ScannedRecentChange>;
  readonly eventTimeMs: number | null;
  constructor(message: SseMessage<ScannedRecentChange>, eventTimeMs: number | null) {
    this.#message = message;
    this.eventTimeMs = eventTimeMs;
  }
  get sseId(): string {
    return this.#message.id;
  }
}

/** An accepted event on its way to the proxy. */
class EventRecord implements BatchRecord {
  readonly key: readonly Uint8Array[] | undefined;
  readonly value: Uint8Array;
  readonly metaId: string;
  readonly eventTimeMs: number;
  readonly #message: SseMessage<ScannedRecentChange>;
  constructor(
    key: readonly Uint8Array[] | undefined,
    value: Uint8Array,
    metaId: string,
    eventTimeMs: number,
    message: SseMessage<ScannedRecentChange>,
  ) {
    this.key = key;
    this.value = value;
    this.metaId = metaId;
    this.eventTimeMs = eventTimeMs;
    this.#message = message;
  }
  get sseId(): string {
    return this.#message.id;
  }
}

const TRUNCATED: InspectedEvent = {
  kind: "malformed",
  reason: "event larger than the stream parser's cap (4 MiB per line, 8 MiB per event): " +
    "only its first 64 KiB are kept here",
};

/** The last `capacity` acknowledged ids with their `meta.dt`, in a ring buffer (O(1) push). */
class CommittedIds {
  #ids: string[];
  #times: Float64Array;
  #next = 0;
  #size = 0;
  constructor(capacity: number) {
    this.#ids = new Array<string>(capacity);
    this.#times = new Float64Array(capacity);
  }
  push(id: string, timeMs: number): void {
    this.#ids[this.#next] = id;
    this.#times[this.#next] = timeMs;
    this.#next = (this.#next + 1) % this.#ids.length;
    if (this.#size < this.#ids.length) this.#size++;
  }
  since(cutoffMs: number): string[] {
    const out: string[] = [];
    const capacity = this.#ids.length;
    for (let n = 0, i = (this.#next - this.#size + capacity) % capacity; n < this.#size; n++) {
      if (this.#times[i]! >= cutoffMs) out.push(this.#ids[i]!);
      i = i + 1 === capacity ? 0 : i + 1;
    }
    return out;
  }
}

function streamErrorToUsage(error: SseHttpError, stateDir: string): UsageError {
  const head = `Cannot read the event stream at "${error.url}": HTTP ${error.status}${
    error.body ? ` (${error.body.replaceAll("\n", " ").slice(0, 200)})` : ""
  }`;
  let hint: string;
  if (error.status === 403) {
    hint = "Wikimedia refuses requests without a descriptive User-Agent: set USER_AGENT " +
      '(or --user-agent) to "yourtool/1.0 (https://your.site; you@example.org)"';
  } else if (error.status === 400) {
    hint =
      `check STREAM_URL (the stream name) and --since; if the saved position in "${stateDir}" ` +
      "is the cause, delete state.json and recent-ids.ndjson there or start with --from-now";
  } else if (error.status === 404) {
    hint = `check STREAM_URL; if the saved position in "${stateDir}" names a topic this stream ` +
      "does not have, delete state.json and recent-ids.ndjson there or start with --from-now";
  } else if (error.status === 200) {
    return new UsageError(`${error.message}: check STREAM_URL`, { cause: error });
  } else hint = "check STREAM_URL and USER_AGENT";
  return new UsageError(`${head}: ${hint}`, { cause: error });
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
  const store = new ProducerStateStore({ dir: config.stateDir });
  let saved: ProducerState | undefined;
  try {
    saved = await store.load();
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new UsageError(
      `${error.message}: delete the file, or start with --from-now or --since`,
      { cause: error },
    );
  }
  await Deno.mkdir(config.stateDir, { recursive: true });

  const margin = config.resumeMarginMs;
  const seen = new RecentIdSet(config.dedupeIds);
  const committed = new CommittedIds(config.dedupeIds);
  if (saved) {
    for (let i = 0; i < saved.recentIds.length; i++) {
      seen.add(saved.recentIds[i]!);
      committed.push(saved.recentIds[i]!, saved.recentIdTimesMs[i]!);
    }
  }
  const url = new URL(config.streamUrl);
  let startId: string | undefined;
  if (config.since !== undefined) {
    url.searchParams.set("since", new Date(config.since).toISOString());
    log.info("starting from --since", { since: new Date(config.since).toISOString() });
  } else if (config.fromNow) {
    log.info("starting at the live end of the stream (--from-now)");
  } else if (saved) {
    startId = rewindLastEventId(saved.lastEventId, {
      marginMs: margin,
      ...(saved.lastEventTimeMs === null ? {} : { fallbackTimestampMs: saved.lastEventTimeMs }),
    });
    if (startId === undefined) {
      log.warn("the saved position is not an EventStreams id: starting at the live end", {
        state: paths.state,
      });
    } else {
      log.info("resuming from the saved position", {
        lastEventId: saved.lastEventId,
        marginMs: margin,
        knownIds: saved.recentIds.length,
      });
    }
  } else log.info("no saved position: starting at the live end of the stream");

  // In-process reconnects rewind the last received id by the small reconnect margin, relative
  // to the id sent for the connection that delivered it (so idle entries do not drift and
  // every connection with newer events advances); the replay is dropped by `seen`.
  let sentId = startId;
  let lastReceived: SseMessage<ScannedRecentChange> | undefined;
  let lastReceivedFrom: string | undefined;
  let lastReceivedTimeMs: number | undefined;
  const resumeId = (): string | undefined => {
    if (lastReceived !== undefined) {
      const lastReceivedId = lastReceived.id;
      sentId = rewindLastEventId(lastReceivedId, {
        marginMs: config.reconnectMarginMs,
        ...(lastReceivedFrom === undefined ? {} : { previousId: lastReceivedFrom }),
        ...(lastReceivedTimeMs === undefined ? {} : { fallbackTimestampMs: lastReceivedTimeMs }),
      }) ?? lastReceivedId;
    }
    return sentId;
  };

  const readController = new AbortController();
  const readSignal = AbortSignal.any([options.signal, readController.signal]);
  const sendController = new AbortController();
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const onStop = () => {
    drainTimer = setTimeout(() => {
      sendController.abort(new DOMException("drain timeout", "AbortError"));
    }, config.drainTimeoutMs);
  };
  if (options.signal.aborted) onStop();
  else options.signal.addEventListener("abort", onStop, { once: true });

  const scanner = new RecentChangeScanner();
  const source = options.source ?? new SseClient<ScannedRecentChange>({
    // Every data line is validated and read in place, inside the received chunk.
    inspectData: (chunk, start) => scanner.scanLine(chunk, start),
    url,
    userAgent: config.userAgent,
    lastEventId: resumeId,
    idleTimeoutMs: config.idleTimeoutMs,
    backoffInitialMs: config.reconnectBackoffMs,
    backoffMaxMs: config.reconnectBackoffMaxMs,
    onReconnect: () => stats.reconnects++,
    unreachableHint: OFFLINE_HINT,
    log: log.child("sse"),
    clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const sink = options.sink ?? new RestProducerClient({
    baseUrl: config.kafkaRestUrl,
    topic: config.kafkaTopic,
    requestTimeoutMs: config.requestTimeoutMs,
    flavor: config.kafkaRestFlavor,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const deadLetters = new DeadLetterWriter({ path: paths.deadLetter, now: clock.now });
  const sender = new ProduceSender({
    sink,
    deadLetters,
    stats,
    backoffInitialMs: config.retryBackoffMs,
    backoffMaxMs: config.retryBackoffMaxMs,
    clock,
    log: log.child("produce"),
    signal: sendController.signal,
    ...(options.onAcked ? { onAcked: options.onAcked } : {}),
  });

  let lastCommitted: StreamPosition | undefined;
  let maxCommittedTime = saved?.lastEventTimeMs ?? 0;
  // Ids acknowledged but not yet saved (a batch that only moves the position adds none).
  let unsavedIds: string[] = [];
  const commit = async (batches: ProduceBatch[]) => {
    for (const batch of batches) {
      for (const r of batch.records) {
        committed.push(r.metaId, r.eventTimeMs);
        unsavedIds.push(r.metaId);
        if (r.eventTimeMs > maxCommittedTime) maxCommittedTime = r.eventTimeMs;
      }
      if (batch.position) lastCommitted = batch.position;
    }
    if (lastCommitted === undefined) return;
    if (lastCommitted.eventTimeMs !== null) stats.lastAckedEventTimeMs = lastCommitted.eventTimeMs;
    const added = unsavedIds;
    await store.save({
      lastEventId: lastCommitted.sseId,
      lastEventTimeMs: lastCommitted.eventTimeMs ?? stats.lastAckedEventTimeMs,
      savedAtMs: clock.now(),
    }, {
      added,
      timeMs: maxCommittedTime,
      snapshot: () => ({
        ids: committed.since(maxCommittedTime - 2 * margin),
        timeMs: maxCommittedTime,
      }),
    });
    if (unsavedIds === added) unsavedIds = [];
    stats.stateSaves++;
  };
  const batcher = new ProduceBatcher({
    maxRecords: config.batchMaxRecords,
    maxBytes: config.batchMaxBytes,
    lingerMs: config.lingerMs,
    maxInFlight: config.maxInFlight,
    queueMaxBatches: config.queueMaxBatches,
    send: async (batch) => {
      try {
        await sender.send(batch);
      } catch (error) {
        readController.abort(error);
        throw error;
      }
    },
    commit: async (batches) => {
      try {
        await commit(batches);
      } catch (error) {
        readController.abort(error);
        throw error;
      }
    },
  });

  const progressController = new AbortController();
  const progress = runProgress(config.progressIntervalMs, {
    clock,
    log,
    stats,
    batcher,
    signal: progressController.signal,
  });

  const filter = createEventFilter({
    wikis: config.wikis,
    types: config.types,
    excludeBots: config.excludeBots,
  });
  const wikiCheck = new UnmatchedWikiCheck({
    wikis: config.wikis,
    log,
    ...(options.unmatchedWikiCheckAfter === undefined
      ? {}
      : { afterEvents: options.unmatchedWikiCheckAfter }),
  });
  const keyMode = config.produceKey;
  const encoder = new TextEncoder();
  const maxEvents = config.maxEvents;
  let readError: unknown;
  log.info("producing", {
    stream: url.href,
    proxy: config.kafkaRestUrl.href,
    topic: config.kafkaTopic,
    recordKey: keyMode,
  });
  try {
    if (maxEvents === undefined || stats.eventsAccepted < maxEvents) {
      const groups = source.batches?.(readSignal) ?? oneByOne(source.messages(readSignal));
      read: for await (const group of groups) {
        stats.lastEventReceivedAtMs = clock.now();
        for (const message of group) {
          stats.eventsIn++;
          const hasId = message.hasId;
          if (hasId) {
            lastReceived = message;
            lastReceivedFrom = sentId;
          }
          // The fast path reads the bytes once and forwards them; anything it does not
          // accept (invalid JSON or UTF-8, canaries, missing fields) is decoded and parsed.
          let value = message.bytes;
          let facts: InspectedEvent | undefined = message.truncated
            ? TRUNCATED
            : message.inspection ?? scanner.scan(message.bytes);
          if (facts === undefined) {
            facts = inspectRecentChange(message.data);
            if (facts.kind === "event") value = encoder.encode(message.data);
          }
          if (facts.kind !== "event") {
            if (facts.kind === "canary") stats.canariesDropped++;
            else {
              await deadLetters.write({
                reason: facts.reason,
                raw: message.data,
                sseId: message.id,
              });
              stats.deadLettered++;
              log.warn("malformed event: written to the dead-letter file", {
                reason: facts.reason,
                file: paths.deadLetter,
              });
            }
            if (hasId) batcher.mark(new MessagePosition(message, null));
            continue;
          }
          lastReceivedTimeMs = facts.eventTimeMs;
          if (!seen.addIfAbsent(facts.metaId)) {
            stats.duplicatesDropped++;
            if (hasId) batcher.mark(new MessagePosition(message, facts.eventTimeMs));
            continue;
          }
          if (!wikiCheck.done) wikiCheck.observe(facts.wiki);
          if (!filter(facts)) {
            stats.filtered++;
            if (hasId) batcher.mark(new MessagePosition(message, facts.eventTimeMs));
            continue;
          }
          const wait = batcher.add(
            new EventRecord(
              recordKeyBytes(facts, keyMode),
              value,
              facts.metaId,
              facts.eventTimeMs,
              message,
            ),
          );
          if (wait) await wait;
          stats.eventsAccepted++;
          if (maxEvents !== undefined && stats.eventsAccepted >= maxEvents) {
            log.info("reached --max-events: stopping", { maxEvents });
            break read;
          }
        }
      }
    }
  } catch (error) {
    readError = error;
  }

  let sendError: unknown;
  try {
    await batcher.close();
  } catch (error) {
    sendError = error;
  }
  options.signal.removeEventListener("abort", onStop);
  if (drainTimer !== undefined) clearTimeout(drainTimer);
  progressController.abort();
  await progress;
  await deadLetters.close();
  try {
    await store.finish();
  } catch (error) {
    // The journal already holds the position; state.json is only its readable copy.
    log.warn("cannot write the readable copy of the position", {
      file: paths.state,
      error: describeError(error),
    });
  }
  logSummary(log, stats, clock);

  if (sendError !== undefined) {
    if (sendController.signal.aborted && sendError === sendController.signal.reason) {
      log.warn(
        "stopped before every batch was acknowledged: those events are re-read on restart",
        { drainTimeoutMs: config.drainTimeoutMs, state: paths.state },
      );
    } else if (sendError instanceof RestProxyError && !sendError.retriable) {
      throw new UsageError(
        `${sendError.message}; check KAFKA_REST_URL and KAFKA_TOPIC`,
        { cause: sendError },
      );
    } else throw sendError;
  }
  if (readError !== undefined && readError !== sendError) {
    if (readError instanceof SseHttpError) throw streamErrorToUsage(readError, config.stateDir);
    if (!(readError === sendError || readSignal.aborted && readError === readSignal.reason)) {
      throw readError;
    }
  }
  return stats;
}

async function* oneByOne<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of items) yield [item];
}

interface ProgressOptions {
  clock: Clock;
  log: Logger;
  stats: ProducerStats;
  batcher: ProduceBatcher;
  signal: AbortSignal;
}

async function runProgress(intervalMs: number, o: ProgressOptions): Promise<void> {
  if (intervalMs <= 0) return;
  let prevIn = o.stats.eventsIn;
  let prevOut = o.stats.eventsProduced;
  let prevAt = o.clock.now();
  while (await sleepUnlessAborted(o.clock, intervalMs, o.signal)) {
    const now = o.clock.now();
    const seconds = Math.max(0.001, (now - prevAt) / 1000);
    const s = o.stats;
    o.log.info("progress", {
      inPerSec: Math.round(((s.eventsIn - prevIn) / seconds) * 10) / 10,
      outPerSec: Math.round(((s.eventsProduced - prevOut) / seconds) * 10) / 10,
      eventsIn: s.eventsIn,
      produced: s.eventsProduced,
      duplicates: s.duplicatesDropped,
      filtered: s.filtered,
      canaries: s.canariesDropped,
      deadLettered: s.deadLettered,
      retries: s.retries,
      reconnects: s.reconnects,
      lagMs: s.lastAckedEventTimeMs === null ? null : now - s.lastAckedEventTimeMs,
      inFlight: o.batcher.inFlight,
      queued: o.batcher.queued,
    });
    prevIn = s.eventsIn;
    prevOut = s.eventsProduced;
    prevAt = now;
  }
}

function logSummary(log: Logger, stats: ProducerStats, clock: Clock): void {
  log.info("stopped", {
    seconds: Math.round((clock.now() - stats.startedAtMs) / 100) / 10,
    eventsIn: stats.eventsIn,
    produced: stats.eventsProduced,
    duplicates: stats.duplicatesDropped,
    filtered: stats.filtered,
    canaries: stats.canariesDropped,
    deadLettered: stats.deadLettered,
    retries: stats.retries,
    reconnects: stats.reconnects,
    lastAckedEventTime: stats.lastAckedEventTimeMs === null
      ? null
      : new Date(stats.lastAckedEventTimeMs).toISOString(),
  });
}
