import assert from "node:assert/strict";
import { Backoff } from "../../lib/cli/backoff.ts";
import { ConsumerSession, parsePoisonPosition } from "../../lib/consumer/consumer_session.ts";
import type { Clock } from "../../lib/cli/delay.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { RestConsumerClient } from "../../lib/rest_proxy/rest_consumer_client.ts";
import { RestProxyError } from "../../lib/rest_proxy/rest_proxy_error.ts";
import { startTestBroker } from "../_helpers/broker_http.ts";
import { startHugeBodyServer } from "../_helpers/huge_body_server.ts";

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string | null;
}

function fakeFetch(answer: (req: Seen) => Response): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req: Seen = {
      method: init?.method ?? "GET",
      url: String(input),
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : null,
    };
    seen.push(req);
    return await Promise.resolve(answer(req));
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

function client(fetchFn: typeof fetch, extra = {}) {
  return new RestConsumerClient({
    baseUrl: new URL("http://proxy.test:8082/"),
    group: "g",
    namePrefix: "wikistream-x",
    fetch: fetchFn,
    clock: NO_WAIT,
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
    ...extra,
  });
}

Deno.test("RestConsumerClient creates a json instance with auto-commit off and builds URLs from the proxy URL", async () => {
  const f = fakeFetch((r) =>
    r.method === "POST" && r.url.endsWith("/consumers/g")
      ? json(200, {
        instance_id: "wikistream-x-1",
        base_uri: "http://rest-proxy:8082/consumers/g/instances/wikistream-x-1",
      })
      : r.url.includes("/records")
      ? json(200, [{ topic: "t", key: null, value: { a: 1 }, partition: 0, offset: 5 }])
      : new Response(null, { status: 204 })
  );
  const c = client(f.fetch, { maxBytes: 1234, readTimeoutMs: 300, fetchMinBytes: 99 });
  await c.create();
  const create = JSON.parse(f.seen[0]!.body!);
  assert.deepEqual(create, {
    name: "wikistream-x-1",
    format: "json",
    "auto.offset.reset": "earliest",
    "auto.commit.enable": "false",
    "fetch.min.bytes": "99",
    "consumer.request.timeout.ms": "300",
  });
  assert.equal(f.seen[0]!.headers.get("content-type"), "application/vnd.kafka.v2+json");
  await c.subscribe(["t"]);
  assert.equal(
    f.seen[1]!.url,
    "http://proxy.test:8082/consumers/g/instances/wikistream-x-1/subscription",
  );
  const records = await c.read();
  assert.equal(records[0]!.offset, 5);
  assert.equal(
    f.seen[2]!.url,
    "http://proxy.test:8082/consumers/g/instances/wikistream-x-1/records?timeout=300&max_bytes=1234",
  );
  assert.equal(f.seen[2]!.headers.get("accept"), "application/vnd.kafka.json.v2+json");
  await c.commit([{ topic: "t", partition: 0, offset: 5 }]);
  assert.deepEqual(JSON.parse(f.seen[3]!.body!), {
    offsets: [{ topic: "t", partition: 0, offset: 5 }],
  });
  await c.commit([]);
  assert.equal(f.seen.length, 4, "an empty commit sends nothing (never the empty-body commit)");
  await c.delete();
  assert.equal(f.seen[4]!.method, "DELETE");
  assert.equal(f.seen[4]!.headers.get("content-type"), "application/vnd.kafka.v2+json");
});

Deno.test("RestConsumerClient retries 5xx on idempotent calls but never retries a read", async () => {
  let commits = 0;
  let reads = 0;
  const f = fakeFetch((r) => {
    if (r.url.endsWith("/consumers/g")) return json(200, { instance_id: "i" });
    if (r.url.endsWith("/offsets")) {
      return ++commits < 3 ? json(500, { error_code: 50003, message: "retriable" }) : json(200, []);
    }
    if (r.url.includes("/records")) {
      reads++;
      return json(503, { error_code: 50302, message: "broker not available" });
    }
    return new Response(null, { status: 204 });
  });
  const c = client(f.fetch);
  await c.create();
  await c.commit([{ topic: "t", partition: 1, offset: 9 }]);
  assert.equal(commits, 3);
  await assert.rejects(c.read(), /HTTP 503/);
  assert.equal(reads, 1);
});

Deno.test("ConsumerSession re-creates and re-subscribes after 40403 and after a read network error", async () => {
  let creates = 0;
  let reads = 0;
  const f = fakeFetch((r) => {
    if (r.method === "POST" && r.url.endsWith("/consumers/g")) {
      creates++;
      return json(200, { instance_id: `i${creates}` });
    }
    if (r.url.includes("/records")) {
      reads++;
      if (reads === 1) {
        return json(404, { error_code: 40403, message: "Consumer instance not found." });
      }
      if (reads === 2) throw new TypeError("connection reset");
      return json(200, [{ topic: "t", key: null, value: 1, partition: 0, offset: 0 }]);
    }
    return new Response(null, { status: 204 });
  });
  const sink = memorySink();
  const session = new ConsumerSession({
    client: client(f.fetch),
    topic: "t",
    log: createLogger({ sink }),
    clock: NO_WAIT,
  });
  const signal = new AbortController().signal;
  assert.deepEqual((await session.read(signal)).records, []);
  assert.deepEqual((await session.read(signal)).records, []);
  assert.equal((await session.read(signal)).records.length, 1);
  assert.equal(creates, 3);
  const subscribes = f.seen.filter((s) => s.url.endsWith("/subscription"));
  assert.equal(subscribes.length, 3);
  assert.ok(subscribes.every((s) => JSON.parse(s.body!).topics[0] === "t"));
  assert.ok(f.seen.some((s) => s.method === "DELETE" && s.url.endsWith("/instances/i2")));
});

Deno.test("ConsumerSession seeks past a 40801 record and reports it for dead-lettering", async () => {
  let reads = 0;
  const f = fakeFetch((r) => {
    if (r.url.endsWith("/consumers/g")) return json(200, { instance_id: "i" });
    if (r.url.includes("/records") && ++reads === 1) {
      return json(408, {
        error_code: 40801,
        message:
          "Unable to deserialize value of record at offset 17 in wikimedia-changes-2: not JSON",
      });
    }
    if (r.url.includes("/records")) return json(200, []);
    return new Response(null, { status: 204 });
  });
  const session = new ConsumerSession({
    client: client(f.fetch),
    topic: "wikimedia-changes",
    log: createLogger({ sink: memorySink() }),
    clock: NO_WAIT,
  });
  const read = await session.read(new AbortController().signal);
  assert.equal(read.poison?.partition, 2);
  assert.equal(read.poison?.offset, 17);
  const seek = f.seen.find((s) => s.url.endsWith("/positions"))!;
  assert.deepEqual(JSON.parse(seek.body!), {
    offsets: [{ topic: "wikimedia-changes", partition: 2, offset: 18 }],
  });
  assert.deepEqual(parsePoisonPosition("no position here"), undefined);
});

Deno.test("ConsumerSession keeps a failed commit and retries it after the next read", async () => {
  let commitCalls = 0;
  const f = fakeFetch((r) => {
    if (r.url.endsWith("/consumers/g")) return json(200, { instance_id: "i" });
    if (r.url.endsWith("/offsets")) {
      return ++commitCalls === 1
        ? json(500, { error_code: 50002, message: "rebalance" })
        : json(200, []);
    }
    if (r.url.includes("/records")) return json(200, []);
    return new Response(null, { status: 204 });
  });
  const session = new ConsumerSession({
    client: client(f.fetch, { maxAttempts: 1 }),
    topic: "t",
    log: createLogger({ sink: memorySink() }),
    clock: NO_WAIT,
  });
  const signal = new AbortController().signal;
  await session.read(signal);
  assert.equal(await session.commit([{ topic: "t", partition: 0, offset: 3 }], signal), false);
  assert.ok(session.commitPending);
  await session.read(signal);
  assert.equal(session.commitPending, false);
  assert.equal(commitCalls, 2);
});

Deno.test("RestConsumerClient read gives up on a response body that stalls after the headers", async () => {
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const { fetch } = fakeFetch((req) => {
    if (req.method === "POST") return json(200, { instance_id: "i", base_uri: "http://x" });
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          streams.push(c);
          c.enqueue(new TextEncoder().encode('[{"topic":"t",'));
        },
      }),
      { status: 200, headers: { "content-type": "application/vnd.kafka.json.v2+json" } },
    );
  });
  // a real fetch errors the body when its signal aborts; the fake does the same
  const withSignal = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fetch(input, init);
    init?.signal?.addEventListener("abort", () => {
      for (const c of streams) c.error(init.signal!.reason);
    }, { once: true });
    return response;
  }) as typeof globalThis.fetch;
  const c = client(withSignal, { readTimeoutMs: 20, requestTimeoutMs: 50 });
  await c.create();
  let guard: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    c.read().then(() => "records", (error) => error instanceof Error ? error.name : "error"),
    new Promise<string>((resolve) => guard = setTimeout(() => resolve("hung"), 3000)),
  ]);
  clearTimeout(guard);
  for (const s of streams) {
    try {
      s.error(new Error("test over"));
    } catch { /* already errored */ }
  }
  assert.equal(outcome, "RestProxyError");
});

Deno.test("RestConsumerClient with a stable name deletes a dead instance holding it and creates it again", async () => {
  await using tb = await startTestBroker();
  const base = tb.broker.url;
  // a crashed process's instance, still in the group
  const dead = await fetch(new URL("consumers/g", base), {
    method: "POST",
    headers: { "content-type": "application/vnd.kafka.v2+json" },
    body: JSON.stringify({ name: "lake-1", format: "json" }),
  });
  await dead.body?.cancel();
  assert.equal(dead.status, 200);
  let takeovers = 0;
  const restarted = new RestConsumerClient({
    baseUrl: base,
    group: "g",
    namePrefix: "unused",
    instanceName: "lake-1",
    onTakeover: () => takeovers++,
    clock: NO_WAIT,
  });
  await restarted.create();
  assert.equal(restarted.instanceId, "lake-1");
  assert.equal(takeovers, 1);
  await restarted.delete();
});

const HUGE = 256 * 1024 * 1024;
/** What a client that stops early may pull: its cap plus what the sockets buffer. */
const EARLY = 32 * 1024 * 1024;

Deno.test("RestConsumerClient caps a read's answer at 2 × max_bytes + 1 MiB and reads only the start of error bodies", async () => {
  const record = '{"topic":"t","key":null,"value":{"a":1},"partition":0,"offset":1},';
  await using server = startHugeBodyServer((_i, request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/consumers/g")) {
      return { status: 200, body: JSON.stringify({ instance_id: "i" }) };
    }
    if (url.pathname.endsWith("/records")) {
      return { status: 200, hugeBytes: HUGE, prefix: "[", fill: record };
    }
    if (url.pathname.endsWith("/offsets")) {
      return { status: 500, hugeBytes: HUGE, fill: "overloaded " };
    }
    return { status: 204 };
  });
  const c = client(globalThis.fetch, { baseUrl: server.url, maxBytes: 65_536, maxAttempts: 2 });
  await c.create();
  await assert.rejects(c.read(), (e: unknown) => {
    assert.ok(e instanceof RestProxyError && e.retriable, String(e));
    assert.match(e.message, /larger than 1179648 bytes/);
    assert.match(e.message, /CONSUMER_MAX_BYTES/);
    return true;
  });
  await assert.rejects(c.commit([{ topic: "t", partition: 0, offset: 1 }]), (e: unknown) => {
    assert.ok(e instanceof RestProxyError && e.status === 500, String(e));
    assert.ok(e.message.length < 1000, `${e.message.length} characters`);
    return true;
  });
  assert.equal(server.requests.length, 4, "create, read, two commit attempts");
  for (const r of server.requests) {
    assert.ok(r.pulled < EARLY, `the client pulled ${r.pulled} bytes of a ${HUGE}-byte body`);
  }
});

Deno.test("RestConsumerClient waits at least a 429's Retry-After (clamped to 5 min) before trying again", async () => {
  let commits = 0;
  const f = fakeFetch((r) => {
    if (r.url.endsWith("/consumers/g")) return json(200, { instance_id: "i" });
    if (r.url.endsWith("/offsets")) {
      commits++;
      if (commits === 1) {
        return new Response('{"error_code":42901,"message":"slow down"}', {
          status: 429,
          headers: { "retry-after": "4" },
        });
      }
      if (commits === 2) {
        return new Response("", { status: 503, headers: { "retry-after": "86400" } });
      }
      return json(200, []);
    }
    return new Response(null, { status: 204 });
  });
  const sleeps: number[] = [];
  const c = client(f.fetch, {
    clock: { now: () => Date.now(), sleep: (ms: number) => (sleeps.push(ms), Promise.resolve()) },
  });
  await c.create();
  await c.commit([{ topic: "t", partition: 1, offset: 9 }]);
  assert.equal(commits, 3);
  assert.deepEqual(sleeps, [4000, 300_000]);
});
