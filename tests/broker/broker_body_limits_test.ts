import assert from "node:assert/strict";
import { produceJson, startTestBroker, V2, V2_JSON_EMBEDDED } from "../_helpers/broker_http.ts";
import { rawClose, rawConnect, rawWrite, readResponse, requestHead } from "../_helpers/raw_http.ts";

const MiB = 1024 * 1024;
const PRODUCE_HEADERS = { "content-type": V2_JSON_EMBEDDED, accept: V2 };

function chunk(bytes: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${bytes.length.toString(16)}\r\n`);
  const out = new Uint8Array(head.length + bytes.length + 2);
  out.set(head);
  out.set(bytes, head.length);
  out.set([13, 10], head.length + bytes.length);
  return out;
}

/** Sends a chunked produce body of `total` bytes, stopping once a response has arrived. */
async function sendChunked(conn: Deno.Conn, total: number): Promise<{ written: number }> {
  await rawWrite(
    conn,
    requestHead("POST", "/topics/t", {
      ...PRODUCE_HEADERS,
      "transfer-encoding": "chunked",
    }),
  );
  // a JSON array that never ends, so nothing but the cap can stop the read
  const piece = chunk(new TextEncoder().encode(`{"records":[${'{"value":1},'.repeat(21_845)}`));
  const filler = chunk(new TextEncoder().encode('{"value":1},'.repeat(21_845)));
  let written = 0;
  let first = true;
  try {
    while (written < total) {
      await rawWrite(conn, first ? piece : filler);
      first = false;
      written += filler.length;
    }
    await rawWrite(conn, "0\r\n\r\n");
  } catch {
    // the broker answered and closed: it stopped reading
  }
  return { written };
}

Deno.test("broker answers 413 to a chunked body past maxBodyBytes without reading the rest", async () => {
  await using tb = await startTestBroker({ maxBodyBytes: 1 * MiB, maxBufferedBytes: 4 * MiB });
  const conn = await rawConnect(tb.broker.url);
  try {
    const response = readResponse(conn, 30_000);
    const sending = sendChunked(conn, 300 * MiB);
    const res = await response;
    rawClose(conn); // stops the sender
    const { written } = await sending;
    assert.equal(res?.status, 413);
    assert.deepEqual(JSON.parse(res!.body), {
      error_code: 413,
      message: `Request body too large: limit is ${1 * MiB} bytes (BROKER_MAX_BODY_BYTES)`,
    });
    assert.ok(written < 64 * MiB, `the broker read ${written} bytes before answering`);
    assert.equal(tb.broker.stats().refused.body_too_large, 1);
    assert.equal(tb.broker.stats().bufferedBodyBytes, 0, "the bytes read are given back");
  } finally {
    rawClose(conn);
  }
  // and it still serves
  assert.equal((await produceJson(tb, "t", [{ value: 1 }])).status, 200);
});

Deno.test("broker answers 413 to a Content-Length past maxBodyBytes before reading the body", async () => {
  await using tb = await startTestBroker({ maxBodyBytes: 1024, maxBufferedBytes: 4096 });
  const conn = await rawConnect(tb.broker.url);
  try {
    await rawWrite(
      conn,
      requestHead("POST", "/topics/t", {
        ...PRODUCE_HEADERS,
        "content-length": "5000",
      }),
    );
    const res = await readResponse(conn);
    assert.equal(res?.status, 413);
    assert.equal(JSON.parse(res!.body).error_code, 413);
  } finally {
    rawClose(conn);
  }
});

Deno.test("broker answers 408 to a body that pauses longer than bodyIdleTimeoutMs", async () => {
  await using tb = await startTestBroker({ bodyIdleTimeoutMs: 300 });
  const conn = await rawConnect(tb.broker.url);
  try {
    await rawWrite(
      conn,
      requestHead("POST", "/topics/t", {
        ...PRODUCE_HEADERS,
        "content-length": "1000",
      }),
    );
    await rawWrite(conn, '{"records":[');
    const started = Date.now();
    const res = await readResponse(conn, 5000);
    assert.equal(res?.status, 408);
    assert.deepEqual(JSON.parse(res!.body), {
      error_code: 408,
      message: "Request Timeout: no bytes of the request body for 300 ms " +
        "(BROKER_BODY_IDLE_TIMEOUT_MS)",
    });
    assert.ok(Date.now() - started < 3000);
    assert.equal(tb.broker.stats().refused.body_timeout, 1);
  } finally {
    rawClose(conn);
  }
});

Deno.test("broker answers 503 with Retry-After when bodies held together would pass maxBufferedBytes", async () => {
  await using tb = await startTestBroker({
    maxBodyBytes: 64 * 1024,
    maxBufferedBytes: 64 * 1024,
    bodyIdleTimeoutMs: 10_000,
  });
  const stalled = await rawConnect(tb.broker.url);
  try {
    // holds 40 KiB of the budget: its body is declared and never finished
    await rawWrite(
      stalled,
      requestHead("POST", "/topics/t", {
        ...PRODUCE_HEADERS,
        "content-length": String(40 * 1024),
      }),
    );
    await rawWrite(stalled, '{"records":[');
    for (let i = 0; i < 50 && tb.broker.stats().bufferedBodyBytes === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(tb.broker.stats().bufferedBodyBytes, 40 * 1024);
    const body = JSON.stringify({ records: [{ value: "x".repeat(30 * 1024) }] });
    const res = await fetch(tb.url("/topics/t"), {
      method: "POST",
      headers: PRODUCE_HEADERS,
      body,
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.deepEqual(await res.json(), {
      error_code: 503,
      message: `Service Unavailable: request bodies held by the broker would pass ${64 * 1024} ` +
        "bytes (BROKER_MAX_BUFFERED_BYTES); retry later",
    });
    assert.equal(tb.broker.stats().refused.buffer_full, 1);
    rawClose(stalled);
    // once the stalled request is gone, its bytes are free again
    for (let i = 0; i < 50 && tb.broker.stats().bufferedBodyBytes > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const again = await fetch(tb.url("/topics/t"), {
      method: "POST",
      headers: PRODUCE_HEADERS,
      body,
    });
    assert.equal(again.status, 200, await again.text());
  } finally {
    rawClose(stalled);
  }
});
