import assert from "node:assert/strict";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { MetricsRegistry } from "../../lib/metrics/metrics.ts";
import { metricsHandler, serveMetrics } from "../../lib/metrics/metrics_server.ts";
import { METRICS_OPTIONS } from "../../lib/metrics/metrics_options.ts";
import { parseConfig } from "../../lib/cli/config.ts";

function setup(health: () => { ok: boolean; reason?: string }) {
  const registry = new MetricsRegistry();
  registry.counter("wikistream_producer_events_in", "Events received").add(7);
  const log = createLogger({ sink: memorySink() });
  return { registry, log, health };
}

Deno.test("serveMetrics() serves /metrics and /healthz over real HTTP", async () => {
  const controller = new AbortController();
  let healthy = true;
  const server = serveMetrics({
    port: 0,
    ...setup(() => healthy ? { ok: true } : { ok: false, reason: "no event for 120 s" }),
    signal: controller.signal,
  });
  assert.ok(server);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.match(await metrics.text(), /^wikistream_producer_events_in_total 7$/m);

    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: "ok" });

    healthy = false;
    const bad = await fetch(`${base}/healthz`);
    assert.equal(bad.status, 503);
    assert.deepEqual(await bad.json(), { status: "unhealthy", reason: "no event for 120 s" });

    const missing = await fetch(`${base}/other`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("serveMetrics() is off when the port is undefined", () => {
  const server = serveMetrics({
    port: undefined,
    ...setup(() => ({ ok: true })),
    signal: new AbortController().signal,
  });
  assert.equal(server, undefined);
});

Deno.test("metricsHandler() reports a throwing health check as unhealthy", async () => {
  const handler = metricsHandler(
    setup(() => {
      throw new Error("store unreachable");
    }),
  );
  const response = await handler(new Request("http://x/healthz"));
  assert.equal(response.status, 503);
  assert.deepEqual(await response.json(), {
    status: "unhealthy",
    reason: "health check failed: store unreachable",
  });
  const post = await handler(new Request("http://x/metrics", { method: "POST" }));
  assert.equal(post.status, 405);
});

Deno.test("METRICS_OPTIONS leaves the endpoint off by default and validates the port", () => {
  assert.equal(parseConfig(METRICS_OPTIONS, { env: {} }).config.metricsPort, undefined);
  assert.equal(
    parseConfig(METRICS_OPTIONS, { env: { METRICS_PORT: "9464" } }).config.metricsPort,
    9464,
  );
  assert.throws(
    () => parseConfig(METRICS_OPTIONS, { env: { METRICS_PORT: "70000" } }),
    /METRICS_PORT must be an integer between 0 and 65535, got "70000"/,
  );
});
