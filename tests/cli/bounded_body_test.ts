import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  ERROR_BODY_MAX_BYTES,
  readBoundedBytes,
  readBoundedText,
  readErrorText,
} from "../../lib/cli/bounded_body.ts";

/** A body of `chunks` chunks of `size` bytes that counts what was pulled and sees a cancel. */
function countingBody(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false };
  let left = chunks;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left-- === 0) return controller.close();
      seen.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(0x78));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("readErrorText() keeps the first bytes of an endless body and cancels the rest", async () => {
  const { stream, seen } = countingBody(Infinity, 1024);
  const text = await readErrorText(new Response(stream, { status: 503 }), 4096);
  assert.equal(text, "x".repeat(4096) + "…");
  assert.equal(seen.pulled, 5 * 1024);
  assert.equal(seen.cancelled, true);
  assert.equal(ERROR_BODY_MAX_BYTES, 8192);
});

Deno.test("readErrorText() returns a short body whole and an unreadable one as empty", async () => {
  assert.equal(await readErrorText(new Response('{"error_code":40403}')), '{"error_code":40403}');
  assert.equal(await readErrorText(new Response(null, { status: 406 })), "");
  const failing = new ReadableStream({
    pull: (c) => c.error(new Error("connection reset")),
  });
  assert.equal(await readErrorText(new Response(failing)), "");
});

Deno.test("readBoundedBytes() reads a body up to its cap and fails past it without reading on", async () => {
  assert.equal((await readBoundedBytes(new Response("x".repeat(100)), 100)).length, 100);
  assert.equal(await readBoundedText(new Response("héllo"), 6), "héllo");
  const { stream, seen } = countingBody(Infinity, 1000);
  await assert.rejects(
    readBoundedBytes(new Response(stream), 10_000),
    (e: unknown) => e instanceof BodyTooLargeError && e instanceof RangeError && e.limit === 10_000,
  );
  assert.equal(seen.pulled, 11_000);
  assert.equal(seen.cancelled, true);
});

Deno.test("readBoundedBytes() refuses a Content-Length over the cap before reading", async () => {
  const { stream, seen } = countingBody(10, 1000);
  const response = new Response(stream, { headers: { "content-length": "10000" } });
  await assert.rejects(
    readBoundedBytes(response, 9999),
    BodyTooLargeError,
    "Cannot read the response: its body is 10000 bytes, more than 9999",
  );
  assert.equal(seen.pulled, 0);
});

Deno.test("readBoundedBytes() caps a gzip body by its decoded size, not by its Content-Length", async () => {
  // 1 MB of "x" is ~1 KB gzipped: the Content-Length is far under the cap, the body fetch
  // hands over (decoded) far over it
  const decoded = new Uint8Array(1_000_000).fill(0x78);
  const gzipped = new Uint8Array(
    await new Response(
      new Blob([decoded]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(gzipped, {
        headers: { "content-encoding": "gzip", "content-length": String(gzipped.length) },
      }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const small = await fetch(url);
  assert.equal(small.headers.get("content-length"), String(gzipped.length));
  await assert.rejects(readBoundedBytes(small, 100_000), BodyTooLargeError);
  // within the cap, the decoded body comes back whole
  assert.deepEqual(await readBoundedBytes(await fetch(url), 1_000_000), decoded);
});

Deno.test("readBoundedBytes() reads a body of a known length whole, in any number of chunks", async () => {
  const { stream } = countingBody(7, 1000);
  const response = new Response(stream, { headers: { "content-length": "7000" } });
  const bytes = await readBoundedBytes(response, 7000);
  assert.equal(bytes.length, 7000);
  assert.ok(bytes.every((b) => b === 0x78));
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, 7000, "one buffer of the declared length");
});
