import assert from "node:assert/strict";
import { consoleSink, createLogger, describeError, memorySink } from "../../lib/cli/log.ts";

Deno.test("Logger redacts properties with secret-looking names", () => {
  const sink = memorySink();
  const log = createLogger({ sink });
  log.info("connecting", {
    AWS_SECRET_ACCESS_KEY: "abc",
    password: "p",
    apiToken: "t",
    accessKeyId: "AKIA",
    host: "h",
    recordKey: "page",
  });
  assert.deepEqual(sink.records[0]!.properties, {
    AWS_SECRET_ACCESS_KEY: "<redacted>",
    password: "<redacted>",
    apiToken: "<redacted>",
    accessKeyId: "<redacted>",
    host: "h",
    recordKey: "page",
  });
});

Deno.test("Logger removes credentials from URLs in the message and in every value", () => {
  const sink = memorySink();
  const log = createLogger({ sink });
  log.warn('Cannot reach "http://u:pa55@proxy:8082/"', {
    url: new URL("http://u:pa55@stream/x?token=t0k"),
    stream: "https://stream/x?api_key=k3y&since=1",
    error: new Error("fetch failed", {
      cause: new Error("error sending request for url (http://proxy/?X-Amz-Signature=s1g)"),
    }),
    events: 3,
  });
  const record = sink.records[0]!;
  assert.equal(record.message, 'Cannot reach "http://<redacted>@proxy:8082/"');
  assert.deepEqual(record.properties, {
    url: "http://<redacted>@stream/x?token=<redacted>",
    stream: "https://stream/x?api_key=<redacted>&since=1",
    error: "fetch failed: caused by: error sending request for url " +
      "(http://proxy/?X-Amz-Signature=<redacted>)",
    events: 3,
  });
});

Deno.test("Logger drops records below its level and names child components", () => {
  const sink = memorySink();
  const log = createLogger({ sink, level: "warn", component: "producer" });
  log.info("hidden");
  log.child("sse").warn("shown");
  assert.equal(sink.records.length, 1);
  assert.equal(sink.records[0]!.component, "producer.sse");
});

Deno.test("consoleSink() writes one JSON object per line in json format", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: consoleSink({ format: "json", write: (l) => lines.push(l) }) });
  log.error("failed", { error: new Error("outer", { cause: new Error("inner") }), n: 1n });
  const parsed = JSON.parse(lines[0]!);
  assert.equal(parsed.level, "error");
  assert.equal(parsed.msg, "failed");
  assert.equal(parsed.error, "outer: caused by: inner");
  assert.equal(parsed.n, "1");
});

Deno.test("consoleSink() writes a readable one-liner in pretty format", () => {
  const lines: string[] = [];
  const log = createLogger({
    sink: consoleSink({ format: "pretty", write: (l) => lines.push(l) }),
  });
  log.info("ready", { url: "http://127.0.0.1:8082" });
  assert.match(lines[0]!, /INFO {2}wikistream: ready url=http:\/\/127\.0\.0\.1:8082$/);
});

Deno.test("describeError() walks the cause chain and skips repeated messages", () => {
  assert.equal(describeError(new Error("a", { cause: "b" })), "a: caused by: b");
  assert.equal(
    describeError(new Error("a", { cause: new Error("a", { cause: new Error("c") }) })),
    "a: caused by: c",
  );
});
