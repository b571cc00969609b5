/**
 * {@linkcode SseParseStream}: a `TransformStream` from text to server-sent-event
 * messages, following the WHATWG event-stream interpretation rules: `event`,
 * `data`, `id` and `retry` fields; several `data` lines joined with `\n`; one
 * space after the colon stripped; comment lines and unknown fields ignored; CR,
 * LF and CRLF line ends (also split across chunks); a leading BOM skipped; an
 * event that is not terminated by a blank line before the end is discarded.
 *
 * Bytes become text with `TextDecoderStream` before this stage, which already
 * handles multi-byte characters split across chunks.
 *
 * @module
 */

/** One dispatched server-sent event. */
export interface SseMessage {
  /** The event type; `"message"` when the event had no `event` field. */
  event: string;
  /** The `data` lines joined with `\n`. */
  data: string;
  /** The last event ID in effect when the event was dispatched (`""` when none). */
  id: string;
  /** The reconnection time from the latest valid `retry` field, when one was seen. */
  retry?: number;
  /**
   * Set when the event's data exceeded a cap: `data` then holds only its first
   * {@linkcode TRUNCATED_PREFIX_LENGTH} characters and the rest was skipped.
   */
  truncated?: true;
}

/** How much of an oversized event's data is kept (for a dead-letter record). */
export const TRUNCATED_PREFIX_LENGTH = 65_536;

/** Options for {@linkcode SseParseStream}. */
export interface SseParseStreamOptions {
  /** Longest line in UTF-16 code units; the rest of a longer one is skipped and its event marked `truncated`. @default 4194304 */
  maxLineLength?: number;
  /** Largest event data in UTF-16 code units; beyond it the event is marked `truncated`. @default 8388608 */
  maxDataLength?: number;
}

const DIGITS_REGEXP = /^\d+$/;

/**
 * Parses `text/event-stream` text into {@linkcode SseMessage}s.
 *
 * @example Usage
 * ```ts
 * import { SseParseStream } from "./sse_parse_stream.ts";
 * const messages = await Array.fromAsync(
 *   ReadableStream.from(["data: a\n", "\n"]).pipeThrough(new SseParseStream()),
 * );
 * // [{ event: "message", data: "a", id: "" }]
 * ```
 */
export class SseParseStream extends TransformStream<string, SseMessage> {
  /** @param options line and data length caps */
  constructor(options: SseParseStreamOptions = {}) {
    const parser = new SseLineParser(options);
    super({
      transform: (chunk, controller) => parser.push(chunk, (m) => controller.enqueue(m)),
      flush: () => parser.end(),
    });
  }
}

/** The state machine behind {@linkcode SseParseStream}; usable without streams. */
export class SseLineParser {
  #pending = "";
  #skipLf = false;
  #started = false;
  #event = "";
  #data = "";
  #hasData = false;
  #lastId = "";
  #retry: number | undefined;
  #truncated = false;
  #discarding = false;
  #maxLine: number;
  #maxData: number;

  /** @param options line and data length caps */
  constructor(options: SseParseStreamOptions = {}) {
    this.#maxLine = options.maxLineLength ?? 4 * 1024 * 1024;
    this.#maxData = options.maxDataLength ?? 8 * 1024 * 1024;
  }

  /**
   * Feeds one chunk of text.
   *
   * @param chunk the text
   * @param emit receives every event completed by this chunk
   */
  push(chunk: string, emit: (message: SseMessage) => void): void {
    let text = chunk;
    if (!this.#started) {
      if (text.length === 0) return;
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#skipLf && text.length > 0) {
      this.#skipLf = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (this.#discarding) {
      // The rest of an oversized line: skip to its end without buffering it.
      const lf = text.indexOf("\n");
      const cr = text.indexOf("\r");
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) return;
      this.#discarding = false;
      let next = end + 1;
      if (text.charCodeAt(end) === 13) {
        if (next === text.length) this.#skipLf = true;
        else if (text.charCodeAt(next) === 10) next++;
      }
      text = text.slice(next);
    }
    if (this.#pending.length > 0) text = this.#pending + text;
    this.#pending = "";
    const length = text.length;
    let pos = 0;
    let nextLf = text.indexOf("\n");
    let nextCr = text.indexOf("\r");
    while (pos < length) {
      if (nextLf !== -1 && nextLf < pos) nextLf = text.indexOf("\n", pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf("\r", pos);
      let end: number;
      let next: number;
      if (nextCr === -1 || (nextLf !== -1 && nextLf < nextCr)) {
        if (nextLf === -1) break;
        end = nextLf;
        next = end + 1;
      } else {
        end = nextCr;
        next = end + 1;
        if (next === length) this.#skipLf = true;
        else if (text.charCodeAt(next) === 10) next++;
      }
      this.#line(text, pos, end, emit);
      pos = next;
    }
    if (pos < length) {
      if (length - pos > this.#maxLine) {
        // Keep a prefix of an oversized data line for the dead-letter record, skip the rest.
        if (text.startsWith("data", pos)) {
          this.#line(text, pos, pos + Math.min(length - pos, TRUNCATED_PREFIX_LENGTH + 6), emit);
          this.#truncate();
        }
        this.#discarding = true;
        return;
      }
      this.#pending = pos === 0 ? text : text.slice(pos);
    }
  }

  /** Ends the input: an unterminated event is discarded, as the standard requires. */
  end(): void {
    this.#pending = "";
    this.#discarding = false;
    this.#truncated = false;
    this.#data = "";
    this.#hasData = false;
    this.#event = "";
  }

  #line(text: string, start: number, end: number, emit: (message: SseMessage) => void): void {
    if (start === end) {
      this.#dispatch(emit);
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 58) return; // ':' comment
    // Fast path for the common fields: "data:", "id:", "event:".
    let colon = -1;
    const limit = Math.min(end, start + 8);
    for (let i = start; i < limit; i++) {
      if (text.charCodeAt(i) === 58) {
        colon = i;
        break;
      }
    }
    if (colon === -1) colon = text.indexOf(":", start);
    let field: string;
    let value: string;
    if (colon === -1 || colon >= end) {
      field = text.slice(start, end);
      value = "";
    } else {
      field = text.slice(start, colon);
      let v = colon + 1;
      if (v < end && text.charCodeAt(v) === 32) v++;
      value = text.slice(v, end);
    }
    switch (field) {
      case "data":
        if (this.#truncated) return;
        if (this.#hasData) {
          if (this.#data.length + value.length + 1 > this.#maxData) {
            this.#tooMuchData();
            return;
          }
          this.#data += "\n" + value;
        } else {
          if (value.length > this.#maxData) {
            this.#data = value.slice(0, TRUNCATED_PREFIX_LENGTH);
            this.#tooMuchData();
            return;
          }
          this.#data = value;
          this.#hasData = true;
        }
        return;
      case "event":
        this.#event = value;
        return;
      case "id":
        if (!value.includes("\0")) this.#lastId = value;
        return;
      case "retry":
        if (DIGITS_REGEXP.test(value)) this.#retry = Number(value);
        return;
      default:
        return;
    }
  }

  #tooMuchData(): void {
    this.#hasData = true;
    this.#truncate();
  }

  #truncate(): void {
    this.#truncated = true;
    if (this.#data.length > TRUNCATED_PREFIX_LENGTH) {
      this.#data = this.#data.slice(0, TRUNCATED_PREFIX_LENGTH);
    }
  }

  #dispatch(emit: (message: SseMessage) => void): void {
    if (!this.#hasData) {
      this.#event = "";
      return;
    }
    const message: SseMessage = {
      event: this.#event === "" ? "message" : this.#event,
      data: this.#data,
      id: this.#lastId,
    };
    if (this.#retry !== undefined) message.retry = this.#retry;
    if (this.#truncated) message.truncated = true;
    this.#truncated = false;
    this.#data = "";
    this.#hasData = false;
    this.#event = "";
    emit(message);
  }
}
