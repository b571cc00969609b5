import assert from "node:assert/strict";
import { buildProduceBody, RestProducerClient } from "../../lib/rest_proxy/rest_producer_client.ts";
import { RestProxyError } from "../../lib/rest_proxy/rest_proxy_error.ts";

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
