/**
 * {@linkcode SseParseStream}: a `TransformStream` from `text/event-stream` bytes to
 * server-sent-event messages, following the WHATWG event-stream interpretation
 * rules: `event`, `data`, `id` and `retry` fields; several `data` lines joined
 * with `\n`; one space after the colon stripped; comment lines and unknown fields
 * ignored; CR, LF and CRLF line ends (also split across chunks); a leading BOM
 * skipped; an event that is not terminated by a blank line before the end is
 * discarded.
 *
 * The parser works on bytes: a message's data stays UTF-8 ({@linkcode SseMessage.bytes},
 * a view of the received chunk when the event came in one piece) and is decoded
 * only when {@linkcode SseMessage.data} is read, so a producer that forwards the
 * bytes never decodes them. Line ends are ASCII, so a chunk split inside a
 * multi-byte character needs no special care.
 *
 * @module
 */

/** How much of an oversized event's data is kept (for a dead-letter record), in bytes. */
export const TRUNCATED_PREFIX_LENGTH = 65_536;

const UTF8 = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** What an {@linkcode SseParseStreamOptions.inspectData} hook returns. */
export interface DataInspection {
  /** The data it read: a view of the buffer from the start it was given to just before a CR or LF. */
  readonly bytes: Uint8Array;
}

/** One dispatched server-sent event. `T` is what the `inspectData` hook returns, if any. */
export class SseMessage<T extends DataInspection = DataInspection> {
  /** The event type; `"message"` when the event had no `event` field. */
  readonly event: string;
  /** The `data` lines joined with `\n`, as UTF-8 bytes (do not modify). */
  readonly bytes: Uint8Array;
  /** The reconnection time from the latest valid `retry` field, when one was seen. */
  readonly retry?: number;
  /**
   * Set when the event's data exceeded a cap: `bytes` then holds only its first
   * {@linkcode TRUNCATED_PREFIX_LENGTH} bytes and the rest was skipped.
   */
  readonly truncated?: true;
  /** The `inspectData` hook's result for the event's single data line, when it accepted it. */
  readonly inspection: T | undefined;
  #idBytes: Uint8Array;
  #id: string | undefined;
  #data: string | undefined;

  /**
   * Creates a `SseMessage`.
   *
   * @param event the event type
   * @param bytes the data as UTF-8
   * @param id the last event id in effect, as text or as UTF-8 (decoded on demand)
   * @param inspection the `inspectData` hook's result for the data
   * @param extra `retry` and `truncated`, when set
   */
  constructor(
    event: string,
    bytes: Uint8Array,
    id: string | Uint8Array = EMPTY,
    inspection?: T,
    extra?: { retry?: number; truncated?: true },
  ) {
    this.event = event;
    this.bytes = bytes;
    this.inspection = inspection;
    if (typeof id === "string") {
      this.#idBytes = new TextEncoder().encode(id);
      this.#id = id;
    } else this.#idBytes = id;
    if (extra?.retry !== undefined) this.retry = extra.retry;
    if (extra?.truncated) this.truncated = true;
  }

  /** The last event ID in effect when the event was dispatched (`""` when none). */
  get id(): string {
    return this.#id ??= UTF8.decode(this.#idBytes);
  }

  /** Whether an event ID was in effect (cheaper than `id !== ""`). */
  get hasId(): boolean {
    return this.#idBytes.length > 0;
  }

  /** The data as text (invalid UTF-8 becomes U+FFFD), decoded on first read. */
  get data(): string {
    return this.#data ??= UTF8.decode(this.bytes);
  }
}

/** Options for {@linkcode SseParseStream}. */
export interface SseParseStreamOptions<T extends DataInspection = DataInspection> {
  /**
   * Reads a `data` line in place, inside the received chunk: given the chunk and where
   * the field's value starts, it returns its reading of the value, whose `bytes` must be
   * a view of the chunk from that start up to a CR or LF; or `undefined` to let the
   * parser find the line end itself. A caller that must look at every byte anyway
   * (a validating JSON scan) saves the parser's own pass over the line.
   */
  inspectData?: (chunk: Uint8Array, start: number) => T | undefined;
  /** Longest line in bytes; the rest of a longer one is skipped and its event marked `truncated`. @default 4194304 */
  maxLineLength?: number;
  /** Largest event data in bytes; beyond it the event is marked `truncated`. @default 8388608 */
  maxDataLength?: number;
}

/**
 * Parses `text/event-stream` bytes (or text, encoded as UTF-8) into {@linkcode SseMessage}s.
 *
 * @example Usage
 * ```ts
 * import { SseParseStream } from "./sse_parse_stream.ts";
 * const messages = await Array.fromAsync(
 *   ReadableStream.from(["data: a\n", "\n"]).pipeThrough(new SseParseStream()),
 * );
 * // messages[0].data === "a"
 * ```
 */
export class SseParseStream<T extends DataInspection = DataInspection>
  extends TransformStream<Uint8Array | string, SseMessage<T>> {
  /**
   * Creates a `SseParseStream`.
   *
   * @param options line and data length caps, and a data hook
   */
  constructor(options: SseParseStreamOptions<T> = {}) {
    const parser = new SseEventParser<T>(options);
    const encoder = new TextEncoder();
    super({
      transform: (chunk, controller) =>
        parser.push(
          typeof chunk === "string" ? encoder.encode(chunk) : chunk,
          (m) => controller.enqueue(m),
        ),
      flush: () => parser.end(),
    });
  }
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

function isWord(b: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let j = 0; j < word.length; j++) if (b[start + j] !== word.charCodeAt(j)) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The byte-level state machine behind {@linkcode SseParseStream}; usable without streams. */
export class SseEventParser<T extends DataInspection = DataInspection> {
  #pending: Uint8Array = EMPTY;
  #skipLf = false;
  #started = false;
  #event = "";
  #data: Uint8Array[] = [];
  #dataLength = 0;
  #lastId: Uint8Array = EMPTY;
  #retry: number | undefined;
  #truncated = false;
  #discarding = false;
  #inspection: T | undefined;
  #maxLine: number;
  #maxData: number;
  #inspect: ((chunk: Uint8Array, start: number) => T | undefined) | undefined;

  /**
   * Creates a `SseEventParser`.
   *
   * @param options line and data length caps, and a data hook
   */
  constructor(options: SseParseStreamOptions<T> = {}) {
    this.#maxLine = options.maxLineLength ?? 4 * 1024 * 1024;
    this.#maxData = options.maxDataLength ?? 8 * 1024 * 1024;
    this.#inspect = options.inspectData;
  }

  /**
   * Feeds one chunk of bytes. Messages may keep views of the chunk: do not reuse it.
   *
   * @param chunk the bytes
   * @param emit receives every event completed by this chunk
   */
  push(chunk: Uint8Array, emit: (message: SseMessage<T>) => void): void {
    let buf = chunk;
    let pos = 0;
    if (buf.length === 0) return;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (buf[0] === LF) pos = 1;
    }
    if (this.#discarding) {
      // The rest of an oversized line: skip to its end without buffering it.
      const end = lineEnd(buf, pos);
      if (end === -1) return;
      this.#discarding = false;
      pos = this.#afterLineEnd(buf, end);
    }
    if (this.#pending.length > 0) {
      // Complete the line that started in an earlier chunk; copy only that line.
      const end = lineEnd(buf, pos);
      if (end === -1 || this.#pending.length + end - pos > this.#maxLine) {
        buf = concat(this.#pending, pos === 0 ? buf : buf.subarray(pos));
        pos = 0;
        this.#pending = EMPTY;
      } else {
        const line = concat(this.#pending, buf.subarray(pos, end));
        this.#pending = EMPTY;
        this.#line(line, 0, line.length, emit);
        pos = this.#afterLineEnd(buf, end);
      }
    }
    const length = buf.length;
    const inspect = this.#inspect;
    while (pos < length) {
      if (
        inspect !== undefined && buf[pos] === 0x64 && buf[pos + 4] === COLON &&
        this.#data.length === 0 && this.#started && isWord(buf, pos, pos + 4, "data")
      ) {
        // A data line read in place by the hook: no separate search for its end.
        const v = buf[pos + 5] === SPACE ? pos + 6 : pos + 5;
        const found = inspect(buf, v);
        const bytes = found?.bytes;
        if (
          found !== undefined && bytes!.buffer === buf.buffer &&
          bytes!.byteOffset === buf.byteOffset + v && bytes!.length <= this.#maxData &&
          v + bytes!.length - pos <= this.#maxLine
        ) {
          const end = v + bytes!.length;
          const t = buf[end];
          if (t === LF || t === CR) {
            this.#data.push(bytes!);
            this.#dataLength = bytes!.length;
            this.#inspection = found;
            pos = this.#afterLineEnd(buf, end);
            continue;
          }
        }
      }
      const end = lineEnd(buf, pos);
      if (end === -1) break; // an incomplete line
      const next = this.#afterLineEnd(buf, end);
      this.#line(buf, pos, end, emit);
      pos = next;
    }
    if (pos < length) {
      if (length - pos > this.#maxLine) {
        // Keep a prefix of an oversized data line for the dead-letter record, skip the rest.
        if (isWord(buf, pos, pos + 4, "data")) {
          this.#line(buf, pos, pos + Math.min(length - pos, TRUNCATED_PREFIX_LENGTH + 6), emit);
          this.#truncate();
        }
        this.#discarding = true;
        return;
      }
      this.#pending = buf.subarray(pos);
    }
  }

  /**
   * The position after the line end at `end`: a CRLF counts as one end, also when the
   * LF comes in the next chunk.
   */
  #afterLineEnd(buf: Uint8Array, end: number): number {
    const next = end + 1;
    if (buf[end] !== CR) return next;
    if (next === buf.length) {
      this.#skipLf = true;
      return next;
    }
    return buf[next] === LF ? next + 1 : next;
  }

  /** Ends the input: an unterminated event is discarded, as the standard requires. */
  end(): void {
    this.#pending = EMPTY;
    this.#inspection = undefined;
    this.#discarding = false;
    this.#truncated = false;
    this.#data = [];
    this.#dataLength = 0;
    this.#event = "";
  }

  #line(
    b: Uint8Array,
    lineStart: number,
    end: number,
    emit: (message: SseMessage<T>) => void,
  ): void {
    let start = lineStart;
    if (!this.#started) {
      this.#started = true;
      if (b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf) start += 3;
    }
    if (start === end) {
      this.#dispatch(emit);
      return;
    }
    if (b[start] === COLON) return; // comment
    let colon = -1;
    const limit = Math.min(end, start + 8);
    for (let i = start; i < limit; i++) {
      if (b[i] === COLON) {
        colon = i;
        break;
      }
    }
    if (colon === -1 && limit < end) {
      colon = b.indexOf(COLON, limit);
      if (colon >= end) colon = -1;
    }
    let fieldEnd = end;
    let v = end;
    if (colon !== -1) {
      fieldEnd = colon;
      v = colon + 1;
      if (v < end && b[v] === SPACE) v++;
    }
    switch (fieldEnd - start) {
      case 4:
        if (isWord(b, start, fieldEnd, "data")) this.#addData(b.subarray(v, end));
        return;
      case 5:
        if (isWord(b, start, fieldEnd, "event")) {
          this.#event = isWord(b, v, end, "message") ? "message" : UTF8.decode(b.subarray(v, end));
        } else if (isWord(b, start, fieldEnd, "retry")) {
          let ms = 0;
          for (let i = v; i < end; i++) {
            const d = b[i]! - 0x30;
            if (d < 0 || d > 9) return;
            ms = ms * 10 + d;
          }
          if (v < end) this.#retry = ms;
        }
        return;
      case 2:
        if (isWord(b, start, fieldEnd, "id")) {
          const value = b.subarray(v, end);
          if (value.indexOf(0) === -1) this.#lastId = value;
        }
        return;
      default:
        return;
    }
  }

  #addData(value: Uint8Array): void {
    if (this.#truncated) return;
    if (this.#data.length > 0) {
      this.#inspection = undefined; // it read only the first line
      if (this.#dataLength + value.length + 1 > this.#maxData) {
        this.#truncate();
        return;
      }
      this.#data.push(value);
      this.#dataLength += value.length + 1;
    } else {
      if (value.length > this.#maxData) {
        this.#data.push(value.subarray(0, TRUNCATED_PREFIX_LENGTH));
        this.#truncate();
        return;
      }
      this.#data.push(value);
      this.#dataLength = value.length;
    }
  }

  #truncate(): void {
    if (this.#data.length === 0) this.#data.push(EMPTY);
    this.#truncated = true;
  }

  #dispatch(emit: (message: SseMessage<T>) => void): void {
    const parts = this.#data;
    if (parts.length === 0) {
      this.#event = "";
      return;
    }
    let bytes: Uint8Array;
    if (parts.length === 1) bytes = parts[0]!;
    else {
      // Join the data lines with "\n".
      const length = this.#truncated
        ? parts.reduce((n, p) => n + p.length + 1, -1)
        : this.#dataLength;
      bytes = new Uint8Array(length);
      let at = 0;
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) bytes[at++] = LF;
        bytes.set(parts[i]!, at);
        at += parts[i]!.length;
      }
    }
    if (this.#truncated && bytes.length > TRUNCATED_PREFIX_LENGTH) {
      bytes = bytes.subarray(0, TRUNCATED_PREFIX_LENGTH);
    }
    let extra: { retry?: number; truncated?: true } | undefined;
    if (this.#retry !== undefined || this.#truncated) {
      extra = {};
      if (this.#retry !== undefined) extra.retry = this.#retry;
      if (this.#truncated) extra.truncated = true;
    }
    const message = new SseMessage<T>(
      this.#event === "" ? "message" : this.#event,
      bytes,
      this.#lastId,
      this.#truncated ? undefined : this.#inspection,
      extra,
    );
    this.#inspection = undefined;
    this.#truncated = false;
    this.#data = [];
    this.#dataLength = 0;
    this.#event = "";
    emit(message);
  }
}

/** The index of the first CR or LF at or after `from`, or -1 (one native pass for LF). */
function lineEnd(b: Uint8Array, from: number): number {
  const lf = b.indexOf(LF, from);
  const limit = lf === -1 ? b.length : lf;
  for (let i = from; i < limit; i++) if (b[i] === CR) return i;
  return lf;
}
