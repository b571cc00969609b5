import assert from "node:assert/strict";
import type { Clock } from "../../lib/cli/delay.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { type ReconnectInfo, SseClient, SseHttpError } from "../../lib/sse/sse_client.ts";
import { type HugeBodyAnswer, startHugeBodyServer } from "../_helpers/huge_body_server.ts";
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

/** A clock whose sleeps return at once (their lengths are recorded); `now` is the real time. */
function instantClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleeps, now: () => Date.now(), sleep: (ms) => (sleeps.push(ms), Promise.resolve()) };
}

const HUGE = 256 * 1024 * 1024;
/** What a client that stops early may pull: its cap plus what the sockets buffer. */
const EARLY = 32 * 1024 * 1024;
const EVENT_STREAM = { "content-type": "text/event-stream" };

Deno.test("SseClient reads only the start of a huge error body (503, 429, 403) and goes on", async () => {
  // Issue 12: a 429 with a 3 GB body took the producer to 3.77 GB RSS to keep 300 characters.
  const answers: HugeBodyAnswer[] = [
    { status: 503, hugeBytes: HUGE, fill: "busy " },
    { status: 429, hugeBytes: HUGE, fill: "slow down " },
    { status: 200, headers: EVENT_STREAM, body: "data: a\n\n" },
  ];
  await using server = startHugeBodyServer((i) => answers[i] ?? answers[2]!);
  const client = new SseClient({
    url: server.url,
    userAgent: "ua",
    backoffInitialMs: 5,
    clock: instantClock(),
  });
  const got = await take(client, 1);
  assert.deepEqual(got.map((m) => m.data), ["a"]);
  for (const r of server.requests.slice(0, 2)) {
    assert.ok(r.pulled < EARLY, `the client pulled ${r.pulled} bytes of a ${HUGE}-byte body`);
  }

  await using refusing = startHugeBodyServer(() => ({
    status: 403,
    hugeBytes: HUGE,
    fill: "forbidden ",
  }));
  const refused = new SseClient({ url: refusing.url, userAgent: "ua" });
  await assert.rejects(take(refused, 1), (e: unknown) => {
    assert.ok(e instanceof SseHttpError && e.status === 403);
    assert.ok(e.body.length <= 300 && e.body.startsWith("forbidden"), e.body.slice(0, 100));
    return true;
  });
  assert.ok(refusing.requests[0]!.pulled < EARLY, `${refusing.requests[0]!.pulled} bytes pulled`);
});

Deno.test("SseClient clamps retry: to 0.5 s – 5 min (no setTimeout overflow, no 23-day wait)", async () => {
  const bodies = [
    "retry: 3000000000\ndata: a\n\n",
    "retry: 2000000000\ndata: b\n\n",
    "retry: 99999999999999999999999999\ndata: c\n\n",
    "retry: 10\ndata: d\n\n",
    "retry: 1500\ndata: e\n\n",
    "data: f\n\n",
  ];
  await using server = startHugeBodyServer((i) => ({
    status: 200,
    headers: EVENT_STREAM,
    body: bodies[Math.min(i, bodies.length - 1)]!,
  }));
  const reconnects: ReconnectInfo[] = [];
  const client = new SseClient({
    url: server.url,
    userAgent: "ua",
    backoffInitialMs: 5,
    backoffMaxMs: 5,
    clock: instantClock(),
    onReconnect: (info) => reconnects.push(info),
  });
  const got = await take(client, 6);
  assert.deepEqual(got.map((m) => m.data), ["a", "b", "c", "d", "e", "f"]);
  assert.deepEqual(
    reconnects.slice(0, 5).map((r) => r.delayMs),
    [300_000, 300_000, 300_000, 500, 1500],
  );
});

Deno.test("SseClient honours Retry-After (seconds or HTTP-date) within 0.5 s – 5 min and warns on every 429", async () => {
  const inTwentySeconds = new Date(Date.now() + 20_000).toUTCString();
  const answers: HugeBodyAnswer[] = [
    { status: 429, headers: { "retry-after": "7" } },
    { status: 503, headers: { "retry-after": inTwentySeconds } },
    { status: 429, headers: { "retry-after": "99999" } },
    { status: 429, headers: { "retry-after": "0" } },
    { status: 429, headers: { "retry-after": "soon" } },
    { status: 200, headers: EVENT_STREAM, body: "data: a\n\n" },
  ];
  await using server = startHugeBodyServer((i) => answers[Math.min(i, answers.length - 1)]!);
  const sink = memorySink();
  const reconnects: ReconnectInfo[] = [];
  const client = new SseClient({
    url: server.url,
    userAgent: "ua",
    backoffInitialMs: 5,
    backoffMaxMs: 5,
    clock: instantClock(),
    log: createLogger({ sink, level: "debug" }),
    onReconnect: (info) => reconnects.push(info),
  });
  await take(client, 1);
  const delays = reconnects.map((r) => r.delayMs);
  assert.equal(delays[0], 7000);
  assert.ok(delays[1]! >= 18_000 && delays[1]! <= 21_000, `HTTP-date: ${delays[1]} ms`);
  assert.equal(delays[2], 300_000, "capped at 5 min");
  assert.equal(delays[3], 500, "raised to 0.5 s");
  assert.ok(delays[4]! <= 5, `an unreadable Retry-After leaves the backoff: ${delays[4]} ms`);
  const warned429 = sink.records.filter((r) => r.level === "warn" && /429/.test(r.message));
  assert.deepEqual(warned429.map((r) => r.properties.delayMs), [7000, 300_000, 500, delays[4]]);
});
