import assert from "node:assert/strict";
import { partitionForKey } from "../../lib/broker/murmur2.ts";
import { call, produceJson, startTestBroker, type TestBroker } from "../_helpers/broker_http.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";

const CLUSTER = "wikistream-local-broker";
const JSON_TYPE = "application/json";
const utf8 = new TextEncoder();

function recordsPath(topic: string, cluster = CLUSTER): string {
  return `/v3/clusters/${cluster}/topics/${topic}/records`;
}

async function createTopic(tb: TestBroker, name: string, partitions = 3): Promise<void> {
  const r = await call(tb.url(`/v3/clusters/${CLUSTER}/topics`), {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: { topic_name: name, partitions_count: partitions },
  });
  assert.equal(r.status, 201, r.text);
}

/** POSTs a v3 produce body and splits the answer into its delivery reports. */
async function produceV3(
  tb: TestBroker,
  topic: string,
  body: string,
  headers: Record<string, string> = { "content-type": JSON_TYPE, accept: JSON_TYPE },
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; text: string; reports: any[]; body: any }> {
  const r = await call(tb.url(recordsPath(topic)), { method: "POST", headers, body });
  const reports = r.status === 200
    ? r.text.split("\r\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    : [];
  return { status: r.status, text: r.text, reports, body: r.body };
}

function jsonRecord(value: unknown, key?: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ...(key === undefined ? {} : { key: { type: "JSON", data: key } }),
    value: { type: "JSON", data: value },
    ...extra,
  });
}

/** A request body that is fed by the test, chunk by chunk. */
function feedableBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    send: (text: string) => controller.enqueue(utf8.encode(text)),
    end: () => controller.close(),
  };
}

function streamingPost(tb: TestBroker, topic: string, body: ReadableStream<Uint8Array>) {
  return fetch(tb.url(recordsPath(topic)), {
    method: "POST",
    headers: { "content-type": JSON_TYPE, accept: JSON_TYPE },
    body,
    duplex: "half",
  } as RequestInit);
}

/** Reads delivery reports from a streaming answer until `n` arrived. */
async function nextReports(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  n: number,
  state: { text: string },
  // deno-lint-ignore no-explicit-any
): Promise<any[]> {
  const decoder = new TextDecoder();
  for (;;) {
    const lines = state.text.split("\r\n");
    if (lines.length - 1 >= n) {
      state.text = lines.slice(n).join("\r\n");
      return lines.slice(0, n).map((l) => JSON.parse(l));
    }
    const { done, value } = await reader.read();
    if (done) throw new Error(`the answer ended before ${n} reports: ${state.text}`);
    state.text += decoder.decode(value, { stream: true });
  }
}

Deno.test("broker v3 lists one cluster with a stable id, answers it by id and 404 for another", async () => {
  await using tb = await startTestBroker();
  const list = await call(tb.url("/v3/clusters"), { headers: { accept: JSON_TYPE } });
  assert.equal(list.status, 200);
  assert.equal(list.body.kind, "KafkaClusterList");
  assert.equal(list.body.data.length, 1);
  assert.equal(list.body.data[0].cluster_id, CLUSTER);
  const one = await call(tb.url(`/v3/clusters/${CLUSTER}`));
  assert.equal(one.status, 200);
  assert.equal(one.body.kind, "KafkaCluster");
  assert.equal(one.body.cluster_id, CLUSTER);
  const other = await call(tb.url("/v3/clusters/lkc-nope"));
  assert.equal(other.status, 404);
  assert.equal(other.body.error_code, 404);
});

Deno.test("broker v3 creates a topic with 201 and refuses an existing one with 400 40002", async () => {
  await using tb = await startTestBroker();
  const created = await call(tb.url(`/v3/clusters/${CLUSTER}/topics`), {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: { topic_name: "t", partitions_count: 2 },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.kind, "KafkaTopic");
  assert.equal(created.body.partitions_count, 2);
  const again = await call(tb.url(`/v3/clusters/${CLUSTER}/topics`), {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: { topic_name: "t" },
  });
  assert.equal(again.status, 400);
  assert.deepEqual(again.body, { error_code: 40002, message: "Topic 't' already exists." });
});

Deno.test("broker v3 single produce answers 200 with one success report carrying partition, offset, types and sizes", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 3);
  const r = await produceV3(
    tb,
    "t",
    jsonRecord({ a: 1 }, "k", { timestamp: "2026-01-02T03:04:05.000Z" }),
  );
  assert.equal(r.status, 200, r.text);
  assert.ok(r.text.endsWith("\r\n"), "reports end with CRLF");
  assert.deepEqual(r.reports, [{
    error_code: 200,
    cluster_id: CLUSTER,
    topic_name: "t",
    partition_id: partitionForKey(utf8.encode('"k"'), 3),
    offset: 0,
    timestamp: "2026-01-02T03:04:05.000Z",
    key: { type: "JSON", size: 3 },
    value: { type: "JSON", size: 7 },
  }]);
});

Deno.test("broker v3 streaming produce answers one report per concatenated record, in order", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  // newline, CRLF, spaces and nothing at all between objects
  const body = [1, 2, 3, 4, 5].map((v) => jsonRecord(v)).join("\n").replace("\n", "\r\n  ") +
    jsonRecord(6);
  const r = await produceV3(tb, "t", body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.reports.map((x) => [x.error_code, x.partition_id, x.offset]), [
    [200, 0, 0],
    [200, 0, 1],
    [200, 0, 2],
    [200, 0, 3],
    [200, 0, 4],
    [200, 0, 5],
  ]);
  assert.ok(r.reports.every((x) => x.key === undefined), "no key object without a key");
});

Deno.test("broker v3 answers a bad record with a 400 report and goes on with the next ones", async () => {
  await using tb = await startTestBroker({ maxRecordBytes: 100 });
  await createTopic(tb, "t", 1);
  const body = [
    jsonRecord(1),
    jsonRecord(2, undefined, { headers_x: 1 }),
    JSON.stringify({ value: { type: "BINARY", data: "not base64!" } }),
    JSON.stringify({ value: { data: { no: "type" } } }),
    JSON.stringify({ value: { type: "AVRO", data: 1 } }),
    jsonRecord(3, undefined, { partition_id: 7 }),
    jsonRecord("x".repeat(200)),
    '{"value": {"type": "JSON", "data": tru}}',
    jsonRecord(4),
  ].join("\n");
  const r = await produceV3(tb, "t", body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.reports.map((x) => x.error_code), [
    200,
    400,
    400,
    400,
    400,
    40402,
    413,
    400,
    200,
  ]);
  assert.equal(r.reports[1].message, "Unrecognized field: headers_x");
  assert.match(r.reports[2].message, /BINARY data must be a base64 string/);
  assert.match(r.reports[3].message, /"type" must be JSON, STRING or BINARY/);
  assert.match(r.reports[6].message, /larger than 100/);
  assert.deepEqual([r.reports[0].offset, r.reports[8].offset], [0, 1]);
  const stored = await readAllRecords(tb.broker.url, "t");
  assert.deepEqual(stored.map((s) => s.value), [1, 4]);
});

Deno.test("broker v3 ends the stream with a 400 report where the body stops being JSON objects", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const r = await produceV3(tb, "t", `${jsonRecord(1)}\n${jsonRecord(2)}\n[1,2]\n${jsonRecord(3)}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.reports.map((x) => x.error_code), [200, 200, 400]);
  assert.match(r.reports[2].message, /expected a JSON object/);
  const cut = await produceV3(tb, "t", `${jsonRecord(4)}{"value":{"type":"JSON"`);
  assert.deepEqual(cut.reports.map((x) => x.error_code), [200, 400]);
  assert.match(cut.reports[1].message, /ends inside a JSON object/);
  const stored = await readAllRecords(tb.broker.url, "t");
  assert.deepEqual(stored.map((s) => s.value), [1, 2, 4]);
});

Deno.test("broker v3 refuses whole requests: unknown cluster 404, unknown topic 404 40401, empty body 422 42206, 415, 406", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const cluster = await call(tb.url(recordsPath("t", "lkc-other")), {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: jsonRecord(1),
  });
  assert.equal(cluster.status, 404);
  assert.deepEqual(cluster.body, {
    error_code: 404,
    message: "Cluster lkc-other cannot be found.",
  });
  const topic = await produceV3(tb, "missing", jsonRecord(1));
  assert.equal(topic.status, 404);
  assert.deepEqual(topic.body, { error_code: 40401, message: "Topic not found." });
  const empty = await produceV3(tb, "t", "  \r\n ");
  assert.equal(empty.status, 422);
  assert.deepEqual(empty.body, {
    error_code: 42206,
    message: "Payload error. Request body is empty. Data is required.",
  });
  const v2Type = await produceV3(tb, "t", jsonRecord(1), {
    "content-type": "application/vnd.kafka.json.v2+json",
  });
  assert.equal(v2Type.status, 415);
  const accept = await produceV3(tb, "t", jsonRecord(1), {
    "content-type": JSON_TYPE,
    accept: "application/vnd.kafka.v2+json",
  });
  assert.equal(accept.status, 406);
  assert.equal(accept.text, "");
  const stored = await readAllRecords(tb.broker.url, "t");
  assert.equal(stored.length, 0, "nothing of a refused request was written");
});

Deno.test("broker v3 caps each record at BROKER_MAX_BODY_BYTES, not the stream, and gives back its buffer", async () => {
  await using tb = await startTestBroker({ maxBodyBytes: 1024 });
  await createTopic(tb, "t", 1);
  // 50 records of ~60 bytes: 3 KB in all, three times the cap
  const many = await produceV3(
    tb,
    "t",
    Array.from({ length: 50 }, (_, i) => jsonRecord(i)).join(""),
  );
  assert.equal(many.status, 200, many.text);
  assert.equal(many.reports.length, 50);
  assert.ok(many.reports.every((x) => x.error_code === 200));
  const big = await produceV3(
    tb,
    "t",
    `${jsonRecord(1)}${jsonRecord("y".repeat(2000))}${jsonRecord(2)}`,
  );
  assert.deepEqual(big.reports.map((x) => x.error_code), [200, 413]);
  assert.match(big.reports[1].message, /longer than 1024 bytes \(BROKER_MAX_BODY_BYTES\)/);
  assert.equal(tb.broker.stats().bufferedBodyBytes, 0);
});

Deno.test("broker v3 answers each record of an open stream as it arrives, before the body ends", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const feed = feedableBody();
  feed.send(jsonRecord(1));
  const response = await streamingPost(tb, "t", feed.body);
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  const state = { text: "" };
  assert.deepEqual((await nextReports(reader, 1, state)).map((x) => x.offset), [0]);
  feed.send(`${jsonRecord(2)}\n${jsonRecord(3)}`);
  assert.deepEqual((await nextReports(reader, 2, state)).map((x) => x.offset), [1, 2]);
  feed.end();
  assert.equal((await reader.read()).done, true);
  assert.equal(tb.broker.stats().bufferedBodyBytes, 0);
});

Deno.test("broker v3 ends an idle stream with a 408 report after answering what it received", async () => {
  await using tb = await startTestBroker({ bodyIdleTimeoutMs: 200 });
  await createTopic(tb, "t", 1);
  const feed = feedableBody();
  feed.send(`${jsonRecord(1)}{"value":`);
  const response = await streamingPost(tb, "t", feed.body);
  const reader = response.body!.getReader();
  const state = { text: "" };
  const reports = await nextReports(reader, 2, state);
  assert.deepEqual(reports.map((x) => x.error_code), [200, 408]);
  assert.match(reports[1].message, /BROKER_BODY_IDLE_TIMEOUT_MS/);
  assert.equal((await reader.read()).done, true);
  feed.end();
  assert.equal(tb.broker.stats().bufferedBodyBytes, 0);
});

Deno.test("broker v3 records read back through the v2 json consumer exactly like v2-produced ones", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "via-v3", 3);
  await createTopic(tb, "via-v2", 3);
  const records = [
    { key: "en.wikipedia.org/Main Page", value: { id: 1, title: "Main Page", text: "é ✓ \u2028" } },
    { key: "de.wikipedia.org/Köln", value: { id: 2, nested: { a: [1, null, true] } } },
    { key: undefined, value: { id: 3 } },
    { key: "en.wikipedia.org/Main Page", value: { id: 4, n: 1.5e-7 } },
  ];
  const v2 = await produceJson(tb, "via-v2", records.map((r) => ({ key: r.key, value: r.value })));
  assert.equal(v2.status, 200, v2.text);
  const v3 = await produceV3(tb, "via-v3", records.map((r) => jsonRecord(r.value, r.key)).join(""));
  assert.ok(v3.reports.every((x) => x.error_code === 200), v3.text);
  const keyed = (rs: Awaited<ReturnType<typeof readAllRecords>>) =>
    rs.filter((r) => r.key !== null).map((r) => ({
      partition: r.partition,
      key: r.key,
      value: r.value,
    }));
  const fromV2 = await readAllRecords(tb.broker.url, "via-v2");
  const fromV3 = await readAllRecords(tb.broker.url, "via-v3");
  // keyed records land on the same partitions in the same order; the unkeyed one may not
  assert.deepEqual(keyed(fromV3), keyed(fromV2));
  assert.deepEqual(
    fromV3.map((r) => [r.key, r.value]).sort(),
    fromV2.map((r) => [r.key, r.value]).sort(),
  );
});

Deno.test("broker v3 applies per-record fault rules to streamed records", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  tb.broker.faults.add({
    method: "POST",
    path: "/records$",
    per_record_error_code: 50003,
    every: 2,
  });
  const r = await produceV3(tb, "t", [1, 2, 3, 4].map((v) => jsonRecord(v)).join(""));
  assert.deepEqual(r.reports.map((x) => x.error_code), [200, 50003, 200, 50003]);
});

Deno.test("broker v3 close ends an open stream with a 503 report instead of waiting for its body", async () => {
  const tb = await startTestBroker();
  try {
    await createTopic(tb, "t", 1);
    const feed = feedableBody();
    feed.send(jsonRecord(1));
    const response = await streamingPost(tb, "t", feed.body);
    const reader = response.body!.getReader();
    const state = { text: "" };
    await nextReports(reader, 1, state);
    const closing = tb.broker.close();
    const [report] = await nextReports(reader, 1, state);
    assert.equal(report.error_code, 503);
    assert.match(report.message, /stopping/);
    assert.equal((await reader.read()).done, true, "the answer ends after the report");
    await closing;
    feed.end();
  } finally {
    await tb[Symbol.asyncDispose]();
  }
});

Deno.test("broker v3 gives back a stream's buffer when its client goes away mid-record", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const feed = feedableBody();
  feed.send(`${jsonRecord(1)}{"value":{"type":"JSON","data":"${"z".repeat(5000)}`);
  const abort = new AbortController();
  const response = await fetch(tb.url(recordsPath("t")), {
    method: "POST",
    headers: { "content-type": JSON_TYPE },
    body: feed.body,
    duplex: "half",
    signal: abort.signal,
  } as RequestInit);
  const reader = response.body!.getReader();
  await nextReports(reader, 1, { text: "" });
  assert.ok(tb.broker.stats().bufferedBodyBytes >= 5000, "the record in progress is held");
  abort.abort();
  await reader.cancel().catch(() => {});
  for (let i = 0; i < 100 && tb.broker.stats().bufferedBodyBytes > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(tb.broker.stats().bufferedBodyBytes, 0);
});
