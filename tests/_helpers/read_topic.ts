/**
 * Reads every record of a topic back through the REST Proxy v2 consumer API
 * (fresh group, `auto.offset.reset: earliest`, no auto-commit), for tests that
 * check what reached the broker.
 *
 * @module
 */
import { V2_EMBEDDED_JSON, V2_JSON } from "../../lib/rest_proxy/rest_proxy_media.ts";

/** One record read back. */
export interface TopicRecord {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** The key as JSON (null for a null key). */
  key: unknown;
  /** The value as JSON. */
  value: unknown;
}

/** Options for {@linkcode readAllRecords}. */
export interface ReadAllRecordsOptions {
  /** Consecutive empty reads that end the read. @default 2 */
  emptyReads?: number;
  /** `timeout` of each read in ms. @default 200 */
  readTimeoutMs?: number;
}

/**
 * Reads all records of a topic, sorted by partition and offset.
 *
 * @param brokerUrl the REST Proxy base URL
 * @param topic the topic
 * @param options how long to keep reading
 * @returns the records
 */
export async function readAllRecords(
  brokerUrl: URL | string,
  topic: string,
  options: ReadAllRecordsOptions = {},
): Promise<TopicRecord[]> {
  const base = new URL(brokerUrl);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const group = `read-topic-${crypto.randomUUID()}`;
  const created = await fetch(new URL(`consumers/${group}`, base), {
    method: "POST",
    headers: { "content-type": V2_JSON },
    body: JSON.stringify({
      name: "reader",
      format: "json",
      "auto.offset.reset": "earliest",
      "auto.commit.enable": "false",
    }),
  });
  if (!created.ok) throw new Error(`Cannot create consumer: ${await created.text()}`);
  await created.body?.cancel();
  const instance = new URL(`consumers/${group}/instances/reader/`, base);
  try {
    const sub = await fetch(new URL("subscription", instance), {
      method: "POST",
      headers: { "content-type": V2_JSON },
      body: JSON.stringify({ topics: [topic] }),
    });
    if (!sub.ok) throw new Error(`Cannot subscribe: ${await sub.text()}`);
    await sub.body?.cancel();
    const out: TopicRecord[] = [];
    let empty = 0;
    while (empty < (options.emptyReads ?? 2)) {
      const res = await fetch(
        new URL(`records?timeout=${options.readTimeoutMs ?? 200}&max_bytes=67108864`, instance),
        { headers: { accept: V2_EMBEDDED_JSON } },
      );
      if (!res.ok) throw new Error(`Cannot read records: ${res.status} ${await res.text()}`);
      const records = await res.json() as TopicRecord[];
      if (records.length === 0) empty++;
      else empty = 0;
      for (const r of records) {
        out.push({ partition: r.partition, offset: r.offset, key: r.key, value: r.value });
      }
    }
    out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    return out;
  } finally {
    const del = await fetch(instance, { method: "DELETE", headers: { "content-type": V2_JSON } });
    await del.body?.cancel();
  }
}
