import assert from "node:assert/strict";
import { SseLineParser, type SseMessage, SseParseStream } from "../lib/sse_parse_stream.ts";
import { readRecordedLines, RECORDINGS_DIR } from "./_helpers/sse_server.ts";

async function parse(chunks: string[]): Promise<SseMessage[]> {
  return await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new SseParseStream()));
}

async function parseBytes(chunks: Uint8Array[]): Promise<SseMessage[]> {
  return await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new TextDecoderStream()).pipeThrough(
      new SseParseStream(),
    ),
  );
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
  const stream = ReadableStream.from(chunks).pipeThrough(new SseParseStream({ maxLineLength: 50 }));
  const messages = await Array.fromAsync(stream);
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[0]!.id, "1");
  assert.ok(big.startsWith(messages[0]!.data) && messages[0]!.data.length > 0);
  assert.deepEqual(messages[1], { event: "message", id: "2", data: "ok" });
});

Deno.test("SseParseStream marks an event whose data lines exceed the data cap truncated", async () => {
  const lines = Array.from({ length: 10 }, (_, i) => `data: ${String(i).repeat(20)}`).join("\n");
  const messages = await Array.fromAsync(
    ReadableStream.from([lines + "\n\n", "data: next\n\n"]).pipeThrough(
      new SseParseStream({ maxDataLength: 100 }),
    ),
  );
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

Deno.test("SseLineParser keeps a CRLF split by an empty chunk as one line end", () => {
  const parser = new SseLineParser();
  const out: SseMessage[] = [];
  // the client decodes every network chunk; a chunk can decode to "" (empty read)
  for (const chunk of ["data: a\r", "", "\ndata: b\r\n\r\n"]) {
    parser.push(chunk, (m) => out.push(m));
  }
  assert.deepEqual(out, [{ event: "message", id: "", data: "a\nb" }]);
});
