import assert from "node:assert/strict";
import { SseClient } from "../../lib/sse/sse_client.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const FILE = "sat99496-wikistream-lakehouse_2026-02-26.ndjson";

async function firstRaw(url: URL, headers: Record<string, string> = {}): Promise<[number, string]> {
  const res = await fetch(url, { headers });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (
    text.split("\n\n").length < 3 &&
    !(res.status === 200 && text === ":ok\n\n" && url.search === "")
  ) {
    const r = await reader.read();
    if (r.done) break;
    text += r.value;
  }
  await reader.cancel();
  return [res.status, text];
}

Deno.test("test SSE server frames events like EventStreams with id timestamp = meta.dt + 1", async () => {
  const lines = await readRecordedLines(FILE, 3);
  await using server = await startSseServer({ events: lines });
  const [status, text] = await firstRaw(new URL("?since=0", server.url));
  assert.equal(status, 200);
  const dt = Date.parse(JSON.parse(lines[0]!).meta.dt);
  assert.ok(text.startsWith(
    ':ok\n\nevent: message\nid: [{"topic":"eqiad.mediawiki.recentchange","partition":0,' +
      `"timestamp":${
        dt + 1
      }},{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]\n` +
      `data: ${lines[0]}\n\n`,
  ));
});

Deno.test("test SSE server resolves Last-Event-ID and since to the first event at or after T", async () => {
  const lines = await readRecordedLines(FILE, 20);
  const times = lines.map((l) => Date.parse(JSON.parse(l).meta.dt));
  await using server = await startSseServer({ events: lines });
  const t = times[10]!;
  const expected = times.findIndex((x) => x >= t);
  await firstRaw(new URL(`?since=${new Date(t).toISOString()}`, server.url));
  await firstRaw(server.url, {
    "last-event-id": `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":${t}}]`,
  });
  await firstRaw(server.url); // no position: latest
  assert.deepEqual(server.connections.map((c) => c.startIndex), [expected, expected, 20]);
  const [bad] = await firstRaw(server.url, { "last-event-id": "nope" });
  const [foreign] = await firstRaw(server.url, {
    "last-event-id": '[{"topic":"other","partition":0,"offset":1}]',
  });
  assert.deepEqual([bad, foreign], [400, 404]);
});

/** Reads a whole body as text, also when the server aborts it (reset). */
async function readCutBody(url: URL): Promise<{ text: string; reset: boolean }> {
  const res = await fetch(url);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (true) {
      const r = await reader.read();
      if (r.done) return { text, reset: false };
      text += r.value;
    }
  } catch {
    return { text, reset: true };
  }
}

for (const cutMode of ["close", "reset"] as const) {
  Deno.test(`test SSE server cut (${cutMode}) sends exactly N events then half a frame`, async () => {
    const lines = await readRecordedLines(FILE, 100);
    // 37 is not a multiple of the 32-event chunk: the cut lands inside a chunk.
    await using server = await startSseServer({
      events: lines,
      cutEvery: 37,
      cutMode,
      atEnd: "close",
    });
    const { text, reset } = await readCutBody(new URL("?since=0", server.url));
    assert.equal(reset, cutMode === "reset");
    const parts = text.split("\n\n");
    const tail = parts.pop()!;
    assert.equal(parts.length, 1 + 37, ":ok plus 37 complete events");
    assert.deepEqual(parts.slice(1).map((p) => p.split("\ndata: ")[1]), lines.slice(0, 37));
    // The half frame really arrived: an unterminated event with part of the next data line.
    assert.ok(tail.startsWith("event: message\nid: "), JSON.stringify(tail.slice(0, 40)));
    assert.ok(tail.length > 100 && !tail.endsWith("\n"));
    assert.equal(server.cuts, 1);
  });
}

Deno.test("SseClient discards the unterminated event of a cut and gets exactly N events per connection", async () => {
  const lines = await readRecordedLines(FILE, 10);
  await using server = await startSseServer({ events: lines, cutEvery: 3, atEnd: "close" });
  // No Last-Event-ID: every connection starts again at since=0 and is cut after 3 events.
  const client = new SseClient({
    url: new URL("?since=0", server.url),
    userAgent: "t",
    backoffInitialMs: 1,
    backoffMaxMs: 5,
  });
  const controller = new AbortController();
  const got: string[] = [];
  for await (const m of client.messages(controller.signal)) {
    got.push(m.data);
    if (got.length === 6) break;
  }
  assert.deepEqual(got, [...lines.slice(0, 3), ...lines.slice(0, 3)]);
  assert.ok(server.cuts >= 1);
  assert.equal(server.connections.length, 2);
});
