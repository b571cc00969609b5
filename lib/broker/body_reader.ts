/**
 * Reading request bodies within limits: the size cap is enforced on the bytes actually
 * read (a chunked body has no Content-Length to check), a body that pauses longer than the
 * idle timeout is answered 408, and every byte held counts against a {@linkcode BodyBudget}
 * shared by all requests until the request is answered.
 *
 * @module
 */
import { BrokerError } from "./broker_error.ts";
import type { BodyBudget } from "./body_budget.ts";

/** Options for {@linkcode BodyReader}. */
export interface BodyReaderOptions {
  /** Largest body read; a bigger one is answered 413. */
  maxBodyBytes: number;
  /** Longest pause between two chunks of a body; a longer one is answered 408. */
  idleTimeoutMs: number;
  /** Bytes of all bodies held at once; a body that does not fit is answered 503. */
  budget: BodyBudget;
  /** Aborts every read in progress (the broker is stopping), answered 503. */
  signal?: AbortSignal;
}

/** Reads JSON request bodies within the size cap, the idle timeout and the shared budget. */
export class BodyReader {
  readonly #options: BodyReaderOptions;
  readonly #held = new Map<Request, number>();

  /**
   * Creates a reader.
   *
   * @param options size cap, idle timeout, budget and stop signal
   * @example Refuse a body bigger than the cap
   * ```ts
   * import assert from "node:assert/strict";
   * import { BodyBudget } from "./body_budget.ts";
   * const reader = new BodyReader({ maxBodyBytes: 4, idleTimeoutMs: 1000, budget: new BodyBudget(8) });
   * const request = new Request("http://x/", { method: "POST", body: "[1,2,3]" });
   * await assert.rejects(reader.readJson(request), { status: 413 });
   * reader.release(request);
   * ```
   */
  constructor(options: BodyReaderOptions) {
    this.#options = options;
  }

  /** Bytes held by requests not yet answered. */
  get heldBytes(): number {
    return this.#options.budget.used;
  }

  /** The largest body read whole (for a streamed body: the largest record in it). */
  get maxBodyBytes(): number {
    return this.#options.maxBodyBytes;
  }

  /** The budget of bytes held by all requests at once. */
  get budget(): BodyBudget {
    return this.#options.budget;
  }

  /**
   * Reads the next chunk of a body that is consumed as a stream, within the idle timeout
   * and the stop signal (size and budget are the caller's to enforce, record by record).
   *
   * @param reader the body's reader
   * @returns the read result
   * @throws {BrokerError} 408 when the body pauses longer than the idle timeout, 503 when
   *   the broker is stopping
   */
  readStreamChunk(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    return this.#readChunk(reader);
  }

  /**
   * Reads and parses a JSON body; the bytes stay reserved until {@linkcode BodyReader.release}.
   *
   * @param request the request
   * @returns the parsed value, or undefined for an empty body
   * @throws {BrokerError} 400 malformed JSON, 408 idle body, 413 too large, 503 budget spent
   */
  async readJson(request: Request): Promise<unknown> {
    const text = await this.readText(request);
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new BrokerError(
        400,
        400,
        `Unexpected character in JSON body: ${error instanceof Error ? error.message : error}`,
      );
    }
  }

  /**
   * Reads a body as UTF-8 text within the limits (bytes stay reserved until released).
   *
   * @param request the request
   * @returns the text ("" without a body)
   * @throws {BrokerError} 408 idle body, 413 too large, 503 budget spent or stopping
   */
  async readText(request: Request): Promise<string> {
    const body = request.body;
    if (body === null) return "";
    const { maxBodyBytes } = this.#options;
    const declared = Number(request.headers.get("content-length") ?? "0") || 0;
    if (declared > maxBodyBytes) {
      await body.cancel().catch(() => {});
      throw tooLarge(maxBodyBytes);
    }
    const reader = body.getReader();
    try {
      this.#reserve(request, declared);
      const decoder = new TextDecoder();
      const parts: string[] = [];
      let total = 0;
      for (;;) {
        const { done, value } = await this.#readChunk(reader);
        if (done) break;
        total += value.length;
        if (total > maxBodyBytes) throw tooLarge(maxBodyBytes);
        this.#reserve(request, total);
        parts.push(decoder.decode(value, { stream: true }));
      }
      parts.push(decoder.decode());
      return parts.join("");
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      try {
        reader.releaseLock();
      } catch {
        // a read still pending after a timeout: the stream is cancelled anyway
      }
    }
  }

  /**
   * Gives back the bytes a request holds (call once it is answered).
   *
   * @param request the request
   */
  release(request: Request): void {
    const held = this.#held.get(request);
    if (held === undefined) return;
    this.#held.delete(request);
    this.#options.budget.release(held);
  }

  /** Raises the request's reservation to `bytes`, or throws 503 when it does not fit. */
  #reserve(request: Request, bytes: number): void {
    const held = this.#held.get(request) ?? 0;
    if (bytes <= held) return;
    const budget = this.#options.budget;
    if (!budget.tryReserve(bytes - held)) {
      throw new BrokerError(
        503,
        503,
        `Service Unavailable: request bodies held by the broker would pass ${budget.limit} ` +
          "bytes (BROKER_MAX_BUFFERED_BYTES); retry later",
        { refusal: "buffer_full", retryAfterS: 1 },
      );
    }
    this.#held.set(request, bytes);
  }

  #readChunk(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    const { idleTimeoutMs, signal } = this.#options;
    if (signal?.aborted) return Promise.reject(stopping());
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const timer = setTimeout(() => {
        settle();
        reject(
          new BrokerError(
            408,
            408,
            `Request Timeout: no bytes of the request body for ${idleTimeoutMs} ms ` +
              "(BROKER_BODY_IDLE_TIMEOUT_MS)",
            { refusal: "body_timeout" },
          ),
        );
      }, idleTimeoutMs);
      const onAbort = () => {
        settle();
        reject(stopping());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      reader.read().then(
        (result) => {
          settle();
          resolve(result);
        },
        (error) => {
          settle();
          reject(error);
        },
      );
    });
  }
}

function tooLarge(limit: number): BrokerError {
  return new BrokerError(
    413,
    413,
    `Request body too large: limit is ${limit} bytes (BROKER_MAX_BODY_BYTES)`,
    { refusal: "body_too_large" },
  );
}

function stopping(): BrokerError {
  return new BrokerError(503, 503, "Service Unavailable: the broker is stopping", {
    retryAfterS: 1,
  });
}
