import assert from "node:assert/strict";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { ProduceSender } from "../../lib/producer/produce_sender.ts";
import { createProducerStats } from "../../lib/producer/producer_stats.ts";
import { RestProducerClient } from "../../lib/rest_proxy/rest_producer_client.ts";

Deno.test("ProduceSender waits at least the proxy's Retry-After (clamped to 0.5 s – 5 min) before retrying", async () => {
  const answers = [
    new Response('{"error_code":42901,"message":"slow down"}', {
      status: 429,
      headers: { "retry-after": "3" },
    }),
    new Response("", { status: 503, headers: { "retry-after": "86400" } }),
    Response.json({ offsets: [{ partition: 0, offset: 1, error_code: null, error: null }] }),
  ];
  const sink = new RestProducerClient({
    baseUrl: "http://proxy.test:8082",
    topic: "t",
    fetch: (() => Promise.resolve(answers.shift()!)) as typeof fetch,
  });
  const sleeps: number[] = [];
  const logs = memorySink();
  const stats = createProducerStats(0);
  const sender = new ProduceSender({
    sink,
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    stats,
    backoffInitialMs: 5,
    backoffMaxMs: 5,
    clock: { now: () => Date.now(), sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
    log: createLogger({ sink: logs, level: "debug" }),
    signal: new AbortController().signal,
  });
  const value = new TextEncoder().encode('{"a":1}');
  await sender.send({
    seq: 0,
    bytes: value.length,
    position: undefined,
    records: [{ key: undefined, value, metaId: "m", eventTimeMs: 0, sseId: "" }],
  });
  assert.equal(stats.eventsProduced, 1);
  assert.deepEqual(sleeps, [3000, 300_000]);
  const warned = logs.records.filter((r) => r.level === "warn").map((r) => r.properties.delayMs);
  assert.deepEqual(warned, [3000, 300_000]);
});
