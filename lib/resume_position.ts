/**
 * The EventStreams resume position: the SSE `id` is a JSON array with one entry
 * per topic-partition, `{topic, partition, timestamp}` or `{topic, partition, offset}`.
 * Resuming from the last id can skip events (timestamps are millisecond-coarse,
 * shared and not monotonic), so {@linkcode rewindLastEventId} moves every
 * timestamp back by a safety margin and replaces `offset: -1` ("latest") entries
 * with a timestamp; the replayed events are dropped downstream by `meta.id`.
 * See `eventstreams.md` section 4.
 *
 * @module
 */

/** One topic-partition entry of an EventStreams event id. */
export interface StreamPositionEntry {
  /** Kafka topic, for example `eqiad.mediawiki.recentchange`. */
  topic: string;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset; `-1` means "latest". */
  offset?: number;
  /** Kafka timestamp in epoch milliseconds. */
  timestamp?: number;
}

/**
 * Parses an EventStreams SSE id.
 *
 * @param id the `id:` field text
 * @returns the entries, or `undefined` when the text is not a valid position
 */
export function parseStreamPosition(id: string): StreamPositionEntry[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(id);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: StreamPositionEntry[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return undefined;
    const { topic, partition, offset, timestamp } = item as Record<string, unknown>;
    if (typeof topic !== "string" || !Number.isInteger(partition)) return undefined;
    const entry: StreamPositionEntry = { topic, partition: partition as number };
    if (Number.isInteger(offset)) entry.offset = offset as number;
    if (Number.isFinite(timestamp)) entry.timestamp = timestamp as number;
    if (entry.offset === undefined && entry.timestamp === undefined) return undefined;
    out.push(entry);
  }
  return out;
}

/**
 * The latest timestamp named in a position.
 *
 * @param entries a parsed position
 * @returns the largest `timestamp`, or `undefined` when no entry has one
 */
export function latestTimestamp(entries: readonly StreamPositionEntry[]): number | undefined {
  let max: number | undefined;
  for (const e of entries) {
    if (e.offset !== undefined && e.offset >= 0) continue;
    if (e.timestamp !== undefined && (max === undefined || e.timestamp > max)) max = e.timestamp;
  }
  return max;
}

/** Options for {@linkcode rewindLastEventId}. */
export interface RewindOptions {
  /** How far to move every timestamp back, in milliseconds. */
  marginMs: number;
  /** Event time (ms) to use when the id holds no timestamp at all, e.g. `meta.dt`. */
  fallbackTimestampMs?: number;
}

/**
 * Builds the `Last-Event-ID` to send when resuming from a saved or last-received id.
 * Every `timestamp` moves back by the margin; every `offset: -1` entry becomes
 * `timestamp: latest − margin` so an idle datacentre topic does not start at "latest";
 * explicit non-negative offsets are kept (they are exact).
 *
 * @param id the SSE id of the last event handed on
 * @param options the margin and a fallback time
 * @returns the header value, or `undefined` when `id` is not a valid position
 */
export function rewindLastEventId(id: string, options: RewindOptions): string | undefined {
  const entries = parseStreamPosition(id);
  if (entries === undefined) return undefined;
  const latest = latestTimestamp(entries) ?? options.fallbackTimestampMs;
  const out = entries.map((e) => {
    if (e.offset !== undefined && e.offset >= 0) {
      return { topic: e.topic, partition: e.partition, offset: e.offset };
    }
    const base = e.offset === undefined && e.timestamp !== undefined ? e.timestamp : latest;
    if (base === undefined) return { topic: e.topic, partition: e.partition, offset: -1 };
    return {
      topic: e.topic,
      partition: e.partition,
      timestamp: Math.max(0, Math.trunc(base - options.marginMs)),
    };
  });
  return JSON.stringify(out);
}
