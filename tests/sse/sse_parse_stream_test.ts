import assert from "node:assert/strict";
import { SseEventParser, type SseMessage, SseParseStream } from "../../lib/sse/sse_parse_stream.ts";
import { RecentChangeScanner } from "../../lib/recentchange/recentchange_scan.ts";
import { readRecordedLines, RECORDINGS_DIR } from "../_helpers/sse_server.ts";

interface PlainMessage {
  event: string;
  data: string;
  id: string;
  retry?: number;
  truncated?: true;
}

/** A message as a plain object (its id and data decoded), for deepEqual. */
function plain(m: SseMessage): PlainMessage {
  const out: PlainMessage = { event: m.event, data: m.data, id: m.id };
  if (m.retry !== undefined) out.retry = m.retry;
  if (m.truncated) out.truncated = true;
  return out;
}

async function parse(chunks: string[], options = {}): Promise<PlainMessage[]> {
  return (await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new SseParseStream(options)),
  )).map(plain);
}

async function parseBytes(chunks: Uint8Array[]): Promise<PlainMessage[]> {
  return (await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new SseParseStream()),
  )).map(plain);
}

Deno.test("SseParseStream dispatches an event on a blank line with event, id and data", async () => {
  assert.deepEqual(await parse(['event: message\nid: 7\ndata: {"a":1}\n\n']), [
    { event: "message", id: "7", data: '{"a":1}' },
  ]);
});

Deno.test("SseParseStream joins multi-line data fields with a newline", async () => {
  assert.deepEqual(await parse(["data: one\ndata:two\ndata\n\n"]), [
    { event: "message", id: "", data: "one\ntwo\n" },
  ]);
});

Deno.test("SseParseStream strips exactly one space after the colon", async () => {
  assert.deepEqual((await parse(["data:  two spaces\n\n"]))[0]!.data, " two spaces");
});

Deno.test("SseParseStream ignores comments and unknown fields", async () => {
  assert.deepEqual(await parse([":ok\n\nfoo: bar\n: another\ndata: x\n\n"]), [
    { event: "message", id: "", data: "x" },
  ]);
});

Deno.test("SseParseStream accepts CR, LF and CRLF line ends, also split across chunks", async () => {
  const expected = [
    { event: "message", id: "", data: "a" },
    { event: "message", id: "", data: "b" },
    { event: "message", id: "", data: "c" },
  ];
  assert.deepEqual(await parse(["data: a\r\rdata: b\r\n\r\ndata: c\n\n"]), expected);
  assert.deepEqual(
    await parse(["data: a\r", "\r", "data: b\r", "\n\r", "\ndata: c\n", "\n"]),
    expected,
  );
});

Deno.test("SseParseStream skips a leading byte order mark", async () => {
  assert.deepEqual(await parse(["\ufeffdata: x\n\n"]), [{ event: "message", id: "", data: "x" }]);
  assert.deepEqual(await parse(["", "\ufeff", "data: x\n\n"]), [
    { event: "message", id: "", data: "x" },
  ]);
});

Deno.test("SseParseStream keeps the last event id across events and reports retry", async () => {
  const messages = await parse(["id: 1\ndata: a\n\ndata: b\n\nretry: 1500\nid\ndata: c\n\n"]);
  assert.deepEqual(messages.map((m) => m.id), ["1", "1", ""]);
  assert.equal(messages[2]!.retry, 1500);
  assert.equal(messages[0]!.retry, undefined);
});

Deno.test("SseParseStream ignores a retry field that is not all digits", async () => {
  assert.equal((await parse(["retry: 1s\ndata: a\n\n"]))[0]!.retry, undefined);
});

Deno.test("SseParseStream does not dispatch an event without data, and resets its type", async () => {
  assert.deepEqual(await parse(["event: error\n\ndata: a\n\n"]), [
    { event: "message", id: "", data: "a" },
  ]);
  assert.deepEqual(await parse(["event: error\ndata: boom\n\n"]), [
    { event: "error", id: "", data: "boom" },
  ]);
});

Deno.test("SseParseStream discards an unterminated event at the end of the stream", async () => {
  assert.deepEqual(await parse(["data: a\n\ndata: half"]), [
    { event: "message", id: "", data: "a" },
  ]);
});

Deno.test("SseParseStream marks an event whose line is above the cap truncated and goes on", async () => {
  const big = "x".repeat(300);
  const chunks = [
    "id: 1\ndata: " + big.slice(0, 40),
    big.slice(40, 200),
    big.slice(200) + "\r",
    "\n\n",
  ];
  chunks.push("id: 2\ndata: ok\n\n");
  const messages = await parse(chunks, { maxLineLength: 50 });
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[0]!.id, "1");
  assert.ok(big.startsWith(messages[0]!.data) && messages[0]!.data.length > 0);
  assert.deepEqual(messages[1], { event: "message", id: "2", data: "ok" });
});

Deno.test("SseParseStream marks an event whose data lines exceed the data cap truncated", async () => {
  const lines = Array.from({ length: 10 }, (_, i) => `data: ${String(i).repeat(20)}`).join("\n");
  const messages = await parse([lines + "\n\n", "data: next\n\n"], { maxDataLength: 100 });
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.truncated, true);
  assert.ok(messages[0]!.data.startsWith("0".repeat(20)));
  assert.equal(messages[1]!.truncated, undefined);
  assert.equal(messages[1]!.data, "next");
});

Deno.test("SseParseStream yields identical events for a recorded stream cut at every byte", async () => {
  const sse = await Deno.readFile(
    new URL("sse/objecthub-swift-dynamicjson_2026-10-05_excerpt.sse", RECORDINGS_DIR),
  );
  // Add events with non-BMP characters (U+10C07) and other multi-byte text.
  const lines = (await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson"))
    .filter((l) => /[\u{10000}-\u{10FFFF}]/u.test(l)).slice(0, 2);
  assert.equal(lines.length, 2);
  const extra = new TextEncoder().encode(
    lines.map((l, i) => `event: message\r\nid: x${i}\r\ndata: ${l}\r\n\r\n`).join(""),
  );
  const all = new Uint8Array(sse.length + extra.length);
  all.set(sse);
  all.set(extra, sse.length);
  const expected = await parseBytes([all]);
  assert.equal(expected.length, 12);
  assert.ok(
    expected[11]!.data.includes("\u{10C07}") || /[\u{10000}-\u{10FFFF}]/u.test(expected[11]!.data),
  );
  for (const m of expected.slice(0, 10)) JSON.parse(m.data);
  for (let cut = 0; cut <= all.length; cut++) {
    const got = await parseBytes([all.subarray(0, cut), all.subarray(cut)]);
    if (got.length !== expected.length) assert.fail(`cut at byte ${cut}: ${got.length} events`);
    for (let i = 0; i < got.length; i++) {
      const a = got[i]!;
      const b = expected[i]!;
      if (a.data !== b.data || a.id !== b.id || a.event !== b.event) {
        assert.fail(`cut at byte ${cut}: event ${i} differs`);
      }
    }
  }
});

Deno.test("SseParseStream yields identical events for a recorded stream in 3-byte chunks", async () => {
  const sse = await Deno.readFile(
    new URL("sse/objecthub-swift-dynamicjson_2026-10-05_excerpt.sse", RECORDINGS_DIR),
  );
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < sse.length; i += 3) chunks.push(sse.subarray(i, i + 3));
  assert.deepEqual(await parseBytes(chunks), await parseBytes([sse]));
});

Deno.test("SseEventParser keeps a CRLF split by an empty chunk as one line end", () => {
  const parser = new SseEventParser();
  const out: SseMessage[] = [];
  // a network read can be empty
  for (const chunk of ["data: a\r", "", "\ndata: b\r\n\r\n"]) {
    parser.push(new TextEncoder().encode(chunk), (m) => out.push(m));
  }
  assert.deepEqual(out.map(plain), [{ event: "message", id: "", data: "a\nb" }]);
});

Deno.test("SseEventParser keeps data as bytes, decoding only on demand", () => {
  const parser = new SseEventParser();
  const out: SseMessage[] = [];
  const chunk = new TextEncoder().encode("id: 7\ndata: caf\u00e9 \ud83d\ude00\n\n");
  parser.push(chunk.subarray(0, 15), (m) => out.push(m)); // inside the 2-byte character
  parser.push(chunk.subarray(15), (m) => out.push(m));
  assert.equal(out.length, 1);
  assert.deepEqual(
    Array.from(out[0]!.bytes),
    Array.from(new TextEncoder().encode("caf\u00e9 \u{1F600}")),
  );
  assert.equal(out[0]!.data, "caf\u00e9 \u{1F600}");
  assert.equal(out[0]!.hasId, true);
  assert.equal(out[0]!.id, "7");
  // invalid UTF-8 in data becomes U+FFFD when read as text
  const bad = Uint8Array.from([...new TextEncoder().encode("data: a"), 0xff, 0x0a, 0x0a]);
  parser.push(bad, (m) => out.push(m));
  assert.equal(out[1]!.data, "a\ufffd");
  assert.equal(out[1]!.hasId, true, "the last id stays in effect");
});

Deno.test("SseEventParser with an inspectData hook yields the same events, cut at every byte", async () => {
  const sse = await Deno.readFile(
    new URL("sse/objecthub-swift-dynamicjson_2026-10-05_excerpt.sse", RECORDINGS_DIR),
  );
  const run = (chunks: Uint8Array[], hook: boolean) => {
    const scanner = new RecentChangeScanner();
    const parser = new SseEventParser(
      hook ? { inspectData: (b: Uint8Array, at: number) => scanner.scanLine(b, at) } : {},
    );
    const out: SseMessage<ReturnType<RecentChangeScanner["scanLine"]> & object>[] = [];
    for (const c of chunks) parser.push(c, (m) => out.push(m));
    return out;
  };
  const expected = run([sse], false).map(plain);
  const whole = run([sse], true);
  assert.deepEqual(whole.map(plain), expected);
  assert.ok(expected.length >= 10);
  // In one chunk every recorded event is read in place by the hook.
  assert.equal(whole.filter((m) => m.inspection !== undefined).length, expected.length);
  assert.equal(whole[0]!.inspection!.metaId, JSON.parse(expected[0]!.data).meta.id);
  for (let cut = 0; cut <= sse.length; cut += 7) {
    const got = run([sse.subarray(0, cut), sse.subarray(cut)], true);
    assert.deepEqual(got.map(plain), expected, `cut at byte ${cut}`);
  }
  // A second data line voids the hook's reading of the first.
  const event = '{"meta":{"id":"a","dt":"2026-01-01T00:00:00Z"}}';
  const one = run([new TextEncoder().encode(`:ok\n\ndata: ${event}\n\n`)], true);
  assert.equal(one[0]!.inspection?.metaId, "a");
  const two = run([new TextEncoder().encode(`:ok\n\ndata: ${event}\ndata: 2\n\n`)], true);
  assert.equal(two[0]!.data, `${event}\n2`);
  assert.equal(two[0]!.inspection, undefined);
});
