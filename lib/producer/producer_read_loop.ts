/**
 * {@linkcode readEvents}: the producer's read loop. It inspects each event once
 * (canaries, malformed data, `meta.id` dedupe, filters, key) — in place, in the received
 * bytes, with `recentchange_scan.ts`, or with `JSON.parse` for what that scanner does not
 * accept — hands accepted events to the batcher unchanged, and marks the position of
 * every dropped event that has an id, so the saved position moves past it.
 *
 * Data that is not valid UTF-8 (which the scanner refuses) is decoded with U+FFFD in place
 * of each invalid sequence, as `EventSource` decodes it, and then handled like any other
 * event: a valid event is forwarded with the replacement characters (the REST Proxy's JSON
 * and the lake's text columns hold UTF-8 only, so its bytes cannot be kept), malformed data
 * is dead-lettered. Each such event is counted (`invalidUtf8`) and logged at warn.
 *
 * @module
 */
import type { Clock } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import {
  type InspectedEvent,
  inspectRecentChange,
  type RecentChangeFacts,
} from "../recentchange/recentchange_event.ts";
import type {
  RecentChangeScanner,
  ScannedRecentChange,
} from "../recentchange/recentchange_scan.ts";
import type { SseSource } from "../sse/sse_client.ts";
import type { SseMessage } from "../sse/sse_parse_stream.ts";
import type { DeadLetterSink } from "./dead_letter_writer.ts";
import type { BatchRecord, ProduceBatcher, StreamPosition } from "./produce_batcher.ts";
import type { ProducerStats } from "./producer_stats.ts";
import type { RecentIdSet } from "./recent_id_set.ts";
import type { ReconnectPosition } from "./reconnect_position.ts";
import { recordKeyBytes, type RecordKeyMode } from "./record_key.ts";
import type { UnmatchedWikiCheck } from "./unmatched_wiki_check.ts";

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

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Says whether bytes are well-formed UTF-8 (only asked of what the byte scanner refused). */
function isWellFormedUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const TRUNCATED: InspectedEvent = {
  kind: "malformed",
  reason: "event larger than the stream parser's cap (4 MiB per line, 8 MiB per event): " +
    "only its first 64 KiB are kept here",
};

/** What {@linkcode readEvents} reads from, writes to and counts in. */
export interface ReadLoopContext {
  /** The event stream. */
  source: SseSource<ScannedRecentChange>;
  /** Ends reading (the stop signal, or a failed send or commit). */
  signal: AbortSignal;
  /** Clock. */
  clock: Clock;
  /** Logger. */
  log: Logger;
  /** Counters to update. */
  stats: ProducerStats;
  /** The scanner for messages the stream did not inspect in place. */
  scanner: RecentChangeScanner;
  /** Where malformed events go. */
  deadLetters: DeadLetterSink;
  /** The dead-letter file, for the log line. */
  deadLetterPath: string;
  /** Takes accepted events and the positions of dropped ones. */
  batcher: ProduceBatcher;
  /** Recent `meta.id`s; an event whose id it holds is a duplicate. */
  seen: RecentIdSet;
  /** Says whether an event passes `--wikis`, `--types` and `--exclude-bots`. */
  filter: (event: RecentChangeFacts) => boolean;
  /** Reports `--wikis` values that matched no event. */
  wikiCheck: UnmatchedWikiCheck;
  /** How record keys are made. */
  keyMode: RecordKeyMode;
  /** Stops after this many accepted events (`--max-events`). */
  maxEvents: number | undefined;
  /** Told of each received message, for the `Last-Event-ID` of reconnects. */
  reconnect: ReconnectPosition;
}

/**
 * Reads the stream until it ends, `signal` aborts or `maxEvents` events were accepted.
 *
 * @param ctx the stream, the batcher and the rest of the loop's state
 * @throws what the stream, the dead-letter file or the batcher throws
 */
export async function readEvents(ctx: ReadLoopContext): Promise<void> {
  const { source, clock, stats, scanner, deadLetters, batcher, seen, filter, wikiCheck } = ctx;
  const { log, keyMode, maxEvents, reconnect } = ctx;
  const encoder = new TextEncoder();
  if (maxEvents === undefined || stats.eventsAccepted < maxEvents) {
    const groups = source.batches?.(ctx.signal) ?? oneByOne(source.messages(ctx.signal));
    read: for await (const group of groups) {
      stats.lastEventReceivedAtMs = clock.now();
      for (const message of group) {
        stats.eventsIn++;
        const hasId = message.hasId;
        if (hasId) reconnect.received(message);
        // The fast path reads the bytes once and forwards them; anything it does not
        // accept (invalid JSON or UTF-8, canaries, missing fields) is decoded and parsed.
        let value = message.bytes;
        let facts: InspectedEvent | undefined = message.truncated
          ? TRUNCATED
          : message.inspection ?? scanner.scan(message.bytes);
        if (facts === undefined) {
          const invalidUtf8 = !isWellFormedUtf8(message.bytes);
          facts = inspectRecentChange(message.data);
          if (facts.kind === "event") value = encoder.encode(message.data);
          if (invalidUtf8) {
            stats.invalidUtf8++;
            log.warn("event data is not valid UTF-8: invalid bytes replaced by U+FFFD", {
              kind: facts.kind,
              metaId: facts.kind === "event" ? facts.metaId : null,
              sseId: message.id,
              invalidUtf8: stats.invalidUtf8,
            });
          }
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
              file: ctx.deadLetterPath,
            });
          }
          if (hasId) batcher.mark(new MessagePosition(message, null));
          continue;
        }
        reconnect.receivedEventTime(facts.eventTimeMs);
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
}

async function* oneByOne<T>(items: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of items) yield [item];
}
