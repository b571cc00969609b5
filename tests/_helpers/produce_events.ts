/**
 * Puts recorded events into a topic of a (local) REST Proxy with plain v2 produce
 * requests, independent of the real producer. Reused by consumer tests.
 *
 * @module
 */

/** Folder of the shared recordings. */
export const RECORDINGS: URL = new URL("../../../shared/data/recentchange/", import.meta.url);

/** The shared NDJSON recordings, in a fixed order. */
export const RECORDING_FILES: readonly string[] = Object.freeze([
  "sat99496-wikistream-lakehouse_2026-02-26.ndjson",
  "6rzan-real-time-system_2026-05-05.ndjson",
  "wikidata-editgroups_2018-2019_wikidatawiki.ndjson",
  "danielbasso-pageledger_2026-07-17_enwiki.ndjson",
]);

/**
 * Loads recorded events (parsed), taking files in {@linkcode RECORDING_FILES} order.
 *
 * @param limit how many events at most
 * @returns the events
 */
export async function loadRecordedEvents(limit = Infinity): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const name of RECORDING_FILES) {
    if (out.length >= limit) break;
    const text = await Deno.readTextFile(new URL(name, RECORDINGS));
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      out.push(JSON.parse(line));
      if (out.length >= limit) break;
    }
  }
  return out;
}

/** Options for {@linkcode produceEvents}. */
export interface ProduceEventsOptions {
  /** Topic. @default "wikimedia-changes" */
  topic?: string;
  /** Records per produce request. @default 500 */
  batchSize?: number;
  /** Record key of an event. @default `meta.id` */
  key?: (event: Record<string, unknown>) => unknown;
}

/**
 * Produces events with `POST /topics/{t}` (json embedded format).
 *
 * @param baseUrl the proxy root URL
 * @param events the events (record values)
 * @param options topic, batch size and key
 * @throws {Error} on any non-2xx answer or per-record error
 */
export async function produceEvents(
  baseUrl: URL,
  events: readonly unknown[],
  options: ProduceEventsOptions = {},
): Promise<void> {
  const topic = options.topic ?? "wikimedia-changes";
  const batch = options.batchSize ?? 500;
  const keyOf = options.key ??
    ((e: Record<string, unknown>) => (e.meta as { id?: unknown } | undefined)?.id ?? null);
  for (let i = 0; i < events.length; i += batch) {
    const records = events.slice(i, i + batch).map((value) => ({
      key: keyOf(value as Record<string, unknown>),
      value,
    }));
    const response = await fetch(new URL(`topics/${encodeURIComponent(topic)}`, baseUrl), {
      method: "POST",
      headers: {
        "content-type": "application/vnd.kafka.json.v2+json",
        accept: "application/vnd.kafka.v2+json",
      },
      body: JSON.stringify({ records }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`produce failed: HTTP ${response.status}: ${text}`);
    const body = JSON.parse(text) as { offsets?: { error_code?: number | null }[] };
    if (body.offsets?.some((o) => o.error_code)) throw new Error(`produce failed: ${text}`);
  }
}
