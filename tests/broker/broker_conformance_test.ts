import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { partitionForKey } from "../../lib/broker/murmur2.ts";
import {
  call,
  createConsumer,
  instancePost,
  produceJson,
  readRecords,
  recordedEvents,
  startTestBroker,
  type TestBroker,
  V2,
  V2_BINARY_EMBEDDED,
  V2_JSON_EMBEDDED,
} from "../_helpers/broker_http.ts";

const FAST = { "consumer.request.timeout.ms": 150 };

async function jsonConsumer(
  tb: TestBroker,
  group: string,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const r = await createConsumer(tb, group, {
    name,
    format: "json",
    "auto.offset.reset": "earliest",
    ...FAST,
    ...extra,
  });
  assert.equal(r.status, 200, r.text);
}

async function subscribe(tb: TestBroker, group: string, name: string, topics: string[]) {
  const r = await instancePost(tb, group, name, "subscription", { topics });
  assert.equal(r.status, 204, r.text);
}

/** Reads until `n` records arrived (or 20 reads passed). */
async function readN(
  tb: TestBroker,
  group: string,
  name: string,
  n: number,
  accept = V2_JSON_EMBEDDED,
  // deno-lint-ignore no-explicit-any
): Promise<any[]> {
  // deno-lint-ignore no-explicit-any
  const out: any[] = [];
  for (let i = 0; i < 20 && out.length < n; i++) {
    const r = await readRecords(tb, group, name, accept);
    assert.equal(r.status, 200, r.text);
    out.push(...r.body);
  }
  return out;
}

Deno.test("broker answers GET / with {} and v2 content type, and GET /v3/clusters with a cluster id", async () => {
  await using tb = await startTestBroker();
  const root = await call(tb.url("/"), { headers: { accept: V2 } });
  assert.equal(root.status, 200);
  assert.equal(root.contentType, V2);
  assert.deepEqual(root.body, {});
  const clusters = await call(tb.url("/v3/clusters"));
  assert.equal(clusters.status, 200);
  assert.equal(clusters.body.data[0].cluster_id, "wikistream-local-broker");
});

Deno.test("broker rejects plain application/json on v2 produce with 415", async () => {
  await using tb = await startTestBroker();
  const r = await call(tb.url("/topics/t"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: { records: [{ value: 1 }] },
  });
  assert.equal(r.status, 415);
  assert.deepEqual(r.body, { error_code: 415, message: "HTTP 415 Unsupported Media Type" });
});

Deno.test("broker answers 422 Unrecognized field for unknown record fields and empty records", async () => {
  await using tb = await startTestBroker();
  const unknown = await produceJson(tb, "t", [{ value: 1, timestamp: 5 }]);
  assert.equal(unknown.status, 422);
  assert.deepEqual(unknown.body, { error_code: 422, message: "Unrecognized field: timestamp" });
  const empty = await produceJson(tb, "t", []);
  assert.equal(empty.status, 422);
  assert.equal(empty.body.error_code, 422);
  const noBody = await call(tb.url("/topics/t"), {
    method: "POST",
    headers: { "content-type": V2_JSON_EMBEDDED },
  });
  assert.equal(noBody.status, 422);
});

Deno.test("broker answers 400 for malformed JSON and for invalid base64 in binary produce", async () => {
  await using tb = await startTestBroker();
  const bad = await call(tb.url("/topics/t"), {
    method: "POST",
    headers: { "content-type": V2_JSON_EMBEDDED },
    body: "{not json",
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 400);
  const b64 = await call(tb.url("/topics/t"), {
    method: "POST",
    headers: { "content-type": V2_BINARY_EMBEDDED },
    body: { records: [{ value: "aGVsbG8=" }, { value: "not base64!" }] },
  });
  assert.equal(b64.status, 400);
  assert.match(b64.body.message, /is not a \(valid\) base64 string/);
  // nothing of the failed request was written
  const topics = await call(tb.url("/topics"));
  assert.deepEqual(topics.body, []);
});

Deno.test("broker produce response has one entry per record with null error fields and schema ids", async () => {
  await using tb = await startTestBroker();
  const r = await produceJson(tb, "t", [{ value: { a: 1 }, partition: 1 }, {
    value: 2,
    partition: 1,
  }]);
  assert.equal(r.status, 200);
  assert.equal(r.contentType, V2);
  assert.deepEqual(r.body, {
    offsets: [
      { partition: 1, offset: 0, error_code: null, error: null },
      { partition: 1, offset: 1, error_code: null, error: null },
    ],
    key_schema_id: null,
    value_schema_id: null,
  });
});

Deno.test("broker fails an oversized record with 50002 RecordTooLarge and still writes the others", async () => {
  await using tb = await startTestBroker({ partitions: 1 });
  const big = "x".repeat(1_048_576); // the JSON text adds 2 quote bytes: over the 1 MiB default
  const r = await produceJson(tb, "big", [{ value: 1 }, { value: big }, { key: "k", value: 2 }]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.offsets, [
    { partition: 0, offset: 0, error_code: null, error: null },
    {
      partition: null,
      offset: null,
      error_code: 50002,
      error: "The message is 1048578 bytes when serialized which is larger than 1048576, " +
        "which is the value of the max.request.size configuration.",
    },
    { partition: 0, offset: 1, error_code: null, error: null },
  ]);
  // Key bytes count too, and the limit is configurable.
  await using small = await startTestBroker({ partitions: 1, maxRecordBytes: 10 });
  const keyed = await produceJson(small, "t", [
    { key: "kkkk", value: "vvvv" }, // 6 + 6 bytes of JSON text
    { key: "kk", value: "vvvv" }, // 4 + 6
  ]);
  assert.deepEqual(keyed.body.offsets.map((o: { error_code: number | null }) => o.error_code), [
    50002,
    null,
  ]);
});

Deno.test("broker places json keys by murmur2 of their JSON text and lets explicit partitions win", async () => {
  await using tb = await startTestBroker({ partitions: 5 });
  const keys = ["abc", "Q42", "enwiki", "x", "some longer key 123"];
  const r = await produceJson(tb, "keyed", keys.map((key) => ({ key, value: key })));
  assert.equal(r.status, 200);
  const encoder = new TextEncoder();
  keys.forEach((key, i) => {
    assert.equal(
      r.body.offsets[i].partition,
      partitionForKey(encoder.encode(JSON.stringify(key)), 5),
    );
  });
  const explicit = await produceJson(tb, "keyed", [{ key: "abc", value: 1, partition: 4 }]);
  assert.equal(explicit.body.offsets[0].partition, 4);
  const bad = await produceJson(tb, "keyed", [{ value: 1, partition: 9 }]);
  assert.equal(bad.status, 404);
  assert.equal(bad.body.error_code, 40402);
});

Deno.test("broker produces to a partition path and reports beginning and end offsets", async () => {
  await using tb = await startTestBroker();
  const r = await call(tb.url("/topics/p/partitions/2"), {
    method: "POST",
    headers: { "content-type": V2_JSON_EMBEDDED },
    body: { records: [{ value: 1 }, { key: "k", value: 2 }] },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.offsets.map((o: { partition: number }) => o.partition), [2, 2]);
  const offsets = await call(tb.url("/topics/p/partitions/2/offsets"));
  assert.deepEqual(offsets.body, { beginning_offset: 0, end_offset: 2 });
  const missing = await call(tb.url("/topics/p/partitions/7/offsets"));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error_code, 40402);
});

Deno.test("broker auto-creates topics with the default partition count and serves metadata", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "auto", [{ value: 1 }]);
  assert.deepEqual((await call(tb.url("/topics"))).body, ["auto"]);
  const meta = await call(tb.url("/topics/auto"));
  assert.equal(meta.body.name, "auto");
  assert.equal(meta.body.partitions.length, 3);
  const parts = await call(tb.url("/topics/auto/partitions"));
  assert.equal(parts.body.length, 3);
  const unknown = await call(tb.url("/topics/nope"));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_code, 40401);
});

Deno.test("broker creates instances with 200, instance_id and a base_uri from the Host header", async () => {
  await using tb = await startTestBroker();
  const r = await createConsumer(tb, "g", { name: "c1", format: "json" });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    instance_id: "c1",
    base_uri: new URL("consumers/g/instances/c1", tb.broker.url).href,
  });
  const generated = await createConsumer(tb, "g", {});
  assert.match(generated.body.instance_id, /^rest-consumer-/);
});

Deno.test("broker uses the advertised URL in base_uri when configured", async () => {
  await using tb = await startTestBroker({ advertisedUrl: "http://proxy.example:8082" });
  const r = await createConsumer(tb, "g", { name: "c1" });
  assert.equal(r.body.base_uri, "http://proxy.example:8082/consumers/g/instances/c1");
});

Deno.test("broker rejects a duplicate instance name with 409 40902", async () => {
  await using tb = await startTestBroker();
  await createConsumer(tb, "g", { name: "dup" });
  const r = await createConsumer(tb, "g", { name: "dup" });
  assert.equal(r.status, 409);
  assert.equal(r.body.error_code, 40902);
});

Deno.test("broker validates create bodies: 42204 bad config, 40001 min bytes, 422 unknown field and format", async () => {
  await using tb = await startTestBroker();
  const reset = await createConsumer(tb, "g", { "auto.offset.reset": "bad-config" });
  assert.equal(reset.status, 422);
  assert.equal(reset.body.error_code, 42204);
  assert.match(reset.body.message, /^Invalid consumer configuration: /);
  const minBytes = await createConsumer(tb, "g", { "fetch.min.bytes": 10_000_001 });
  assert.equal(minBytes.status, 422);
  assert.equal(minBytes.body.error_code, 40001);
  const unknown = await createConsumer(tb, "g", { colour: "red" });
  assert.deepEqual(unknown.body, { error_code: 422, message: "Unrecognized field: colour" });
  const format = await createConsumer(tb, "g", { format: "xml" });
  assert.equal(format.status, 422);
  assert.equal(format.body.error_code, 422);
});

Deno.test("broker answers 40403 for calls on unknown instances and after DELETE", async () => {
  await using tb = await startTestBroker();
  const r = await readRecords(tb, "g", "ghost");
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { error_code: 40403, message: "Consumer instance not found." });
  await createConsumer(tb, "g", { name: "c" });
  const del = await call(tb.url("/consumers/g/instances/c"), {
    method: "DELETE",
    headers: { "content-type": V2 },
  });
  assert.equal(del.status, 204);
  assert.equal(del.text, "");
  const again = await call(tb.url("/consumers/g/instances/c"), { method: "DELETE" });
  assert.equal(again.status, 404);
  assert.equal(again.body.error_code, 40403);
});

Deno.test("broker routes reads without Accept to the binary reader (40601 for json instances) and 406s unknown Accepts", async () => {
  await using tb = await startTestBroker();
  await jsonConsumer(tb, "g", "c");
  await subscribe(tb, "g", "c", ["t"]);
  const noAccept = await readRecords(tb, "g", "c", null);
  assert.equal(noAccept.status, 406);
  assert.equal(noAccept.body.error_code, 40601);
  const binary = await readRecords(tb, "g", "c", V2_BINARY_EMBEDDED);
  assert.equal(binary.body.error_code, 40601);
  const text = await readRecords(tb, "g", "c", "text/plain");
  assert.equal(text.status, 406);
  assert.equal(text.text, "");
  const meta = await call(tb.url("/topics"), { headers: { accept: "text/html" } });
  assert.equal(meta.status, 406);
  assert.equal(meta.text, "");
});

Deno.test("broker answers 500 for a read with neither subscription nor assignment", async () => {
  await using tb = await startTestBroker();
  await jsonConsumer(tb, "g", "c");
  const r = await readRecords(tb, "g", "c");
  assert.equal(r.status, 500);
  assert.deepEqual(r.body, { error_code: 500, message: "Internal Server Error" });
});

Deno.test("broker answers 40903 for assign after subscribe and for seeking unassigned partitions", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [{ value: 1 }]);
  await jsonConsumer(tb, "g", "c");
  await subscribe(tb, "g", "c", ["t"]);
  const assign = await instancePost(tb, "g", "c", "assignments", {
    partitions: [{ topic: "t", partition: 0 }],
  });
  assert.equal(assign.status, 409);
  assert.equal(assign.body.error_code, 40903);
  const seek = await instancePost(tb, "g", "c", "positions", {
    offsets: [{ topic: "t", partition: 0, offset: 0 }],
  });
  assert.equal(seek.status, 409);
  assert.equal(seek.body.error_code, 40903);
  await jsonConsumer(tb, "g2", "m");
  assert.equal(
    (await instancePost(tb, "g2", "m", "assignments", {
      partitions: [{ topic: "t", partition: 0 }],
    }))
      .status,
    204,
  );
  const sub = await instancePost(tb, "g2", "m", "subscription", { topics: ["t"] });
  assert.equal(sub.status, 409);
  assert.equal(sub.body.error_code, 40903);
});

Deno.test("broker round-trips recorded events: consumed equals produced in per-partition order", async () => {
  await using tb = await startTestBroker();
  const events = await recordedEvents(200);
  const produced = await produceJson(
    tb,
    "wikimedia-changes",
    events.map((e) => ({ key: (e.meta as { id: string }).id, value: e })),
  );
  assert.equal(produced.status, 200);
  await jsonConsumer(tb, "g", "c");
  await subscribe(tb, "g", "c", ["wikimedia-changes"]);
  const got = await readN(tb, "g", "c", events.length);
  assert.equal(got.length, events.length);
  for (let p = 0; p < 3; p++) {
    const want = events.filter((_, i) => produced.body.offsets[i].partition === p);
    const have = got.filter((r) => r.partition === p);
    assert.deepEqual(have.map((r) => r.value), want);
    assert.deepEqual(have.map((r) => r.offset), want.map((_, i) => i));
    assert.deepEqual(have.map((r) => r.key), want.map((e) => (e.meta as { id: string }).id));
  }
});

Deno.test("broker round-trips binary records as base64 and null keys as null", async () => {
  await using tb = await startTestBroker();
  const value = Buffer.from([0, 1, 2, 250, 255]).toString("base64");
  const r = await call(tb.url("/topics/bin"), {
    method: "POST",
    headers: { "content-type": V2_BINARY_EMBEDDED },
    body: { records: [{ value, partition: 0 }, { key: "a2V5", value: null, partition: 0 }] },
  });
  assert.equal(r.status, 200);
  await createConsumer(tb, "g", { name: "b", "auto.offset.reset": "earliest", ...FAST });
  await subscribe(tb, "g", "b", ["bin"]);
  const got = await readN(tb, "g", "b", 2, V2_BINARY_EMBEDDED);
  assert.deepEqual(got, [
    { topic: "bin", key: null, value, partition: 0, offset: 0 },
    { topic: "bin", key: "a2V5", value: null, partition: 0, offset: 1 },
  ]);
});

Deno.test("broker starts new groups at the end by default (auto.offset.reset latest)", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [{ value: "old", partition: 0 }]);
  const c = await createConsumer(tb, "g", { name: "c", format: "json", ...FAST });
  assert.equal(c.status, 200);
  await subscribe(tb, "g", "c", ["t"]);
  assert.deepEqual((await readRecords(tb, "g", "c")).body, []);
  await produceJson(tb, "t", [{ value: "new", partition: 0 }]);
  const got = await readN(tb, "g", "c", 1);
  assert.deepEqual(got.map((r) => r.value), ["new"]);
});

Deno.test("broker stores committed offset + 1 and a new instance resumes there", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [0, 1, 2, 3, 4].map((v) => ({ value: v, partition: 0 })));
  await jsonConsumer(tb, "g", "a", { "auto.commit.enable": "false" });
  await subscribe(tb, "g", "a", ["t"]);
  assert.equal((await readN(tb, "g", "a", 5)).length, 5);
  const commit = await instancePost(tb, "g", "a", "offsets", {
    offsets: [{ topic: "t", partition: 0, offset: 2 }],
  });
  assert.equal(commit.status, 200);
  assert.deepEqual(commit.body, []);
  await call(tb.url("/consumers/g/instances/a"), { method: "DELETE" });
  await jsonConsumer(tb, "g", "b", { "auto.commit.enable": "false" });
  await subscribe(tb, "g", "b", ["t"]);
  const got = await readN(tb, "g", "b", 2);
  assert.deepEqual(got.map((r) => r.offset), [3, 4]);
});

Deno.test("broker empty-body commit commits everything returned so far", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [0, 1, 2].map((v) => ({ value: v, partition: 1 })));
  await jsonConsumer(tb, "g", "a", { "auto.commit.enable": "false" });
  await subscribe(tb, "g", "a", ["t"]);
  assert.equal((await readN(tb, "g", "a", 3)).length, 3);
  assert.equal((await instancePost(tb, "g", "a", "offsets")).status, 200);
  await call(tb.url("/consumers/g/instances/a"), { method: "DELETE" });
  await produceJson(tb, "t", [{ value: 3, partition: 1 }]);
  await jsonConsumer(tb, "g", "b", { "auto.commit.enable": "false" });
  await subscribe(tb, "g", "b", ["t"]);
  assert.deepEqual((await readN(tb, "g", "b", 1)).map((r) => r.value), [3]);
});

Deno.test("broker auto-commits positions on DELETE when auto.commit.enable is true (the default)", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [0, 1].map((v) => ({ value: v, partition: 0 })));
  await jsonConsumer(tb, "g", "a");
  await subscribe(tb, "g", "a", ["t"]);
  assert.equal((await readN(tb, "g", "a", 2)).length, 2);
  await call(tb.url("/consumers/g/instances/a"), { method: "DELETE" });
  await jsonConsumer(tb, "g", "b");
  await subscribe(tb, "g", "b", ["t"]);
  assert.deepEqual((await readRecords(tb, "g", "b")).body, []);
});

Deno.test("broker GET offsets without a body answers 40402", async () => {
  await using tb = await startTestBroker();
  await jsonConsumer(tb, "g", "a");
  const r = await call(tb.url("/consumers/g/instances/a/offsets"));
  assert.equal(r.status, 404);
  assert.equal(r.body.error_code, 40402);
});

Deno.test("broker rebalances partitions across two instances and back on DELETE", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [0, 1, 2].map((p) => ({ value: p, partition: p })));
  await jsonConsumer(tb, "g", "a", { "auto.commit.enable": "false" });
  await jsonConsumer(tb, "g", "b", { "auto.commit.enable": "false" });
  await subscribe(tb, "g", "a", ["t"]);
  await subscribe(tb, "g", "b", ["t"]);
  const ra = await readRecords(tb, "g", "a");
  const rb = await readRecords(tb, "g", "b");
  const partitions = (name: string) =>
    call(tb.url(`/consumers/g/instances/${name}/assignments`)).then((r) =>
      r.body.partitions.map((p: { partition: number }) => p.partition)
    );
  const pa: number[] = await partitions("a");
  const pb: number[] = await partitions("b");
  assert.deepEqual([...pa, ...pb].sort(), [0, 1, 2]);
  assert.ok(pa.length > 0 && pb.length > 0);
  const values = [...ra.body, ...rb.body].map((r) => r.value).sort();
  assert.deepEqual(values, [0, 1, 2]);
  await call(tb.url("/consumers/g/instances/b"), { method: "DELETE" });
  await readRecords(tb, "g", "a");
  assert.deepEqual((await partitions("a")).sort(), [0, 1, 2]);
});

Deno.test("broker expires idle instances after the instance timeout", async () => {
  await using tb = await startTestBroker({ instanceTimeoutMs: 100 });
  await jsonConsumer(tb, "g", "a");
  let status = 200;
  for (let i = 0; i < 50 && status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 50));
    status =
      (await call(tb.url("/consumers/g/instances/a/subscription"), { method: "GET" })).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 404);
});

Deno.test("broker returns early once fetch.min.bytes is exceeded", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [{ value: "x".repeat(100), partition: 0 }]);
  await jsonConsumer(tb, "g", "a", { "consumer.request.timeout.ms": 60_000, "fetch.min.bytes": 1 });
  await subscribe(tb, "g", "a", ["t"]);
  // without the early return this read would take a minute and hit the abort
  const res = await fetch(tb.url("/consumers/g/instances/a/records"), {
    headers: { accept: V2_JSON_EMBEDDED },
    signal: AbortSignal.timeout(20_000),
  });
  const body = await res.json();
  assert.equal(body.length, 1);
});

Deno.test("broker never returns a record at or above max_bytes and caps reads by max_bytes", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [
    { value: "a".repeat(50), partition: 0 },
    { value: "b".repeat(50), partition: 0 },
  ]);
  await jsonConsumer(tb, "g", "a");
  await subscribe(tb, "g", "a", ["t"]);
  const tiny = await readRecords(tb, "g", "a", V2_JSON_EMBEDDED, "max_bytes=20");
  assert.deepEqual(tiny.body, []);
  const one = await readRecords(tb, "g", "a", V2_JSON_EMBEDDED, "max_bytes=100");
  assert.equal(one.body.length, 1);
  const rest = await readRecords(tb, "g", "a", V2_JSON_EMBEDDED, "max_bytes=1000");
  assert.deepEqual(rest.body.map((r: { offset: number }) => r.offset), [1]);
});

Deno.test("broker answers 408 40801 when a json instance meets a non-JSON value until it seeks past it", async () => {
  await using tb = await startTestBroker();
  await call(tb.url("/topics/t/partitions/0"), {
    method: "POST",
    headers: { "content-type": V2_BINARY_EMBEDDED },
    body: { records: [{ value: btoa("not json{") }, { value: btoa('{"ok":true}') }] },
  });
  await jsonConsumer(tb, "g", "a");
  await instancePost(tb, "g", "a", "assignments", { partitions: [{ topic: "t", partition: 0 }] });
  const first = await readRecords(tb, "g", "a");
  assert.equal(first.status, 408);
  assert.equal(first.body.error_code, 40801);
  assert.equal((await readRecords(tb, "g", "a")).status, 408);
  const seek = await instancePost(tb, "g", "a", "positions", {
    offsets: [{ topic: "t", partition: 0, offset: 1 }],
  });
  assert.equal(seek.status, 204);
  assert.deepEqual((await readRecords(tb, "g", "a")).body.map((r: { value: unknown }) => r.value), [
    { ok: true },
  ]);
});

Deno.test("broker seeks to beginning and end of assigned partitions", async () => {
  await using tb = await startTestBroker();
  await produceJson(tb, "t", [1, 2].map((v) => ({ value: v, partition: 0 })));
  await jsonConsumer(tb, "g", "a", { "auto.offset.reset": "latest" });
  await instancePost(tb, "g", "a", "assignments", { partitions: [{ topic: "t", partition: 0 }] });
  assert.deepEqual(
    (await call(tb.url("/consumers/g/instances/a/assignments"))).body,
    { partitions: [{ topic: "t", partition: 0 }] },
  );
  assert.deepEqual((await readRecords(tb, "g", "a")).body, []);
  const begin = await instancePost(tb, "g", "a", "positions/beginning", {
    partitions: [{ topic: "t", partition: 0 }],
  });
  assert.equal(begin.status, 204);
  assert.equal((await readRecords(tb, "g", "a")).body.length, 2);
  await instancePost(tb, "g", "a", "positions/beginning", {
    partitions: [{ topic: "t", partition: 0 }],
  });
  await instancePost(tb, "g", "a", "positions/end", { partitions: [{ topic: "t", partition: 0 }] });
  assert.deepEqual((await readRecords(tb, "g", "a")).body, []);
});

Deno.test("broker reports and removes subscriptions", async () => {
  await using tb = await startTestBroker();
  await jsonConsumer(tb, "g", "a");
  await subscribe(tb, "g", "a", ["x", "y"]);
  assert.deepEqual((await call(tb.url("/consumers/g/instances/a/subscription"))).body, {
    topics: ["x", "y"],
  });
  const del = await call(tb.url("/consumers/g/instances/a/subscription"), { method: "DELETE" });
  assert.equal(del.status, 204);
  assert.deepEqual((await call(tb.url("/consumers/g/instances/a/subscription"))).body, {
    topics: [],
  });
});

Deno.test("broker answers 404 and 405 like the framework for unknown paths and methods", async () => {
  await using tb = await startTestBroker();
  const missing = await call(tb.url("/nope"));
  assert.deepEqual(missing.body, { error_code: 404, message: "HTTP 404 Not Found" });
  const method = await call(tb.url("/topics"), { method: "PUT" });
  assert.equal(method.status, 405);
  assert.equal(method.body.error_code, 405);
  const admin = await call(tb.url("/_admin/faults"), { method: "DELETE" });
  assert.equal(admin.status, 404, "admin endpoints are off unless faults are enabled");
});

Deno.test("broker fault injector fails the next N matching requests", async () => {
  await using tb = await startTestBroker();
  tb.broker.faults.add({
    method: "POST",
    path: "^/topics/",
    status: 500,
    error_code: 50003,
    count: 2,
  });
  assert.equal((await produceJson(tb, "t", [{ value: 1 }])).body.error_code, 50003);
  assert.equal((await produceJson(tb, "t", [{ value: 1 }])).status, 500);
  assert.equal((await produceJson(tb, "t", [{ value: 1 }])).status, 200);
});

Deno.test("broker admin faults fail every 2nd record with a per-record code inside HTTP 200", async () => {
  await using tb = await startTestBroker({ faults: true });
  const add = await call(tb.url("/_admin/faults"), {
    method: "POST",
    body: { path: "^/topics/", per_record_error_code: 50003, every: 2, count: 1 },
  });
  assert.equal(add.status, 200);
  const r = await produceJson(tb, "t", [1, 2, 3, 4].map((v) => ({ value: v, partition: 0 })));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.offsets.map((o: { error_code: number | null }) => o.error_code), [
    null,
    50003,
    null,
    50003,
  ]);
  assert.deepEqual(r.body.offsets[1].partition, null);
  assert.deepEqual(r.body.offsets.map((o: { offset: number | null }) => o.offset), [
    0,
    null,
    1,
    null,
  ]);
  assert.equal((await call(tb.url("/_admin/faults"), { method: "DELETE" })).status, 204);
});

Deno.test("broker admin expire-instances destroys every instance", async () => {
  await using tb = await startTestBroker({ faults: true });
  await jsonConsumer(tb, "g", "a");
  const r = await call(tb.url("/_admin/expire-instances"), { method: "POST" });
  assert.deepEqual(r.body, { expired: 1 });
  assert.equal((await readRecords(tb, "g", "a")).body.error_code, 40403);
});
