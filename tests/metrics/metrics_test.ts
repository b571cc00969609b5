import assert from "node:assert/strict";
import { escapeLabelValue, formatValue, MetricsRegistry } from "../../lib/metrics/metrics.ts";
import { snakeCase, statsCollector } from "../../lib/metrics/stats_metrics.ts";

Deno.test("MetricsRegistry renders counters and gauges in the 0.0.4 text format", () => {
  const registry = new MetricsRegistry();
  const rotations = registry.counter(
    "wikistream_consumer_rotations",
    "Parquet files closed, by reason",
  );
  const openFiles = registry.gauge("wikistream_consumer_open_files", "Parquet files being written");
  const eventsIn = registry.counter("wikistream_producer_events_in_total", "Events received");
  rotations.inc({ reason: "rows" });
  rotations.inc({ reason: "rows" });
  rotations.add(1, { reason: "time" });
  openFiles.set(3);
  openFiles.add(-1);
  eventsIn.add(42);
  assert.equal(
    registry.render(),
    [
      "# HELP wikistream_consumer_rotations_total Parquet files closed, by reason",
      "# TYPE wikistream_consumer_rotations_total counter",
      'wikistream_consumer_rotations_total{reason="rows"} 2',
      'wikistream_consumer_rotations_total{reason="time"} 1',
      "# HELP wikistream_consumer_open_files Parquet files being written",
      "# TYPE wikistream_consumer_open_files gauge",
      "wikistream_consumer_open_files 2",
      "# HELP wikistream_producer_events_in_total Events received",
      "# TYPE wikistream_producer_events_in_total counter",
      "wikistream_producer_events_in_total 42",
      "",
    ].join("\n"),
  );
});

Deno.test("MetricsRegistry escapes label values and help text", () => {
  const registry = new MetricsRegistry();
  registry.gauge("g", "line one\nback\\slash").set(1, { path: 'C:\\dir "x"\nnext', a: "1" });
  assert.equal(
    registry.render(),
    [
      "# HELP g line one\\nback\\\\slash",
      "# TYPE g gauge",
      'g{a="1",path="C:\\\\dir \\"x\\"\\nnext"} 1',
      "",
    ].join("\n"),
  );
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

Deno.test("formatValue() writes special floats the way Prometheus parses them", () => {
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(-0), "0");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(formatValue(6_300_000_000n), "6300000000");
});

Deno.test("MetricsRegistry rejects bad names, duplicate names and negative counter steps", () => {
  const registry = new MetricsRegistry();
  registry.counter("ok", "fine");
  assert.throws(() => registry.counter("ok_total", "again"), /already registered/);
  assert.throws(() => registry.gauge("bad-name", "x"), /names must match/);
  assert.throws(() => registry.counter("c", "x").add(-1), RangeError);
  assert.throws(() => registry.gauge("g", "x").set(1, { "bad-label": "v" }), /Cannot use label/);
  assert.throws(() => registry.gauge("h", "x").set(1, { __reserved: "v" }), /Cannot use label/);
});

Deno.test("MetricsRegistry merges collected families with instruments of the same name", () => {
  const registry = new MetricsRegistry();
  registry.counter("rotations", "by reason").inc({ reason: "rows" });
  const remove = registry.collect(() => [
    {
      name: "rotations",
      help: "ignored",
      type: "counter",
      samples: [{ labels: { reason: "size" }, value: 4 }],
    },
  ]);
  const text = registry.render();
  assert.equal(text.match(/# TYPE rotations_total counter/g)?.length, 1);
  assert.match(text, /rotations_total\{reason="rows"\} 1\nrotations_total\{reason="size"\} 4\n/);
  remove();
  assert.doesNotMatch(registry.render(), /size/);
  registry.collect(() => [{ name: "rotations_total", help: "", type: "gauge", samples: [] }]);
  assert.throws(() => registry.render(), /both a counter and a gauge/);
});

Deno.test("statsCollector() exports a plain stats object read at every scrape", () => {
  const stats = {
    eventsIn: 10,
    bytesIn: 2048n,
    bufferBytes: 512,
    lagSeconds: 1.5,
    connected: true,
    rotations: { rows: 3, time: 1 },
    lastError: "ignored",
  };
  const registry = new MetricsRegistry();
  registry.collect(statsCollector({
    prefix: "wikistream_consumer",
    read: () => stats,
    gauges: ["bufferBytes", "lagSeconds", "connected"],
    labels: { rotations: "reason" },
    help: { eventsIn: "Events read from the REST Proxy" },
  }));
  stats.eventsIn = 11;
  assert.equal(
    registry.render(),
    [
      "# HELP wikistream_consumer_events_in_total Events read from the REST Proxy",
      "# TYPE wikistream_consumer_events_in_total counter",
      "wikistream_consumer_events_in_total 11",
      "# HELP wikistream_consumer_bytes_in_total bytes in",
      "# TYPE wikistream_consumer_bytes_in_total counter",
      "wikistream_consumer_bytes_in_total 2048",
      "# HELP wikistream_consumer_buffer_bytes buffer bytes",
      "# TYPE wikistream_consumer_buffer_bytes gauge",
      "wikistream_consumer_buffer_bytes 512",
      "# HELP wikistream_consumer_lag_seconds lag seconds",
      "# TYPE wikistream_consumer_lag_seconds gauge",
      "wikistream_consumer_lag_seconds 1.5",
      "# HELP wikistream_consumer_connected connected",
      "# TYPE wikistream_consumer_connected gauge",
      "wikistream_consumer_connected 1",
      "# HELP wikistream_consumer_rotations_total rotations",
      "# TYPE wikistream_consumer_rotations_total counter",
      'wikistream_consumer_rotations_total{reason="rows"} 3',
      'wikistream_consumer_rotations_total{reason="time"} 1',
      "",
    ].join("\n"),
  );
});

Deno.test("snakeCase() converts camelCase field names with acronyms", () => {
  assert.equal(snakeCase("eventsIn"), "events_in");
  assert.equal(snakeCase("httpRetries"), "http_retries");
  assert.equal(snakeCase("lastSSEReconnects"), "last_sse_reconnects");
  assert.equal(snakeCase("deadLetters"), "dead_letters");
});
