import assert from "node:assert/strict";
import { Backoff } from "../../lib/cli/backoff.ts";
import { ConfigError, parseConfig } from "../../lib/cli/config.ts";
import { CONSUMER_OPTIONS, validateConsumerConfig } from "../../lib/consumer/consumer_config.ts";
import { ConsumerSession } from "../../lib/consumer/consumer_session.ts";
import type { Clock } from "../../lib/cli/delay.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { PRODUCER_OPTIONS } from "../../lib/producer/producer_config.ts";
import { RestConsumerClient } from "../../lib/rest_proxy/rest_consumer_client.ts";
import {
  commitBody,
  createInstanceBody,
  redpandaProduceResults,
  restFlavorCanSeek,
  restFlavorProblem,
} from "../../lib/rest_proxy/rest_flavor.ts";
import { RestProducerClient } from "../../lib/rest_proxy/rest_producer_client.ts";
import { RestProxyError } from "../../lib/rest_proxy/rest_proxy_error.ts";

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string | null;
}

function fakeFetch(answer: (req: Seen) => Response): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fn = (input: RequestInfo | URL, init?: RequestInit) => {
    const req: Seen = {
      method: init?.method ?? "GET",
      url: String(input),
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string"
        ? init.body
        : init?.body instanceof Uint8Array
        ? new TextDecoder().decode(init.body)
        : null,
    };
    seen.push(req);
    return Promise.resolve(answer(req));
  };
  return { fetch: fn as typeof fetch, seen };
}

const NO_WAIT: Clock = { now: () => 0, sleep: () => Promise.resolve() };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/vnd.kafka.v2+json" },
  });
}

/** Answers like Redpanda's HTTP Proxy (contract §7): 204 commits, no assignments/positions. */
function redpandaProxy(req: Seen): Response {
  if (req.method === "POST" && /\/consumers\/g$/.test(req.url)) {
    return json(200, {
      instance_id: "wikistream-x-1",
      base_uri: "http://redpanda:8082/consumers/g/instances/wikistream-x-1",
    });
  }
  if (req.url.includes("/records")) return json(200, []);
  if (req.url.includes("/assignments") || req.url.includes("/positions")) {
    return json(404, { error_code: 40401, message: "not found" });
  }
  return new Response(null, { status: 204 });
}

function consumerClient(fetchFn: typeof fetch, flavor: "confluent" | "redpanda") {
  return new RestConsumerClient({
    baseUrl: new URL("http://proxy.test:8082/"),
    group: "g",
    namePrefix: "wikistream-x",
    fetch: fetchFn,
    clock: NO_WAIT,
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
    flavor,
  });
}

const OFFSETS = [{ topic: "t", partition: 2, offset: 41 }];

Deno.test("commitBody uses offsets for Confluent and partitions with exactly three keys for Redpanda", () => {
  const extra = [{ topic: "t", partition: 2, offset: 41, metadata: "x" }];
  assert.deepEqual(commitBody("confluent", extra), { offsets: OFFSETS });
  assert.deepEqual(commitBody("redpanda", extra), { partitions: OFFSETS });
  const entry = (commitBody("redpanda", extra) as { partitions: object[] }).partitions[0]!;
  assert.deepEqual(Object.keys(entry), ["topic", "partition", "offset"]);
});

Deno.test("createInstanceBody sends only string values with earliest reset and auto-commit off", () => {
  for (const flavor of ["confluent", "redpanda"] as const) {
    const body = createInstanceBody(flavor, {
      name: "n-1",
      autoOffsetReset: "earliest",
      fetchMinBytes: 1_048_576,
      requestTimeoutMs: 1000,
    });
    assert.deepEqual(body, {
      name: "n-1",
      format: "json",
      "auto.offset.reset": "earliest",
      "auto.commit.enable": "false",
      "fetch.min.bytes": "1048576",
      "consumer.request.timeout.ms": "1000",
    });
    assert.ok(Object.values(body).every((v) => typeof v === "string"));
  }
});

Deno.test("restFlavorProblem refuses a latest offset reset on Redpanda only", () => {
  assert.equal(restFlavorProblem("confluent", "latest"), undefined);
  assert.equal(restFlavorProblem("redpanda", "earliest"), undefined);
  assert.match(restFlavorProblem("redpanda", "latest")!, /CONSUMER_AUTO_OFFSET_RESET.*redpanda/);
  assert.equal(restFlavorCanSeek("confluent"), true);
  assert.equal(restFlavorCanSeek("redpanda"), false);
});

Deno.test("KAFKA_REST_FLAVOR is parsed by both programs and validated against the offset reset", () => {
  const parse = (env: Record<string, string>) => parseConfig(CONSUMER_OPTIONS, { env }).config;
  assert.equal(parse({}).kafkaRestFlavor, "confluent");
  assert.equal(
    parseConfig(PRODUCER_OPTIONS, { env: { KAFKA_REST_FLAVOR: "redpanda" } }).config
      .kafkaRestFlavor,
    "redpanda",
  );
  assert.throws(
    () => parse({ KAFKA_REST_FLAVOR: "kafka" }),
    (e: unknown) => e instanceof ConfigError && /KAFKA_REST_FLAVOR/.test(e.message),
  );
  validateConsumerConfig(parse({ KAFKA_REST_FLAVOR: "redpanda" }));
  validateConsumerConfig(parse({ CONSUMER_AUTO_OFFSET_RESET: "latest" }));
  assert.throws(
    () =>
      validateConsumerConfig(
        parse({ KAFKA_REST_FLAVOR: "redpanda", CONSUMER_AUTO_OFFSET_RESET: "latest" }),
      ),
    (e: unknown) =>
      e instanceof ConfigError && /CONSUMER_AUTO_OFFSET_RESET "latest"/.test(e.message),
  );
});

Deno.test("redpandaProduceResults acknowledges every record when every partition batch succeeded", () => {
  // contract §7: 3 records -> {"offsets":[{"partition":0,"offset":0}]}
  const results = redpandaProduceResults({ offsets: [{ partition: 0, offset: 0 }] }, 3);
  assert.equal(results.length, 3);
  for (const r of results) {
    assert.deepEqual(r, { partition: null, offset: null, errorCode: null, error: null });
  }
  const two = redpandaProduceResults({
    offsets: [{ partition: 0, offset: 10 }, { partition: 2, offset: 4 }],
  }, 5);
  assert.ok(two.every((r) => r.errorCode === null && r.offset === null));
});

Deno.test("redpandaProduceResults fails every record as retriable when a batch has a Kafka error code", () => {
  const results = redpandaProduceResults({
    offsets: [{ partition: 0, offset: 7 }, { partition: 1, offset: -1, error_code: 3 }],
  }, 4);
  assert.equal(results.length, 4);
  for (const r of results) {
    assert.equal(r.errorCode, 50003);
    assert.equal(r.offset, null);
    assert.match(r.error!, /unknown_topic_or_partition \(Kafka error code 3\)/);
  }
  assert.equal(redpandaProduceResults({ offsets: [] }, 2)[0]!.errorCode, 50003);
  assert.throws(() => redpandaProduceResults({ nope: 1 }, 1), TypeError);
});

Deno.test("RestProducerClient with the redpanda flavor maps a per-batch answer to per-record results", async () => {
  let answer: unknown = { offsets: [{ partition: 0, offset: 0 }] };
  const f = fakeFetch(() => Response.json(answer));
  const client = new RestProducerClient({
    baseUrl: "http://redpanda:8082",
    topic: "t",
    fetch: f.fetch,
    flavor: "redpanda",
  });
  const bytes = (text: string) => new TextEncoder().encode(text);
  const records = [{ key: [bytes('"a"')], value: bytes("{}") }, {
    key: [bytes('"b"')],
    value: bytes("{}"),
  }, { key: undefined, value: bytes("1") }];
  const ok = await client.produce(records);
  assert.equal(ok.results.length, 3);
  assert.ok(ok.results.every((r) => r.errorCode === null));
  assert.equal(f.seen[0]!.headers.get("accept"), "application/vnd.kafka.v2+json");
  // records carry only key and value (Redpanda refuses any other field)
  for (const r of JSON.parse(f.seen[0]!.body!).records) {
    assert.ok(Object.keys(r).every((k) => k === "key" || k === "value"));
  }

  answer = { offsets: [{ partition: 0, offset: -1, error_code: 6 }] };
  const failed = await client.produce(records);
  assert.ok(failed.results.every((r) => r.errorCode === 50003 && r.offset === null));

  answer = [];
  await assert.rejects(() => client.produce(records), RestProxyError);

  // the same per-batch answer is a protocol error for the Confluent dialect
  answer = { offsets: [{ partition: 0, offset: 0 }] };
  const confluent = new RestProducerClient({ baseUrl: "http://p", topic: "t", fetch: f.fetch });
  await assert.rejects(() => confluent.produce(records), /expected 3 offsets/);
});

Deno.test("RestConsumerClient with the redpanda flavor commits partitions, accepts 204 and sends v2 Content-Type everywhere", async () => {
  const f = fakeFetch(redpandaProxy);
  const c = consumerClient(f.fetch, "redpanda");
  await c.create();
  await c.subscribe(["t"]);
  await c.read();
  await c.commit(OFFSETS);
  await c.delete();
  const commit = f.seen.find((r) => r.method === "POST" && r.url.endsWith("/offsets"))!;
  assert.deepEqual(JSON.parse(commit.body!), { partitions: OFFSETS });
  for (const r of f.seen) {
    assert.equal(r.headers.get("content-type"), "application/vnd.kafka.v2+json", r.url);
    assert.ok(r.headers.get("accept"), `explicit Accept on ${r.method} ${r.url}`);
  }
  const read = f.seen.find((r) => r.url.includes("/records"))!;
  assert.equal(read.headers.get("accept"), "application/vnd.kafka.json.v2+json");
  const del = f.seen.find((r) => r.method === "DELETE")!;
  assert.match(del.url, /\/consumers\/g\/instances\/wikistream-x-1$/);
  const create = JSON.parse(f.seen[0]!.body!);
  assert.ok(Object.values(create).every((v) => typeof v === "string"));
});

Deno.test("RestConsumerClient with the confluent flavor commits offsets and accepts 200 []", async () => {
  const f = fakeFetch((r) =>
    r.method === "POST" && r.url.endsWith("/consumers/g")
      ? json(200, { instance_id: "i", base_uri: "http://x/consumers/g/instances/i" })
      : r.url.endsWith("/offsets")
      ? json(200, [])
      : new Response(null, { status: 204 })
  );
  const c = consumerClient(f.fetch, "confluent");
  await c.create();
  await c.commit(OFFSETS);
  assert.deepEqual(JSON.parse(f.seen.at(-1)!.body!), { offsets: OFFSETS });
});

Deno.test("RestConsumerClient with the redpanda flavor refuses seek and assignments without calling the proxy", async () => {
  const f = fakeFetch(redpandaProxy);
  const c = consumerClient(f.fetch, "redpanda");
  await c.create();
  const calls = f.seen.length;
  await assert.rejects(() => c.seek(OFFSETS), /Redpanda.*no such endpoint/);
  await assert.rejects(() => c.assignments(), /Redpanda.*no such endpoint/);
  assert.equal(f.seen.length, calls);
});

Deno.test("ConsumerSession on Redpanda keeps the instance alive by repeating the last commit", async () => {
  const f = fakeFetch(redpandaProxy);
  const client = consumerClient(f.fetch, "redpanda");
  const log = createLogger({ level: "debug", sink: memorySink() });
  const session = new ConsumerSession({
    client,
    topic: "t",
    log,
    heartbeatMs: 5,
    flavor: "redpanda",
  });
  const stop = new AbortController();
  await session.read(stop.signal);
  const commits = () => f.seen.filter((r) => r.method === "POST" && r.url.endsWith("/offsets"));
  // before any commit there is nothing safe to repeat: no keep-alive call at all
  const before = f.seen.length;
  await session.keepAlive(() => new Promise((resolve) => setTimeout(resolve, 30)));
  assert.equal(f.seen.length, before);

  assert.equal(await session.commit([...OFFSETS], stop.signal), true);
  assert.equal(commits().length, 1);
  await session.keepAlive(async () => {
    for (let i = 0; i < 400 && commits().length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  assert.ok(commits().length >= 3, "keep-alive commits were sent");
  for (const c of commits()) assert.deepEqual(JSON.parse(c.body!), { partitions: OFFSETS });
  assert.ok(!f.seen.some((r) => r.url.includes("/assignments")));
  await session.close();
});

Deno.test("ConsumerSession on Redpanda stops with an explanation at a non-JSON record", async () => {
  const f = fakeFetch((r) =>
    r.url.includes("/records")
      ? json(408, {
        error_code: 40801,
        message: "Unable to serialize value of record at offset 12 in partition 0",
      })
      : redpandaProxy(r)
  );
  const session = new ConsumerSession({
    client: consumerClient(f.fetch, "redpanda"),
    topic: "t",
    log: createLogger({ level: "error", sink: memorySink() }),
    clock: NO_WAIT,
    flavor: "redpanda",
  });
  const stop = new AbortController();
  await assert.rejects(() => session.read(stop.signal), /no seek endpoint.*rpk group seek/);
  assert.ok(!f.seen.some((r) => r.url.includes("/positions")));
  await session.close();
});
