/**
 * {@linkcode scanRecentChange}: the producer's fast look at an event. One pass
 * over the event's UTF-8 bytes validates the whole text strictly (the JSON
 * grammar `JSON.parse` accepts, and well-formed UTF-8) and notes where the few
 * fields the producer needs are (`meta.id`, `meta.dt`, `meta.domain`,
 * `server_name`, `title`, `wiki`, `type`, `bot`), without building objects or
 * decoding the text.
 *
 * It answers only the common case — a valid event that is not a canary and whose
 * field names carry no escapes; for anything else it returns `undefined` and the
 * caller takes the decode + `JSON.parse` path (`inspectRecentChange`), so the two
 * paths never disagree. `tests/recentchange/recentchange_scan_test.ts` checks that on every
 * recorded event and on mutated ones.
 *
 * @module
 */
import type { RecentChangeFacts } from "./recentchange_event.ts";

// Byte classes inside a JSON string.
const PLAIN = 0;
const QUOTE = 1;
const BACKSLASH = 2;
const INVALID = 3; // control characters, stray continuation bytes, C0, C1, F5..FF
const LEAD2 = 4; // C2..DF
const LEAD_E0 = 5;
const LEAD3 = 6; // E1..EC, EE, EF
const LEAD_ED = 7;
const LEAD_F0 = 8;
const LEAD4 = 9; // F1..F3
const LEAD_F4 = 10;

const STRING_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) t[c] = INVALID;
  t[0x22] = QUOTE;
  t[0x5c] = BACKSLASH;
  for (let c = 0x80; c < 0xc2; c++) t[c] = INVALID;
  for (let c = 0xc2; c <= 0xdf; c++) t[c] = LEAD2;
  t[0xe0] = LEAD_E0;
  for (let c = 0xe1; c <= 0xef; c++) t[c] = LEAD3;
  t[0xed] = LEAD_ED;
  t[0xf0] = LEAD_F0;
  t[0xf1] = LEAD4;
  t[0xf2] = LEAD4;
  t[0xf3] = LEAD4;
  t[0xf4] = LEAD_F4;
  for (let c = 0xf5; c <= 0xff; c++) t[c] = INVALID;
  return t;
})();

// Characters allowed after a backslash (besides `u`).
const SIMPLE_ESCAPE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of '"\\/bfnrt') t[c.charCodeAt(0)] = 1;
  return t;
})();

const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "0123456789abcdefABCDEF") t[c.charCodeAt(0)] = 1;
  return t;
})();

/**
 * Scans a JSON string body starting after its opening quote.
 *
 * @returns `end * 2 + escaped` where `end` is the index of the closing quote, or -1 when invalid
 */
function scanString(b: Uint8Array, start: number): number {
  const n = b.length;
  let i = start;
  let escaped = 0;
  while (i < n) {
    const k = STRING_CLASS[b[i]!]!;
    if (k === PLAIN) {
      i++;
      continue;
    }
    if (k === QUOTE) return i * 2 + escaped;
    if (k === BACKSLASH) {
      escaped = 1;
      const e = b[i + 1];
      if (e === undefined) return -1;
      if (e === 0x75) {
        if (
          i + 5 >= n || !HEX[b[i + 2]!] || !HEX[b[i + 3]!] || !HEX[b[i + 4]!] || !HEX[b[i + 5]!]
        ) return -1;
        i += 6;
      } else if (SIMPLE_ESCAPE[e]) i += 2;
      else return -1;
      continue;
    }
    if (k === INVALID) return -1;
    // Multi-byte UTF-8 sequence: check the continuation bytes (no overlongs, no surrogates).
    const c1 = b[i + 1] ?? 0;
    if (k === LEAD2) {
      if ((c1 & 0xc0) !== 0x80) return -1;
      i += 2;
      continue;
    }
    const c2 = b[i + 2] ?? 0;
    if (k <= LEAD_ED) {
      const lo = k === LEAD_E0 ? 0xa0 : 0x80;
      const hi = k === LEAD_ED ? 0x9f : 0xbf;
      if (c1 < lo || c1 > hi || (c2 & 0xc0) !== 0x80) return -1;
      i += 3;
      continue;
    }
    const c3 = b[i + 3] ?? 0;
    const lo = k === LEAD_F0 ? 0x90 : 0x80;
    const hi = k === LEAD_F4 ? 0x8f : 0xbf;
    if (c1 < lo || c1 > hi || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return -1;
    i += 4;
  }
  return -1;
}

/** @returns the index after a JSON number starting at `i`, or -1 */
function scanNumber(b: Uint8Array, start: number): number {
  let i = start;
  if (b[i] === 0x2d) i++;
  let c = b[i];
  if (c === 0x30) i++;
  else if (c !== undefined && c >= 0x31 && c <= 0x39) {
    i++;
    while ((c = b[i]) !== undefined && c >= 0x30 && c <= 0x39) i++;
  } else return -1;
  if (b[i] === 0x2e) {
    i++;
    c = b[i];
    if (c === undefined || c < 0x30 || c > 0x39) return -1;
    while ((c = b[i]) !== undefined && c >= 0x30 && c <= 0x39) i++;
  }
  c = b[i];
  if (c === 0x65 || c === 0x45) {
    i++;
    c = b[i];
    if (c === 0x2b || c === 0x2d) i++;
    c = b[i];
    if (c === undefined || c < 0x30 || c > 0x39) return -1;
    while ((c = b[i]) !== undefined && c >= 0x30 && c <= 0x39) i++;
  }
  return i;
}

/**
 * Skips spaces and tabs. CR and LF, JSON whitespace too, are not skipped: they end
 * a line of an event stream, and rejecting them lets a scan run over a whole
 * received chunk (`scanLine`). Multi-line data therefore takes the slow path.
 */
function skipWhitespace(b: Uint8Array, start: number): number {
  let i = start;
  let c = b[i];
  while (c === 0x20 || c === 0x09) c = b[++i];
  return i;
}

function matches(b: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let j = 0; j < word.length; j++) if (b[start + j] !== word[j]) return false;
  return true;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const W_TRUE = ascii("true");
const W_FALSE = ascii("false");
const W_NULL = ascii("null");
const K_META = ascii("meta");
const K_SERVER_NAME = ascii("server_name");
const K_TITLE = ascii("title");
const K_WIKI = ascii("wiki");
const K_TYPE = ascii("type");
const K_BOT = ascii("bot");
const K_ID = ascii("id");
const K_DT = ascii("dt");
const K_DOMAIN = ascii("domain");
const CANARY = ascii("canary");

// Tracked fields: slots in the range table.
const F_NONE = -1;
const F_META = 0;
const F_SERVER_NAME = 1;
const F_TITLE = 2;
const F_WIKI = 3;
const F_TYPE = 4;
const F_BOT = 5;
const F_ID = 6;
const F_DT = 7;
const F_DOMAIN = 8;
const FIELDS = 9;

// Kinds of a tracked field's value.
const ABSENT = 0;
const STRING = 1;
const ESCAPED_STRING = 2;
const OBJECT = 3;
const TRUE = 4;
const FALSE = 5;
const OTHER = 6;

const MAX_DEPTH = 30;
const MAX_LENGTH = 1 << 29; // string ends are returned as `end * 2 + escaped` in an int

function topLevelField(b: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 3:
      return matches(b, start, end, K_BOT) ? F_BOT : F_NONE;
    case 4:
      if (matches(b, start, end, K_META)) return F_META;
      if (matches(b, start, end, K_WIKI)) return F_WIKI;
      return matches(b, start, end, K_TYPE) ? F_TYPE : F_NONE;
    case 5:
      return matches(b, start, end, K_TITLE) ? F_TITLE : F_NONE;
    case 11:
      return matches(b, start, end, K_SERVER_NAME) ? F_SERVER_NAME : F_NONE;
    default:
      return F_NONE;
  }
}

function metaField(b: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 2:
      if (matches(b, start, end, K_ID)) return F_ID;
      return matches(b, start, end, K_DT) ? F_DT : F_NONE;
    case 6:
      return matches(b, start, end, K_DOMAIN) ? F_DOMAIN : F_NONE;
    default:
      return F_NONE;
  }
}

const UTF8 = new TextDecoder();

function digits(b: Uint8Array, at: number, count: number): number {
  let v = 0;
  for (let j = at; j < at + count; j++) {
    const d = b[j]! - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Epoch ms of `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` (year 1970 or later,
 * day up to 28), the forms EventStreams sends; `NaN` for anything else, which the caller
 * hands to `Date.parse` so the result never differs from it.
 */
function isoUtcMillis(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (length !== 20 && length !== 24) return NaN;
  if (
    b[start + 4] !== 0x2d || b[start + 7] !== 0x2d || b[start + 10] !== 0x54 ||
    b[start + 13] !== 0x3a || b[start + 16] !== 0x3a || b[end - 1] !== 0x5a
  ) return NaN;
  let ms = 0;
  if (length === 24) {
    if (b[start + 19] !== 0x2e) return NaN;
    ms = digits(b, start + 20, 3);
  }
  const year = digits(b, start, 4);
  const month = digits(b, start + 5, 2);
  const day = digits(b, start + 8, 2);
  const hour = digits(b, start + 11, 2);
  const minute = digits(b, start + 14, 2);
  const second = digits(b, start + 17, 2);
  if (
    !(year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 28 && hour <= 23 &&
      minute <= 59 && second <= 59 && ms >= 0)
  ) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** Decodes a string field (contents without the quotes). */
function decodeField(b: Uint8Array, start: number, end: number, escaped: boolean): string {
  if (!escaped) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && end - start <= 64) {
      return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
    }
    return UTF8.decode(b.subarray(start, end));
  }
  return JSON.parse(UTF8.decode(b.subarray(start - 1, end + 1))) as string;
}

/**
 * The facts of a scanned event; string fields are decoded only when read.
 * {@linkcode ScannedRecentChange.raw} gives the bytes of unescaped string fields.
 */
export class ScannedRecentChange implements RecentChangeFacts {
  /** Always `"event"`. */
  readonly kind = "event" as const;
  /** The event's JSON bytes. */
  readonly bytes: Uint8Array;
  /** `meta.id`. */
  readonly metaId: string;
  /** `meta.dt` in epoch milliseconds. */
  readonly eventTimeMs: number;
  /** `bot`, when a boolean. */
  readonly bot: boolean | undefined;
  #kinds: number; // 4 bits per string field (slot): wiki 0, type 1, title 2, server 3, meta.id 4
  // Start and end of each slot's string contents in `bytes` (plain fields: no array per event).
  #s0: number;
  #e0: number;
  #s1: number;
  #e1: number;
  #s2: number;
  #e2: number;
  #s3: number;
  #e3: number;
  #s4: number;
  #e4: number;

  /**
   * Creates a `ScannedRecentChange`.
   *
   * @param bytes the event's bytes
   * @param offset where `bytes` starts in the buffer the ranges refer to
   * @param kinds value kind per tracked field (copied)
   * @param ranges start and end per tracked field (copied)
   * @param metaId `meta.id`
   * @param eventTimeMs `meta.dt` in epoch ms
   */
  constructor(
    bytes: Uint8Array,
    offset: number,
    kinds: Uint8Array,
    ranges: Int32Array,
    metaId: string,
    eventTimeMs: number,
  ) {
    this.bytes = bytes;
    this.metaId = metaId;
    this.eventTimeMs = eventTimeMs;
    const bot = kinds[F_BOT];
    this.bot = bot === TRUE ? true : bot === FALSE ? false : undefined;
    const server = kinds[F_SERVER_NAME] === STRING || kinds[F_SERVER_NAME] === ESCAPED_STRING
      ? F_SERVER_NAME
      : F_DOMAIN;
    this.#kinds = kinds[F_WIKI]! | kinds[F_TYPE]! << 4 | kinds[F_TITLE]! << 8 |
      kinds[server]! << 12 | kinds[F_ID]! << 16;
    this.#s0 = ranges[2 * F_WIKI]! - offset;
    this.#e0 = ranges[2 * F_WIKI + 1]! - offset;
    this.#s1 = ranges[2 * F_TYPE]! - offset;
    this.#e1 = ranges[2 * F_TYPE + 1]! - offset;
    this.#s2 = ranges[2 * F_TITLE]! - offset;
    this.#e2 = ranges[2 * F_TITLE + 1]! - offset;
    this.#s3 = ranges[2 * server]! - offset;
    this.#e3 = ranges[2 * server + 1]! - offset;
    this.#s4 = ranges[2 * F_ID]! - offset;
    this.#e4 = ranges[2 * F_ID + 1]! - offset;
  }

  #start(slot: number): number {
    return slot === 0
      ? this.#s0
      : slot === 1
      ? this.#s1
      : slot === 2
      ? this.#s2
      : slot === 3
      ? this.#s3
      : this.#s4;
  }

  #end(slot: number): number {
    return slot === 0
      ? this.#e0
      : slot === 1
      ? this.#e1
      : slot === 2
      ? this.#e2
      : slot === 3
      ? this.#e3
      : this.#e4;
  }

  #string(slot: number): string | undefined {
    const kind = (this.#kinds >> (4 * slot)) & 15;
    if (kind !== STRING && kind !== ESCAPED_STRING) return undefined;
    return decodeField(this.bytes, this.#start(slot), this.#end(slot), kind === ESCAPED_STRING);
  }

  /** `wiki`, when a string. */
  get wiki(): string | undefined {
    return this.#string(0);
  }

  /** `type`, when a string. */
  get type(): string | undefined {
    return this.#string(1);
  }

  /** `title`, when a string. */
  get title(): string | undefined {
    return this.#string(2);
  }

  /** `server_name`, else `meta.domain`, when a string. */
  get serverName(): string | undefined {
    return this.#string(3);
  }

  /**
   * The raw (still JSON-escaped) contents of a string field, as a view of {@linkcode bytes}.
   *
   * @param name the field
   * @returns the view, `undefined` when absent or not a string, or `null` when it holds escapes
   */
  raw(name: "wiki" | "title" | "serverName" | "metaId"): Uint8Array | undefined | null {
    const slot = name === "wiki" ? 0 : name === "title" ? 2 : name === "metaId" ? 4 : 3;
    const kind = (this.#kinds >> (4 * slot)) & 15;
    if (kind === ESCAPED_STRING) return null;
    if (kind !== STRING) return undefined;
    return this.bytes.subarray(this.#start(slot), this.#end(slot));
  }
}

/**
 * Validates an event's bytes and extracts the producer's fields in one pass.
 *
 * @param b the event's `data` as UTF-8 bytes
 * @returns the facts of a valid, non-canary event with `meta.id` and a parsable
 *   `meta.dt`; `undefined` for anything else (invalid JSON or UTF-8, not an object,
 *   canary, missing fields, escaped field names, nesting deeper than 30)
 */
export function scanRecentChange(b: Uint8Array): ScannedRecentChange | undefined {
  return new RecentChangeScanner().scan(b);
}

/**
 * {@linkcode scanRecentChange} with reusable scratch space and a cache of the
 * last `meta.dt` (consecutive events often share their second), for a hot loop.
 */
export class RecentChangeScanner {
  #kinds = new Uint8Array(FIELDS);
  #ranges = new Int32Array(2 * FIELDS);

  /**
   * Validates an event's bytes and extracts the producer's fields in one pass.
   *
   * @param b the event's `data` as UTF-8 bytes
   * @returns the facts, or `undefined` (see {@linkcode scanRecentChange})
   */
  scan(b: Uint8Array): ScannedRecentChange | undefined {
    const kinds = this.#kinds;
    kinds.fill(ABSENT);
    const end = scanFields(b, 0, kinds, this.#ranges);
    if (end !== b.length) return undefined;
    return this.#finish(b, 0, end);
  }

  /**
   * Scans an event that starts at `start` inside a larger buffer (a received chunk)
   * and ends with its line: the JSON value, optional spaces or tabs, then CR or LF.
   *
   * @param b the buffer
   * @param start where the event's JSON starts
   * @returns the facts, whose `bytes` is the event up to (not including) the line end;
   *   `undefined` as for {@linkcode scan}, or when no line end follows the value
   */
  scanLine(b: Uint8Array, start: number): ScannedRecentChange | undefined {
    const kinds = this.#kinds;
    kinds.fill(ABSENT);
    const end = scanFields(b, start, kinds, this.#ranges);
    if (end < 0 || (b[end] !== 0x0a && b[end] !== 0x0d)) return undefined;
    return this.#finish(b, start, end);
  }

  #finish(whole: Uint8Array, start: number, end: number): ScannedRecentChange | undefined {
    const b = whole;
    const kinds = this.#kinds;
    const ranges = this.#ranges;
    if (kinds[F_META] !== OBJECT) return undefined;
    const domain = kinds[F_DOMAIN];
    if (domain === ESCAPED_STRING) return undefined;
    if (
      domain === STRING && matches(b, ranges[2 * F_DOMAIN]!, ranges[2 * F_DOMAIN + 1]!, CANARY)
    ) return undefined;
    if (kinds[F_ID] !== STRING || kinds[F_DT] !== STRING) return undefined;
    const idStart = ranges[2 * F_ID]!;
    const idEnd = ranges[2 * F_ID + 1]!;
    if (idStart === idEnd) return undefined;
    const metaId = decodeField(b, idStart, idEnd, false);
    const eventTimeMs = this.#dtMs(b, ranges[2 * F_DT]!, ranges[2 * F_DT + 1]!);
    if (!Number.isFinite(eventTimeMs)) return undefined;
    return new ScannedRecentChange(
      start === 0 && end === b.length ? b : b.subarray(start, end),
      start,
      kinds,
      ranges,
      metaId,
      eventTimeMs,
    );
  }

  #dtMs(b: Uint8Array, start: number, end: number): number {
    const ms = isoUtcMillis(b, start, end);
    return ms === ms ? ms : Date.parse(decodeField(b, start, end, false));
  }
}

/**
 * The single pass: validates `b` and fills `kinds` and `ranges` for the tracked fields.
 * Written for speed: the common bytes (plain string characters) cost one table lookup.
 *
 * @returns the index after the value and any spaces or tabs, or -1 when not accepted
 */
function scanFields(b: Uint8Array, from: number, kinds: Uint8Array, ranges: Int32Array): number {
  const n = b.length;
  if (n > MAX_LENGTH) return -1;
  const T = STRING_CLASS;
  let i = skipWhitespace(b, from);
  if (b[i] !== 0x7b) return -1;
  // Bit d of `arrays` is set when the container at depth d is an array.
  let arrays = 0;
  let depth = 0;
  let metaDepth = -1; // depth of the top-level `meta` object while inside it
  let field = F_NONE;
  // States: expecting a value, or a key (object start or after a comma).
  let expectKey = false;
  for (;;) {
    if (expectKey) {
      if (b[i]! <= 0x20) i = skipWhitespace(b, i);
      if (b[i] !== 0x22) return -1;
      const start = i + 1;
      let j = start;
      while (j < n && T[b[j]!] === PLAIN) j++;
      let end = j;
      if (b[j] !== 0x22) {
        const r = scanString(b, j);
        if (r < 0) return -1;
        // An escaped name could spell a tracked one: leave it to JSON.parse.
        if ((r & 1) && (depth === 1 || depth === metaDepth)) return -1;
        end = r >> 1;
      }
      if (depth === 1) {
        field = topLevelField(b, start, end);
        if (field === F_META) {
          // A repeated key replaces the earlier value, as in JSON.parse.
          kinds[F_ID] = ABSENT;
          kinds[F_DT] = ABSENT;
          kinds[F_DOMAIN] = ABSENT;
        }
      } else if (depth === metaDepth) field = metaField(b, start, end);
      else field = F_NONE;
      i = end + 1;
      if (b[i]! <= 0x20) i = skipWhitespace(b, i);
      if (b[i] !== 0x3a) return -1;
      i++;
      expectKey = false;
    }
    // A value.
    if (b[i]! <= 0x20) i = skipWhitespace(b, i);
    const c = b[i];
    if (c === 0x22) {
      const start = i + 1;
      let j = start;
      while (j < n && T[b[j]!] === PLAIN) j++;
      let end = j;
      let kind = STRING;
      if (b[j] !== 0x22) {
        const r = scanString(b, j);
        if (r < 0) return -1;
        end = r >> 1;
        if (r & 1) kind = ESCAPED_STRING;
      }
      if (field !== F_NONE) {
        ranges[2 * field] = start;
        ranges[2 * field + 1] = end;
        kinds[field] = kind;
        field = F_NONE;
      }
      i = end + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (field !== F_NONE) {
        kinds[field] = c === 0x7b ? OBJECT : OTHER;
        if (field === F_META && c === 0x7b) metaDepth = depth + 1;
        field = F_NONE;
      }
      if (++depth > MAX_DEPTH) return -1;
      i++;
      if (b[i]! <= 0x20) i = skipWhitespace(b, i);
      if (c === 0x7b) {
        arrays &= ~(1 << depth);
        if (b[i] !== 0x7d) {
          expectKey = true;
          continue;
        }
      } else {
        arrays |= 1 << depth;
        if (b[i] !== 0x5d) continue;
      }
      // An empty container: closed below.
    } else {
      let kind = OTHER;
      if (c === 0x74) {
        if (!matches(b, i, i + 4, W_TRUE)) return -1;
        kind = TRUE;
        i += 4;
      } else if (c === 0x66) {
        if (!matches(b, i, i + 5, W_FALSE)) return -1;
        kind = FALSE;
        i += 5;
      } else if (c === 0x6e) {
        if (!matches(b, i, i + 4, W_NULL)) return -1;
        i += 4;
      } else {
        i = scanNumber(b, i);
        if (i < 0) return -1;
      }
      if (field !== F_NONE) {
        kinds[field] = kind;
        field = F_NONE;
      }
    }
    // After a value: a comma, or the end of one or more containers.
    for (;;) {
      if (b[i]! <= 0x20) i = skipWhitespace(b, i);
      if (depth === 0) return i;
      const d = b[i];
      if (d === 0x2c) {
        i++;
        expectKey = (arrays & (1 << depth)) === 0;
        break;
      }
      if (d !== ((arrays & (1 << depth)) !== 0 ? 0x5d : 0x7d)) return -1;
      if (depth === metaDepth) metaDepth = -1;
      depth--;
      i++;
    }
  }
}
