/**
 * {@linkcode JsonObjectSplitter}: cuts a byte stream of concatenated JSON objects (the body
 * of a REST Proxy v3 streaming produce, and the stream of delivery reports that answers it,
 * contract §3.2) into one byte slice per object, without parsing them. It tracks only strings,
 * escapes and bracket depth, on UTF-8 bytes (the bytes it looks at are ASCII and never occur
 * inside a multi-byte character), so objects may be split across chunks anywhere.
 *
 * Whitespace (spaces, tabs, `\r`, `\n`) between objects is skipped; any other byte outside an
 * object is an error, and so is an object longer than the cap: both set
 * {@linkcode JsonObjectSplitter.error} (the objects completed before it are still returned),
 * after which the splitter finds no further object (a streaming JSON reader cannot
 * resynchronise either). Memory is bounded by the cap: only the bytes of the object in
 * progress are kept.
 *
 * @module
 */
import { concatBytes } from "../cli/concat_bytes.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Why a stream of concatenated objects cannot be split further. */
export type JsonStreamProblem = "not_object" | "too_large" | "truncated";

/** The stream is not a sequence of JSON objects within the cap; no object follows. */
export class JsonStreamError extends SyntaxError {
  /** What is wrong. */
  readonly problem: JsonStreamProblem;

  /**
   * Creates a `JsonStreamError`.
   *
   * @param problem what is wrong
   * @param message the detail
   */
  constructor(problem: JsonStreamProblem, message: string) {
    super(message);
    this.name = "JsonStreamError";
    this.problem = problem;
  }
}

/** Splits concatenated JSON objects, chunk by chunk. */
export class JsonObjectSplitter {
  readonly #maxObjectBytes: number;
  #parts: Uint8Array[] = [];
  #length = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #error: JsonStreamError | undefined;

  /**
   * Creates a splitter.
   *
   * @param maxObjectBytes the longest object accepted, in bytes
   * @example Two objects cut in the middle of a string
   * ```ts
   * import assert from "node:assert/strict";
   * const splitter = new JsonObjectSplitter(1024);
   * const utf8 = new TextEncoder();
   * assert.equal(splitter.push(utf8.encode('{"a":"x}')).length, 0);
   * const objects = splitter.push(utf8.encode('"}\r\n{"b":2}'));
   * assert.deepEqual(objects.map((o) => new TextDecoder().decode(o)), ['{"a":"x}"}', '{"b":2}']);
   * assert.equal(splitter.end(), undefined);
   * ```
   */
  constructor(maxObjectBytes: number) {
    this.#maxObjectBytes = maxObjectBytes;
  }

  /** Bytes of the object in progress (held until it is complete). */
  get pendingBytes(): number {
    return this.#length;
  }

  /** Why the stream cannot be split further, once it cannot. */
  get error(): JsonStreamError | undefined {
    return this.#error;
  }

  /**
   * Takes the next chunk.
   *
   * @param chunk bytes of the stream
   * @returns the objects completed by this chunk, in order (copies or views of the chunk);
   *   when the chunk holds a byte outside an object that is not whitespace, or an object
   *   longer than the cap, the objects before it and {@linkcode JsonObjectSplitter.error} set
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#error) return out;
    let start = this.#depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== OPEN_OBJECT) {
          this.#fail(
            "not_object",
            `Cannot read the stream: expected a JSON object, found ${
              JSON.stringify(String.fromCharCode(c))
            }`,
          );
          return out;
        }
        start = i;
        this.#depth = 1;
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === BACKSLASH) this.#escaped = true;
        else if (c === QUOTE) this.#inString = false;
        continue;
      }
      if (c === QUOTE) this.#inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) this.#depth++;
      else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --this.#depth === 0) {
        const tail = chunk.subarray(start, i + 1);
        if (!this.#fits(this.#length + tail.length)) return out;
        out.push(this.#length === 0 ? tail : concatBytes([...this.#parts, tail]));
        this.#parts = [];
        this.#length = 0;
        start = -1;
      }
    }
    if (start >= 0) {
      const rest = chunk.subarray(start);
      if (!this.#fits(this.#length + rest.length)) return out;
      this.#parts.push(rest);
      this.#length += rest.length;
    }
    return out;
  }

  /**
   * Ends the stream; sets {@linkcode JsonObjectSplitter.error} when it ends inside an object.
   *
   * @returns the error of the stream, if any
   */
  end(): JsonStreamError | undefined {
    if (this.#depth > 0 && !this.#error) {
      this.#fail(
        "truncated",
        `Cannot read the stream: it ends inside a JSON object after ${this.#length} bytes`,
      );
    }
    return this.#error;
  }

  #fits(bytes: number): boolean {
    if (bytes <= this.#maxObjectBytes) return true;
    this.#fail(
      "too_large",
      `Cannot read the stream: a JSON object is longer than ${this.#maxObjectBytes} bytes`,
    );
    return false;
  }

  #fail(problem: JsonStreamProblem, message: string): void {
    this.#error = new JsonStreamError(problem, message);
    this.#parts = [];
    this.#length = 0;
  }
}
