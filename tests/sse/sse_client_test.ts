import assert from "node:assert/strict";
import { SseClient, SseHttpError } from "../../lib/sse/sse_client.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const FILE = "sat99496-wikistream-lakehouse_2026-02-26.ndjson";

async function take(client: SseClient, n: number) {
  const controller = new AbortController();
  const out = [];
  for await (const m of client.messages(controller.signal)) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

Deno.test("SseClient retries 429 and 500 with backoff, then streams with User-Agent", async () => {
  const lines = await readRecordedLines(FILE, 5);
  await using server = await startSseServer({ events: lines, statuses: [429, 500] });
  let reconnects = 0;
  const client = new SseClient({
    url: new URL("?since=0", server.url),
    userAgent: "ua-test/1",
    backoffInitialMs: 5,
    onReconnect: () => reconnects++,
  });
  const got = await take(client, 5);
  assert.deepEqual(got.map((m) => m.data), lines);
  assert.equal(reconnects, 2);
  assert.deepEqual(server.connections.map((c) => c.status), [429, 500, 200]);
  assert.equal(server.connections[2]!.userAgent, "ua-test/1");
});

Deno.test("SseClient reconnects after a cut with the Last-Event-ID it is given", async () => {
  const lines = await readRecordedLines(FILE, 10);
  await using server = await startSseServer({ events: lines, cutEvery: 4, atEnd: "hold" });
  let last = "";
  const client = new SseClient({
    url: new URL("?since=0", server.url),
    userAgent: "ua-test/1",
    backoffInitialMs: 5,
    lastEventId: () => last || undefined,
  });
  const controller = new AbortController();
  const got: string[] = [];
  for await (const m of client.messages(controller.signal)) {
    last = m.id;
    got.push(m.data);
    if (got.length === 10) break;
  }
  assert.deepEqual(got, lines);
  assert.ok(server.connections.length >= 3);
  assert.ok(server.connections[1]!.lastEventId!.includes('"timestamp"'));
});

Deno.test("SseClient drops a silent connection after the idle timeout", async () => {
  const lines = await readRecordedLines(FILE, 2);
  await using server = await startSseServer({ events: lines, atEnd: "hold" });
  const reasons: string[] = [];
  const client = new SseClient({
    url: new URL("?since=0", server.url),
    userAgent: "ua-test/1",
    idleTimeoutMs: 100,
    backoffInitialMs: 5,
    onReconnect: (info) => reasons.push(info.reason),
  });
  const controller = new AbortController();
  let n = 0;
  for await (const _ of client.messages(controller.signal)) {
    n++;
    if (server.connections.length >= 2) break;
  }
  assert.ok(n >= 2);
  assert.match(reasons[0]!, /idle timeout/);
});

Deno.test("SseClient stops with SseHttpError on 403 without retrying", async () => {
  await using server = await startSseServer({ events: [], statuses: [403] });
  const client = new SseClient({ url: server.url, userAgent: "" });
  await assert.rejects(
    take(client, 1),
    (e: unknown) => e instanceof SseHttpError && e.status === 403,
  );
  assert.equal(server.connections.length, 1);
});

Deno.test("SseClient treats an event: error frame as a reconnect", async () => {
  await using server = await startSseServer({
    rawLines: [
      "data: first",
      "",
      "event: error",
      'data: {"message":"boom"}',
      "",
      "data: after",
      "",
    ],
    atEnd: "close",
  });
  const reasons: string[] = [];
  const client = new SseClient({
    url: server.url,
    userAgent: "ua",
    backoffInitialMs: 5,
    onReconnect: (i) => reasons.push(i.reason),
  });
  const controller = new AbortController();
  const got: string[] = [];
  for await (const m of client.messages(controller.signal)) {
    got.push(m.data);
    if (reasons.length > 0) break;
  }
  assert.deepEqual(got, ["first", "first"], "the frame after the error is not read");
  assert.match(reasons[0]!, /event: error/);
});

Deno.test("SseClient stops reading at once on abort even when the fetch body ignores its signal", async () => {
  // Issue 9 reports stream connections (open 20 s or more) whose body read went on after the
  // fetch signal aborted; this fetch reproduces that, so the client must cancel the read itself.
  const lines = await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 2000);
  await using server = await startSseServer({
    events: lines,
    rate: 200,
    eventsPerChunk: 4,
  });
  const client = new SseClient({
    url: new URL("?since=0", server.url),
    userAgent: "ua-test/1",
    fetch: (input, init) => fetch(input, { ...init, signal: null }),
  });
  const controller = new AbortController();
  let received = 0;
  let afterAbort = 0;
  const reading = (async () => {
    for await (const _ of client.messages(controller.signal)) {
      if (controller.signal.aborted) afterAbort++;
      else received++;
    }
  })();
  while (received < 50) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  const abortedAt = performance.now();
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    reading.then(() => true),
    new Promise<false>((r) => deadline = setTimeout(() => r(false), 1000)),
  ]);
  clearTimeout(deadline);
  const stopMs = Math.round(performance.now() - abortedAt);
  if (!ended) {
    await server.close(); // ends the body, so the read loop ends and the test can report
    await reading;
  }
  assert.ok(ended, `still reading 1 s after the abort (${afterAbort} events after it)`);
  assert.ok(stopMs < 1000, `${stopMs} ms`);
  assert.equal(afterAbort, 0, "no event is yielded after the abort");
  assert.equal(server.connections.length, 1);
});
