/**
 * The EventStreams resume position: the SSE `id` is a JSON array with one entry
 * per topic-partition, `{topic, partition, timestamp}` or `{topic, partition, offset}`.
 * Resuming from the last id can skip events (timestamps are millisecond-coarse,
 * shared and not monotonic), so {@linkcode rewindLastEventId} moves every
 * timestamp that advanced back by a safety margin and sets idle (`offset: -1` or
 * unchanged) entries to the latest timestamp minus the margin; the replayed events
 * are dropped downstream by `meta.id`.
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
  /** How far to move a timestamp back, in milliseconds. */
  marginMs: number;
  /** Event time (ms) to use when the id holds no timestamp at all, e.g. `meta.dt`. */
  fallbackTimestampMs?: number;
  /**
   * The `Last-Event-ID` sent for the connection that delivered `id` (in-process reconnects).
   * Entries equal to it did not advance (the server echoes an idle topic's start position);
   * without it every timestamp counts as advanced.
   */
  previousId?: string;
}

function entryKey(e: StreamPositionEntry): string {
  return `${e.partition}\u0000${e.topic}`;
}

/**
 * Builds the `Last-Event-ID` to send when resuming from a saved or last-received id
 * (`eventstreams.md` section 4):
 * - an entry that advanced since `previousId` moves back by the margin, but never back to
 *   or before its previous value: then it moves back by half its advance (at least 1 ms), so
 *   every connection that delivered newer events makes progress;
 * - an entry that did not advance (an idle topic echoed unchanged) and every `offset: -1`
 *   ("latest") entry becomes `latest timestamp − margin`, where latest is taken over the
 *   advanced entries; it is not rewound again, so it does not drift back per reconnect;
 * - explicit non-negative offsets are kept (they are exact);
 * - when no entry advanced, `previousId` is sent again unchanged.
 *
 * @param id the SSE id of the last event handed on
 * @param options the margin, a fallback time and the previous resume position
 * @returns the header value, or `undefined` when `id` is not a valid position
 */
export function rewindLastEventId(id: string, options: RewindOptions): string | undefined {
  const entries = parseStreamPosition(id);
  if (entries === undefined) return undefined;
  const margin = options.marginMs;
  const previous = new Map<string, StreamPositionEntry>();
  const sent = options.previousId === undefined
    ? undefined
    : parseStreamPosition(options.previousId);
  for (const e of sent ?? []) previous.set(entryKey(e), e);
  const advanced = (e: StreamPositionEntry): boolean => {
    if (e.offset !== undefined) return false;
    const before = previous.get(entryKey(e));
    return before === undefined || before.offset !== undefined || before.timestamp !== e.timestamp;
  };
  const moved = entries.filter(advanced);
  if (sent !== undefined && moved.length === 0) return JSON.stringify(sent);
  const latest = latestTimestamp(moved) ?? latestTimestamp(entries) ??
    options.fallbackTimestampMs;
  const out = entries.map((e) => {
    if (e.offset !== undefined && e.offset >= 0) {
      return { topic: e.topic, partition: e.partition, offset: e.offset };
    }
    let timestamp: number;
    if (advanced(e)) {
      const ts = e.timestamp!;
      timestamp = ts - margin;
      const before = previous.get(entryKey(e))?.timestamp;
      if (before !== undefined && before < ts && timestamp <= before) {
        timestamp = Math.min(ts - 1, before + Math.ceil((ts - before) / 2));
      }
    } else if (latest === undefined) {
      return { topic: e.topic, partition: e.partition, offset: -1 };
    } else timestamp = latest - margin;
    return {
      topic: e.topic,
      partition: e.partition,
      timestamp: Math.max(0, Math.trunc(timestamp)),
    };
  });
  return JSON.stringify(out);
}
