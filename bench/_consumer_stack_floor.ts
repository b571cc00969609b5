/**
 * The consumer catch-up benchmark's floor: what the stack we must use (Deno's `fetch`,
 * `JSON.parse`, apache-arrow's IPC and parquet-wasm) costs on the same backlog with none of the
 * consumer's logic (no units, dedupe, manifests, commits, buckets per hour, uploads). Run by
 * `bench/consumer_backlog_bench.ts` once per depth, each time in a new process with a new
 * consumer group, so that each run's CPU time (all threads: the garbage collector's helper
 * threads included) is charged to the work it did. The depths are cumulative:
 *
 * 1. `read`: the records bodies fetched from the broker as the consumer reads them (`max_bytes`
 *    as given, one read in flight, the body read chunk by chunk into one buffer of its
 *    `Content-Length`, the cheapest way measured), until a read answers `[]`;
 * 2. `parse`: and `TextDecoder` + `JSON.parse` of each body;
 * 3. `columns`: and our `EventBatchBuilder.append` of every value, `finish()` every `file_rows`
 *    rows (the sorted Arrow table of one file);
 * 4. `encode`: and `encodeParquet` of each such table as it fills (Arrow IPC + parquet-wasm,
 *    zstd).
 *
 * A stage's cost is the difference between two depths. `read + parse + encode` is the floor of
 * any consumer on this stack that parses the proxy's JSON; `columns` is building the columns.
 * Prints one JSON line: the CPU ms of the run after setup, and what it read and wrote.
 *
 * Run: `deno run -A bench/_consumer_stack_floor.ts <broker url> <topic> <depth> [max_bytes] [file_rows]`
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { readBoundedBytes } from "../lib/cli/bounded_body.ts";
import { EventBatchBuilder } from "../lib/lake/event_batch_builder.ts";
import { encodeParquet } from "../lib/lake/parquet_encoder.ts";

const MEDIA = "application/vnd.kafka.v2+json";
const RECORDS_MEDIA = "application/vnd.kafka.json.v2+json";
const DEPTHS = ["read", "parse", "columns", "encode"] as const;

/** CPU time (user + system, all threads) of this process so far, in ms. */
function cpuMs(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
}

async function call(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": MEDIA },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status} ${text}`);
  return text === "" ? {} : JSON.parse(text);
}

interface BodyRecord {
  value: unknown;
  partition: number;
  offset: number;
}

const [brokerUrl, topic, depthArg, maxBytesArg, fileRowsArg] = Deno.args;
const depth = DEPTHS.indexOf(depthArg as typeof DEPTHS[number]);
if (depth < 0) throw new Error(`the depth must be one of ${DEPTHS.join(", ")}: got ${depthArg}`);
const maxBytes = Number(maxBytesArg ?? 1048576);
const fileRows = Number(fileRowsArg ?? 50000);
const base = new URL(brokerUrl!);
const instance = await call(new URL(`consumers/floor-${crypto.randomUUID()}`, base).href, {
  name: "floor",
  format: "json",
  "auto.offset.reset": "earliest",
});
const baseUri = String(instance.base_uri);
await call(`${baseUri}/subscription`, { topics: [topic] });

const decoder = new TextDecoder();
const ingestedAtMs = Date.now();
const start = cpuMs();
let builder = new EventBatchBuilder({ capacity: 4096 });
let files = 0;
let parquetBytes = 0;
let rows = 0;
let bodies = 0;
let bodyBytes = 0;

/** The end of one file: its table, encoded at the last depth. */
function finishFile(): void {
  const table = builder.finish();
  builder = new EventBatchBuilder({ capacity: 4096 });
  files++;
  if (depth >= 3) parquetBytes += encodeParquet(table).length;
}

for (;;) {
  const response = await fetch(`${baseUri}/records?timeout=1000&max_bytes=${maxBytes}`, {
    headers: { accept: RECORDS_MEDIA },
  });
  const bytes = await readBoundedBytes(response, 2 * maxBytes + 1048576);
  if (!response.ok) throw new Error(`GET records: HTTP ${response.status}`);
  bodies++;
  bodyBytes += bytes.length;
  if (bytes.length <= 2) break; // `[]`: the backlog is drained
  if (depth === 0) continue;
  const records = JSON.parse(decoder.decode(bytes)) as BodyRecord[];
  if (depth === 1) {
    rows += records.length;
    continue;
  }
  for (const r of records) {
    const result = builder.append(r.value, r.partition, r.offset, ingestedAtMs);
    if (!result.ok) throw new Error(`Cannot append a backlog record: ${result.reason}`);
    if (++rows % fileRows === 0) finishFile();
  }
}
if (depth >= 2 && rows % fileRows !== 0) finishFile();
const spent = cpuMs() - start;
await fetch(baseUri, { method: "DELETE", headers: { "content-type": MEDIA } })
  .then((r) => r.body?.cancel());

// deno-lint-ignore no-console
console.log(
  JSON.stringify({
    depth: DEPTHS[depth],
    rows,
    bodies,
    bodyBytes,
    files,
    parquetBytes,
    cpuMs: spent,
  }),
);
