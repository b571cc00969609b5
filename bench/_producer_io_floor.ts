/**
 * The producer benchmark's I/O floor: what the same stream and endpoint cost with
 * no producer logic at all. It reads the SSE stream with `fetch`, cuts it at LF,
 * takes the `data: ` lines as they are (no parsing, validation, keys, dedupe or
 * state) and posts them 1000 per request with one request in flight, like the
 * producer's defaults. No producer can be faster than this on the same runtime.
 *
 * @module
 */

const RECORDS_PER_REQUEST = 1000;
const ascii = (text: string) => new TextEncoder().encode(text);
const BODY_START = ascii('{"records":[');
const RECORD_START = ascii('{"value":');

async function post(
  proxy: string,
  lines: Uint8Array[],
  body: Uint8Array<ArrayBuffer>,
): Promise<void> {
  let at = 0;
  body.set(BODY_START, at);
  at += BODY_START.length;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) body[at++] = 0x2c;
    body.set(RECORD_START, at);
    at += RECORD_START.length;
    body.set(lines[i]!, at);
    at += lines[i]!.length;
    body[at++] = 0x7d;
  }
  body[at++] = 0x5d;
  body[at++] = 0x7d;
  const response = await fetch(`${proxy}/topics/wikimedia-changes`, {
    method: "POST",
    body: body.subarray(0, at),
    headers: { "content-type": "application/vnd.kafka.json.v2+json" },
  });
  const answer = await response.json() as { offsets: unknown[] };
  if (answer.offsets.length !== lines.length) throw new Error("the endpoint lost records");
}

/**
 * Streams `total` events from `sse` to `proxy` with no processing.
 *
 * @param sse the stream URL
 * @param proxy the produce endpoint's base URL
 * @param total events to expect
 */
export async function ioFloor(sse: string, proxy: string, total: number): Promise<void> {
  const reader = (await fetch(sse)).body!.getReader();
  const body = new Uint8Array(8 << 20);
  let pending = new Uint8Array(0);
  let lines: Uint8Array[] = [];
  let events = 0;
  let inFlight: Promise<void> = Promise.resolve();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let buf = value;
    if (pending.length > 0) {
      buf = new Uint8Array(pending.length + value.length);
      buf.set(pending);
      buf.set(value, pending.length);
    }
    let pos = 0;
    for (let lf = buf.indexOf(0x0a, pos); lf !== -1; lf = buf.indexOf(0x0a, pos)) {
      if (buf[pos] === 0x64 && buf[pos + 4] === 0x3a) lines.push(buf.subarray(pos + 6, lf));
      pos = lf + 1;
      if (lines.length === RECORDS_PER_REQUEST) {
        await inFlight;
        events += lines.length;
        inFlight = post(proxy, lines, body);
        lines = [];
      }
    }
    pending = buf.subarray(pos);
  }
  await inFlight;
  if (lines.length > 0) await post(proxy, lines, body);
  events += lines.length;
  if (events !== total) throw new Error(`the I/O floor moved ${events} events, expected ${total}`);
}
