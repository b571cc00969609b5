import assert from "node:assert/strict";
import { RestProxyError } from "../../lib/rest_proxy/rest_proxy_error.ts";
import { RestV3ProducerClient } from "../../lib/rest_proxy/rest_v3_producer_client.ts";
import { recordResultFromReport } from "../../lib/rest_proxy/v3_produce_format.ts";
import { call, startTestBroker, type TestBroker } from "../_helpers/broker_http.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";

const CLUSTER = "wikistream-local-broker";
const utf8 = new TextEncoder();

/** A record from key and value JSON text, the key split in parts like the producer's. */
function rec(key: string | undefined, value: string) {
  return {
    key: key === undefined ? undefined : ['"', key, '"'].map((p) => utf8.encode(p)),
    value: utf8.encode(value),
  };
}

async function createTopic(tb: TestBroker, name: string, partitions = 3): Promise<void> {
  const r = await call(tb.url(`/v3/clusters/${CLUSTER}/topics`), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: { topic_name: name, partitions_count: partitions },
  });
  assert.equal(r.status, 201, r.text);
}

/** The global fetch, recording every URL it is called with. */
function recordingFetch(seen: string[]): typeof fetch {
  return ((input: URL | Request | string, init?: RequestInit) => {
    seen.push(input instanceof Request ? input.url : String(input));
    return fetch(input, init);
  }) as typeof fetch;
}

/** A fetch that answers every call with `respond()`. */
function answering(respond: (url: string) => Response): typeof fetch {
  return ((input: URL | Request | string, init?: RequestInit) => {
    init?.signal?.throwIfAborted();
    return Promise.resolve(respond(input instanceof Request ? input.url : String(input)));
  }) as typeof fetch;
}

const REPORT_OK = (offset: number) =>
  JSON.stringify({ error_code: 200, cluster_id: "c", topic_name: "t", partition_id: 0, offset });

Deno.test("RestV3ProducerClient produces a batch in one request and maps each report to its record", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 3);
  const seen: string[] = [];
  const client = new RestV3ProducerClient({
    baseUrl: tb.broker.url,
    topic: "t",
    clusterId: CLUSTER,
    fetch: recordingFetch(seen),
  });
  const records = [
    rec("en.wikipedia.org/Main Page", '{"id":1,"title":"Main Page"}'),
    rec(undefined, '{"id":2}'),
    rec("de.wikipedia.org/Köln", '{"id":3, "spaced" : [1, 2]}'),
  ];
  const res = await client.produce(records);
  assert.deepEqual(seen, [`${tb.broker.url}v3/clusters/${CLUSTER}/topics/t/records`]);
  assert.equal(res.results.length, 3);
  assert.ok(res.results.every((r) => r.errorCode === null && r.partition !== null));
  const stored = await readAllRecords(tb.broker.url, "t");
  const byId = new Map(stored.map((s) => [(s.value as { id: number }).id, s]));
  records.forEach((_record, i) => {
    const s = byId.get(i + 1)!;
    assert.deepEqual(
      { partition: s.partition, offset: s.offset },
      { partition: res.results[i]!.partition, offset: res.results[i]!.offset },
    );
  });
  assert.equal(byId.get(1)!.key, "en.wikipedia.org/Main Page");
  assert.equal(byId.get(2)!.key, null);
  assert.deepEqual(byId.get(3)!.value, { id: 3, spaced: [1, 2] });
  assert.ok(res.requestBytes > 0);
});

Deno.test("RestV3ProducerClient asks GET /v3/clusters once for the cluster id and keeps it", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const seen: string[] = [];
  const client = new RestV3ProducerClient({
    baseUrl: tb.broker.url,
    topic: "t",
    fetch: recordingFetch(seen),
  });
  await client.produce([rec("a", "1")]);
  await client.produce([rec("b", "2")]);
  assert.deepEqual(seen.map((u) => new URL(u).pathname), [
    "/v3/clusters",
    `/v3/clusters/${CLUSTER}/topics/t/records`,
    `/v3/clusters/${CLUSTER}/topics/t/records`,
  ]);
});

Deno.test("RestV3ProducerClient appends the v3 paths to a base URL with a path such as /kafka", async () => {
  await using tb = await startTestBroker();
  await createTopic(tb, "t", 1);
  const seen: string[] = [];
  // a stand-in for Confluent Cloud's https://pkc-…:443/kafka: strips /kafka, then the broker
  const underKafka = ((input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    seen.push(url.pathname);
    if (!url.pathname.startsWith("/kafka/")) {
      return Promise.resolve(Response.json({ error_code: 404, message: "HTTP 404 Not Found" }, {
        status: 404,
      }));
    }
    return fetch(new URL(url.pathname.slice("/kafka/".length), tb.broker.url), init);
  }) as typeof fetch;
  const base = new URL("kafka", tb.broker.url);
  const client = new RestV3ProducerClient({ baseUrl: base, topic: "t", fetch: underKafka });
  const res = await client.produce([rec("a", "1")]);
  assert.equal(res.results[0]!.errorCode, null);
  assert.deepEqual(seen, ["/kafka/v3/clusters", `/kafka/v3/clusters/${CLUSTER}/topics/t/records`]);
});

Deno.test("RestV3ProducerClient maps per-record error reports so retriable ones are retried and the others dead-lettered", async () => {
  await using tb = await startTestBroker({ maxRecordBytes: 64 });
  await createTopic(tb, "t", 1);
  tb.broker.faults.add({
    method: "POST",
    path: "/records$",
    per_record_error_code: 50003,
    every: 3,
    message: "timeout",
  });
  const client = new RestV3ProducerClient({ baseUrl: tb.broker.url, topic: "t" });
  const res = await client.produce([
    rec("a", "1"),
    rec("b", JSON.stringify("x".repeat(100))),
    rec("c", "3"),
  ]);
  assert.equal(res.results[0]!.errorCode, null);
  assert.equal(res.results[1]!.errorCode, 413);
  assert.match(res.results[1]!.error!, /larger than 64/);
  assert.deepEqual(res.results[2], {
    partition: null,
    offset: null,
    errorCode: 50003,
    error: "timeout",
  });
});

Deno.test("recordResultFromReport maps v3 codes onto the sender's retriable and final codes", () => {
  const code = (report: unknown) => recordResultFromReport(report).errorCode;
  assert.equal(code({ error_code: 429, message: "rate" }), 42901);
  assert.equal(code({ error_code: 408, message: "too old" }), 50003);
  assert.equal(code({ error_code: 40401, message: "topic missing" }), 50003);
  assert.equal(code({ error_code: 503, message: "unavailable" }), 50003);
  assert.equal(code({ error_code: 400, message: "bad" }), 400);
  assert.equal(code({ error_code: 50002, message: "fatal" }), 50002);
  // a success without a position is not a delivery
  assert.equal(code({ error_code: 200 }), 50003);
  assert.equal(code("nonsense"), 50003);
  assert.match(recordResultFromReport({ error_code: 408, message: "old" }).error!, /408: old/);
});

Deno.test("RestV3ProducerClient counts records whose report never came as failed-retriable, not delivered", async () => {
  // the answer ends after one of three reports
  const short = new RestV3ProducerClient({
    baseUrl: "http://proxy/kafka",
    topic: "t",
    clusterId: "c",
    fetch: answering(() => new Response(`${REPORT_OK(5)}\r\n`)),
  });
  const res = await short.produce([rec("a", "1"), rec("b", "2"), rec("c", "3")]);
  assert.deepEqual(res.results.map((r) => r.errorCode), [null, 50003, 50003]);
  assert.match(res.results[1]!.error!, /no delivery report: the answer ended after 1 of 3 reports/);
  // the connection breaks after one report and half of the next
  const brokenAnswer = () => {
    let pulls = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(utf8.encode(`${REPORT_OK(5)}\r\n{"error_code":2`));
        else controller.error(new TypeError("connection reset"));
      },
    });
  };
  const broken = new RestV3ProducerClient({
    baseUrl: "http://proxy",
    topic: "t",
    clusterId: "c",
    fetch: answering(() => new Response(brokenAnswer())),
  });
  const cut = await broken.produce([rec("a", "1"), rec("b", "2")]);
  assert.deepEqual(cut.results.map((r) => r.errorCode), [null, 50003]);
  assert.match(cut.results[1]!.error!, /broke off \(connection reset\)/);
});

Deno.test("RestV3ProducerClient raises a final RestProxyError for an unknown topic and a retriable one when unreachable", async () => {
  await using tb = await startTestBroker();
  const client = new RestV3ProducerClient({ baseUrl: tb.broker.url, topic: "missing" });
  const error = await client.produce([rec("a", "1")]).then(() => undefined, (e) => e);
  assert.ok(error instanceof RestProxyError);
  assert.equal(error.status, 404);
  assert.equal(error.errorCode, 40401);
  assert.equal(error.retriable, false);
  assert.match(error.message, /error_code 40401: Topic not found\.; v3 produce does not create/);
  const down = new RestV3ProducerClient({
    baseUrl: "http://127.0.0.1:9",
    topic: "t",
    fetch: () => Promise.reject(new TypeError("connection refused")),
  });
  const unreachable = await down.produce([rec("a", "1")]).then(() => undefined, (e) => e);
  assert.ok(unreachable instanceof RestProxyError);
  assert.equal(unreachable.retriable, true);
  assert.match(unreachable.message, /Cannot find the Kafka cluster id at .*unreachable/);
});

Deno.test("RestV3ProducerClient asks for the cluster id again after an answer without one", async () => {
  let asked = 0;
  const client = new RestV3ProducerClient({
    baseUrl: "http://proxy",
    topic: "t",
    fetch: answering((url) => {
      if (url.endsWith("/v3/clusters")) {
        asked++;
        return Response.json(asked === 1 ? { data: [] } : { data: [{ cluster_id: "lkc-1" }] });
      }
      return new Response(`${REPORT_OK(0)}\r\n`);
    }),
  });
  await assert.rejects(
    client.produce([rec("a", "1")]),
    (e: unknown) => e instanceof RestProxyError && /KAFKA_REST_CLUSTER_ID/.test(e.message),
  );
  assert.equal((await client.url()).pathname, "/v3/clusters/lkc-1/topics/t/records");
  assert.equal(asked, 2);
});
