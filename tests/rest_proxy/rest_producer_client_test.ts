import assert from "node:assert/strict";
import { buildProduceBody, RestProducerClient } from "../../lib/rest_proxy/rest_producer_client.ts";
import { RestProxyError } from "../../lib/rest_proxy/rest_proxy_error.ts";
import { startHugeBodyServer } from "../_helpers/huge_body_server.ts";

const encoder = new TextEncoder();
/** A record from key and value JSON text. */
function rec(key: string | undefined, value: string) {
  return {
    key: key === undefined ? undefined : [encoder.encode(key)],
    value: encoder.encode(value),
  };
}

Deno.test("buildProduceBody embeds raw value text without re-serialising it", () => {
  const value = '{"b": 1,  "a":"é"}';
  const key = ['"', "en.wikipedia.org", "/", "Main Page", '"'].map((p) => encoder.encode(p));
  assert.equal(
    new TextDecoder().decode(
      buildProduceBody([rec('"k"', value), rec(undefined, "2"), {
        key,
        value: encoder.encode("3"),
      }]),
    ),
    '{"records":[{"key":"k","value":{"b": 1,  "a":"é"}},{"value":2},' +
      '{"key":"en.wikipedia.org/Main Page","value":3}]}',
  );
});

Deno.test("RestProducerClient posts v2 JSON and maps per-record offsets and errors", async () => {
  let seen: Request | undefined;
  const fakeFetch = ((input: URL, init?: RequestInit) => {
    seen = new Request(input, init);
    return Promise.resolve(Response.json({
      offsets: [
        { partition: 1, offset: 7, error_code: null, error: null },
        { partition: null, offset: null, error_code: 50003, error: "timeout" },
      ],
    }));
  }) as typeof fetch;
  const client = new RestProducerClient({
    baseUrl: "http://proxy:8082",
    topic: "t",
    fetch: fakeFetch,
  });
  const res = await client.produce([rec('"a"', "{}"), rec(undefined, "1")]);
  assert.equal(seen!.url, "http://proxy:8082/topics/t");
  assert.equal(seen!.headers.get("content-type"), "application/vnd.kafka.json.v2+json");
  assert.deepEqual(res.results, [
    { partition: 1, offset: 7, errorCode: null, error: null },
    { partition: null, offset: null, errorCode: 50003, error: "timeout" },
  ]);
});

Deno.test("RestProducerClient raises retriable RestProxyError for 500 and unreachable proxies", async () => {
  const five = new RestProducerClient({
    baseUrl: "http://proxy",
    topic: "t",
    fetch: (() =>
      Promise.resolve(
        Response.json({ error_code: 50001, message: "x" }, { status: 500 }),
      )) as typeof fetch,
  });
  await assert.rejects(
    five.produce([rec(undefined, "1")]),
    (e: unknown) => e instanceof RestProxyError && e.retriable && e.status === 500,
  );
  const down = new RestProducerClient({
    baseUrl: "http://proxy",
    topic: "t",
    fetch: (() => Promise.reject(new TypeError("connection refused"))) as typeof fetch,
  });
  await assert.rejects(
    down.produce([rec(undefined, "1")]),
    (e: unknown) =>
      e instanceof RestProxyError && e.retriable && e.status === 0 &&
      e.message.includes("KAFKA_REST_URL"),
  );
});

const HUGE = 256 * 1024 * 1024;
/** What a client that stops early may pull: its cap plus what the sockets buffer. */
const EARLY = 32 * 1024 * 1024;

Deno.test("RestProducerClient reads only the start of a huge error body and caps a huge answer", async () => {
  const answers = [
    { status: 500, hugeBytes: HUGE, fill: "overloaded " },
    { status: 200, hugeBytes: HUGE, prefix: '{"offsets":[', fill: '{"partition":0},' },
  ];
  await using server = startHugeBodyServer((i) => answers[i]!);
  const client = new RestProducerClient({ baseUrl: server.url, topic: "t" });
  await assert.rejects(client.produce([rec(undefined, "1")]), (e: unknown) => {
    assert.ok(e instanceof RestProxyError && e.retriable && e.status === 500, String(e));
    assert.ok(e.message.length < 1000, `${e.message.length} characters`);
    return true;
  });
  await assert.rejects(client.produce([rec(undefined, "1")]), (e: unknown) => {
    assert.ok(e instanceof RestProxyError && e.retriable, String(e));
    assert.match(e.message, /larger than \d+ bytes/);
    return true;
  });
  for (const r of server.requests) {
    assert.ok(r.pulled < EARLY, `the client pulled ${r.pulled} bytes of a ${HUGE}-byte body`);
  }
});

Deno.test("RestProducerClient reads a 429's or 503's Retry-After into the error, clamped to 0.5 s – 5 min", async () => {
  const answers = [
    [429, "3"],
    [503, "100000"],
    [429, "0"],
    [429, "soon"],
    [500, "3"],
  ] as const;
  const got: (number | undefined)[] = [];
  for (const [status, retryAfter] of answers) {
    const client = new RestProducerClient({
      baseUrl: "http://proxy",
      topic: "t",
      fetch: (() =>
        Promise.resolve(
          Response.json({ error_code: status, message: "x" }, {
            status,
            headers: { "retry-after": retryAfter },
          }),
        )) as typeof fetch,
    });
    await assert.rejects(client.produce([rec(undefined, "1")]), (e: unknown) => {
      assert.ok(e instanceof RestProxyError && e.retriable);
      got.push((e as { retryAfterMs?: number }).retryAfterMs);
      return true;
    });
  }
  assert.deepEqual(got, [3000, 300_000, 500, undefined, undefined]);
});
