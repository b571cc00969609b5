/**
 * Reading a peer's response body with a cap. A body is only ever read up to a bound chosen
 * by the caller, so a peer that answers with a huge (or endless) body cannot grow memory:
 * {@linkcode readErrorText} keeps the start of an error body and cancels the rest,
 * {@linkcode readBoundedBytes} reads a success body whole or fails with
 * {@linkcode BodyTooLargeError} as soon as it passes the cap (also before reading, when the
 * `Content-Length` says so). An encoded body (`Content-Encoding: gzip`, which `fetch` decodes) is
 * capped by its decoded bytes, as its `Content-Length` counts the encoded ones.
 *
 * @module
 */
import { concatBytes } from "./concat_bytes.ts";

/** How much of an error body is read (the rest is cancelled unread), in bytes. */
export const ERROR_BODY_MAX_BYTES = 8 * 1024;

const UTF8 = new TextDecoder();

/** A response body was longer than its cap; what had been read is dropped. */
export class BodyTooLargeError extends RangeError {
  /** The cap in bytes. */
  readonly limit: number;

  /**
   * Creates a `BodyTooLargeError`.
   *
   * @param limit the cap in bytes
   * @param declared the `Content-Length` when it alone was over the cap
   */
  constructor(limit: number, declared?: number) {
    super(
      declared === undefined
        ? `Cannot read the response: its body is larger than ${limit} bytes`
        : `Cannot read the response: its body is ${declared} bytes, more than ${limit}`,
    );
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

function declaredLength(response: Response): number | undefined {
  const text = response.headers.get("content-length");
  if (text === null || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text);
}

function isEncoded(response: Response): boolean {
  const encoding = response.headers.get("content-encoding");
  return encoding !== null && encoding.trim().toLowerCase() !== "identity";
}

/**
 * Reads a body whose length HTTP declared into one buffer of that length, chunk by chunk (no
 * chunks kept and joined after, and measured cheaper than `arrayBuffer()` on 1 MiB bodies).
 *
 * @param response the response whose body is read (consumed)
 * @param length its `Content-Length`
 * @returns the body (shorter only when the stream ended early)
 * @throws {Error} when the stream holds more bytes than declared
 */
async function readDeclared(response: Response, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(length);
  const body = response.body;
  if (body === null) return out.subarray(0, 0);
  const reader = body.getReader();
  let at = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return at === length ? out : out.subarray(0, at);
      if (at + value.length > length) {
        await reader.cancel().catch(() => {});
        throw new Error(
          `Cannot read the response: its body is longer than its Content-Length (${length})`,
        );
      }
      out.set(value, at);
      at += value.length;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Reads at most `limit` bytes of a body; cancels the rest.
 *
 * @param response the response whose body is read (consumed)
 * @param limit the most bytes kept
 * @returns the bytes read (at most `limit`) and whether the body went on past them
 */
async function readPrefix(
  response: Response,
  limit: number,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; more: boolean }> {
  const body = response.body;
  if (body === null) return { bytes: new Uint8Array(0), more: false };
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return { bytes: concatBytes(parts, length), more: false };
      if (length + value.length > limit) {
        parts.push(value.subarray(0, limit - length));
        length = limit;
        return { bytes: concatBytes(parts, length), more: true };
      }
      parts.push(value);
      length += value.length;
    }
  } finally {
    // Leaves the rest unread: the connection is closed instead of drained.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Reads a whole body that must not exceed `limit` bytes.
 *
 * @param response the response whose body is read (consumed)
 * @param limit the largest body accepted, in bytes
 * @returns the body
 * @throws {BodyTooLargeError} when the body (or its `Content-Length`) is larger than `limit`;
 *   the body is cancelled, not read to its end
 * @example A body within its cap
 * ```ts
 * import { readBoundedBytes } from "./bounded_body.ts";
 * const bytes = await readBoundedBytes(new Response("[1,2]"), 1024);
 * // bytes.length === 5
 * ```
 */
export async function readBoundedBytes(
  response: Response,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  // a Content-Length counts the bytes on the wire: with a Content-Encoding (fetch decodes
  // gzip, br and deflate) it says nothing of the body's decoded size
  const declared = isEncoded(response) ? undefined : declaredLength(response);
  if (declared !== undefined && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit, declared);
  }
  if (declared !== undefined) return await readDeclared(response, declared);
  const { bytes, more } = await readPrefix(response, limit);
  if (more) throw new BodyTooLargeError(limit);
  return bytes;
}

/**
 * Reads a whole body of at most `limit` bytes as UTF-8 text (invalid bytes become U+FFFD).
 *
 * @param response the response whose body is read (consumed)
 * @param limit the largest body accepted, in bytes
 * @returns the text
 * @throws {BodyTooLargeError} when the body is larger than `limit`
 */
export async function readBoundedText(response: Response, limit: number): Promise<string> {
  return UTF8.decode(await readBoundedBytes(response, limit));
}

/**
 * Reads the start of an error body as text and cancels the rest; never throws.
 *
 * @param response the error response whose body is read (consumed)
 * @param limit the most bytes read @default ERROR_BODY_MAX_BYTES
 * @returns the text of the first `limit` bytes (`""` when the body cannot be read), with
 *   `…` appended when the body went on
 * @example Only the start of a long body is read
 * ```ts
 * import { readErrorText } from "./bounded_body.ts";
 * const text = await readErrorText(new Response("x".repeat(100_000), { status: 503 }), 10);
 * // text === "xxxxxxxxxx…"
 * ```
 */
export async function readErrorText(
  response: Response,
  limit: number = ERROR_BODY_MAX_BYTES,
): Promise<string> {
  try {
    const { bytes, more } = await readPrefix(response, limit);
    // a multi-byte character cut at the cap decodes to one U+FFFD at the end
    return UTF8.decode(bytes) + (more ? "…" : "");
  } catch {
    return "";
  }
}
