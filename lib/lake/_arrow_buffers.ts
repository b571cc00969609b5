/**
 * Growable, row-addressed column buffers that turn into Arrow `Data` without per-value objects.
 *
 * Rows are written by row index in arrival order; `build` gathers them through a permutation
 * (the sort order) into the final Arrow buffers. Unwritten rows are null: every buffer starts
 * zeroed and zero means "null" in each layout. Private to the event batch builder.
 *
 * @module
 */

import { type Data, DataType, makeData } from "apache-arrow";

const TWO_POW_32 = 4294967296;
const ENCODER = new TextEncoder();

/** Counts the strings written with a lone surrogate (replaced by U+FFFD), across columns. */
export interface TextFaults {
  /** Strings that held at least one lone surrogate. */
  loneSurrogates: number;
}

/** Lone surrogates replaced by {@linkcode writeUtf8} so far (read before and after a call). */
let replacedSurrogates = 0;

function wrongType(type: DataType, expected: string): TypeError {
  return new TypeError(
    `Cannot build column as its type must be ${expected}: current value is ${type}`,
  );
}

/** The validity bitmap of `rows` (written row indexes in output order) and its null count. */
function validity(
  valid: ArrayLike<number>,
  rows: Uint32Array,
): { nullCount: number; nullBitmap: Uint8Array | undefined } {
  const n = rows.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nonNull = 0;
  for (let i = 0; i < n; i++) {
    if (valid[rows[i]] !== 0) {
      bitmap[i >> 3] |= 1 << (i & 7);
      nonNull++;
    }
  }
  return { nullCount: n - nonNull, nullBitmap: nonNull < n ? bitmap : undefined };
}

function grownLength(current: number, needed: number): number {
  let next = Math.max(current, 64);
  while (next < needed) next *= 2;
  return next;
}

/** Copies `n` bytes (a loop for short runs: cheaper than a `subarray` + `set`). */
function copyRun(src: Uint8Array, from: number, out: Uint8Array, to: number, n: number): void {
  if (n <= 32) {
    for (let i = 0; i < n; i++) out[to + i] = src[from + i];
  } else {
    out.set(src.subarray(from, from + n), to);
  }
}

/**
 * Writes the UTF-8 encoding of a string at `pos` (the buffer holds at least 3 bytes per UTF-16
 * unit from `pos`); lone surrogates become U+FFFD, as with `TextEncoder`.
 *
 * @param s the string
 * @param out the buffer
 * @param pos where to write
 * @returns the position after the last byte written
 */
function writeUtf8(s: string, out: Uint8Array, pos: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[pos++] = c;
    } else if (c < 0x800) {
      out[pos++] = 0xc0 | (c >> 6);
      out[pos++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[pos++] = 0xf0 | (c >> 18);
          out[pos++] = 0x80 | ((c >> 12) & 0x3f);
          out[pos++] = 0x80 | ((c >> 6) & 0x3f);
          out[pos++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
        replacedSurrogates++;
      }
      out[pos++] = 0xe0 | (c >> 12);
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

/** Strings at least this long are encoded natively; shorter ones by `writeUtf8` (no call cost). */
const NATIVE_ENCODE_MIN_LENGTH = 128;

/**
 * A nullable UTF-8 column: values are encoded at append time into one growing byte buffer in
 * arrival order (so the JS strings die young), and gathered into output order by `build`.
 */
export class Utf8Column {
  #bytes: Uint8Array;
  #pos = 0;
  #start: Int32Array;
  /** Byte length + 1 per row; 0 = null. */
  #len1: Int32Array;
  #last: string | undefined = undefined;
  #lastStart = 0;
  #lastLen1 = 0;
  #cache: Map<string, number> | undefined;
  #faults: TextFaults | undefined;

  /** Bytes of the buffers allocated so far (capacity, not just what is used). */
  get allocatedBytes(): number {
    return this.#bytes.byteLength + this.#start.byteLength + this.#len1.byteLength;
  }

  /**
   * Creates an empty column.
   *
   * @param capacity initial row capacity
   * @param bytesPerRow initial byte capacity per row
   * @param cacheValues remember the encoded position of each distinct value (low-cardinality
   *   columns: repeated values are encoded and stored once)
   * @param faults counts the values written with a lone surrogate (stored as U+FFFD)
   */
  constructor(capacity: number, bytesPerRow: number, cacheValues: boolean, faults?: TextFaults) {
    this.#bytes = new Uint8Array(Math.max(64, capacity * bytesPerRow));
    this.#start = new Int32Array(capacity);
    this.#len1 = new Int32Array(capacity);
    this.#cache = cacheValues ? new Map() : undefined;
    this.#faults = faults;
  }

  /** Bytes of UTF-8 held. */
  get byteLength(): number {
    return this.#pos;
  }

  /**
   * Grows the row capacity.
   *
   * @param capacity the new row capacity
   */
  growRows(capacity: number): void {
    const start = new Int32Array(capacity);
    start.set(this.#start);
    this.#start = start;
    const len1 = new Int32Array(capacity);
    len1.set(this.#len1);
    this.#len1 = len1;
  }

  /**
   * Writes a string value at a row (each row at most once).
   *
   * @param row the row index
   * @param value the string
   * @returns the number of bytes added to the buffer
   */
  set(row: number, value: string): number {
    if (value === this.#last) {
      this.#start[row] = this.#lastStart;
      this.#len1[row] = this.#lastLen1;
      return 0;
    }
    const cache = this.#cache;
    if (cache !== undefined) {
      const packed = cache.get(value);
      if (packed !== undefined) {
        // packed = start * 2^16 + len1 (values in cached columns are short).
        const len1 = packed % 65536;
        const start = (packed - len1) / 65536;
        this.#start[row] = start;
        this.#len1[row] = len1;
        this.#last = value;
        this.#lastStart = start;
        this.#lastLen1 = len1;
        return 0;
      }
    }
    const n = value.length;
    let pos = this.#pos;
    if (pos + n * 3 > this.#bytes.length) {
      const bigger = new Uint8Array(grownLength(this.#bytes.length, pos + n * 3));
      bigger.set(this.#bytes.subarray(0, pos));
      this.#bytes = bigger;
    }
    const bytes = this.#bytes;
    const start = pos;
    const replaced = replacedSurrogates;
    if (n >= NATIVE_ENCODE_MIN_LENGTH) {
      if (!value.isWellFormed()) replacedSurrogates++;
      pos += ENCODER.encodeInto(value, bytes.subarray(pos)).written;
    } else {
      pos = writeUtf8(value, bytes, pos);
    }
    const len = pos - start;
    this.#pos = pos;
    this.#start[row] = start;
    this.#len1[row] = len + 1;
    if (replaced !== replacedSurrogates) {
      // not remembered: each write of such a value must be counted
      if (this.#faults) this.#faults.loneSurrogates++;
      return len;
    }
    this.#last = value;
    this.#lastStart = start;
    this.#lastLen1 = len + 1;
    if (cache !== undefined && len < 65535 && cache.size < 4096) {
      cache.set(value, start * 65536 + len + 1);
    }
    return len;
  }

  /**
   * Makes a row null again (undoes the {@linkcode set} of a row that is then abandoned; its
   * bytes stay in the buffer, unreferenced).
   *
   * @param row the row index
   */
  clear(row: number): void {
    this.#len1[row] = 0;
    this.#start[row] = 0;
  }

  /**
   * Builds the Arrow data of `rows`, in that order.
   *
   * @param type the Arrow type (Utf8)
   * @param rows written row indexes, in output order (a slice of the sort permutation)
   * @returns the Arrow data
   */
  build(type: DataType, rows: Uint32Array): Data {
    if (!DataType.isUtf8(type)) throw wrongType(type, "Utf8");
    const n = rows.length;
    const start = this.#start;
    const len1 = this.#len1;
    const src = this.#bytes;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const l1 = len1[rows[i]];
      if (l1 > 1) total += l1 - 1;
    }
    const out = new Uint8Array(total);
    const offsets = new Int32Array(n + 1);
    // Values adjacent in the source (rows appended in time order, the common case) are copied
    // as one run.
    let pos = 0;
    let runSrc = 0;
    let runDst = 0;
    let runLen = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      const l1 = len1[r];
      if (l1 > 1) {
        const s = start[r];
        if (s !== runSrc + runLen) {
          copyRun(src, runSrc, out, runDst, runLen);
          runSrc = s;
          runDst = pos;
          runLen = 0;
        }
        runLen += l1 - 1;
        pos += l1 - 1;
      }
      offsets[i + 1] = pos;
    }
    copyRun(src, runSrc, out, runDst, runLen);
    const { nullCount, nullBitmap } = validity(len1, rows);
    return makeData({ type, length: n, nullCount, nullBitmap, valueOffsets: offsets, data: out });
  }
}

/** A nullable 64-bit integer (or timestamp) column, held as exact JS numbers (< 2^53). */
export class Int64Column {
  #values: Float64Array;
  #valid: Uint8Array;

  /** Bytes of the buffers allocated so far (capacity, not just what is used). */
  get allocatedBytes(): number {
    return this.#values.byteLength + this.#valid.byteLength;
  }

  /**
   * Creates an empty column.
   *
   * @param capacity initial row capacity
   */
  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
    this.#valid = new Uint8Array(capacity);
  }

  /**
   * Grows the row capacity.
   *
   * @param capacity the new row capacity
   */
  growRows(capacity: number): void {
    const values = new Float64Array(capacity);
    values.set(this.#values);
    this.#values = values;
    const valid = new Uint8Array(capacity);
    valid.set(this.#valid);
    this.#valid = valid;
  }

  /**
   * Writes a safe integer at a row (each row at most once).
   *
   * @param row the row index
   * @param value the integer
   */
  set(row: number, value: number): void {
    this.#values[row] = value;
    this.#valid[row] = 1;
  }

  /**
   * Makes a row null again (undoes the {@linkcode set} of a row that is then abandoned).
   *
   * @param row the row index
   */
  clear(row: number): void {
    this.#valid[row] = 0;
    this.#values[row] = 0;
  }

  /**
   * Reads the value written at a row (0 when null).
   *
   * @param row the row index
   * @returns the value
   */
  get(row: number): number {
    return this.#values[row];
  }

  /** The raw values (row-indexed, for sorting). */
  get values(): Float64Array {
    return this.#values;
  }

  /**
   * Builds the Arrow data of `rows`, in that order.
   *
   * @param type the Arrow type (Int64 or a Timestamp)
   * @param rows written row indexes, in output order (a slice of the sort permutation)
   * @returns the Arrow data
   */
  build(type: DataType, rows: Uint32Array): Data {
    const n = rows.length;
    const out = new BigInt64Array(n);
    const words = new Int32Array(out.buffer);
    const values = this.#values;
    for (let i = 0; i < n; i++) {
      const v = values[rows[i]];
      words[2 * i] = v >>> 0;
      words[2 * i + 1] = Math.floor(v / TWO_POW_32) | 0;
    }
    const { nullCount, nullBitmap } = validity(this.#valid, rows);
    if (DataType.isTimestamp(type)) {
      return makeData({ type, length: n, nullCount, nullBitmap, data: out });
    }
    if (!DataType.isInt(type) || type.bitWidth !== 64) throw wrongType(type, "Int64 or Timestamp");
    return makeData({ type, length: n, nullCount, nullBitmap, data: out });
  }
}

/** A nullable 32-bit integer column. */
export class Int32Column {
  #values: Int32Array;
  #valid: Uint8Array;

  /** Bytes of the buffers allocated so far (capacity, not just what is used). */
  get allocatedBytes(): number {
    return this.#values.byteLength + this.#valid.byteLength;
  }

  /**
   * Creates an empty column.
   *
   * @param capacity initial row capacity
   */
  constructor(capacity: number) {
    this.#values = new Int32Array(capacity);
    this.#valid = new Uint8Array(capacity);
  }

  /**
   * Grows the row capacity.
   *
   * @param capacity the new row capacity
   */
  growRows(capacity: number): void {
    const values = new Int32Array(capacity);
    values.set(this.#values);
    this.#values = values;
    const valid = new Uint8Array(capacity);
    valid.set(this.#valid);
    this.#valid = valid;
  }

  /**
   * Writes an int32 at a row (each row at most once).
   *
   * @param row the row index
   * @param value the integer
   */
  set(row: number, value: number): void {
    this.#values[row] = value;
    this.#valid[row] = 1;
  }

  /**
   * Makes a row null again (undoes the {@linkcode set} of a row that is then abandoned).
   *
   * @param row the row index
   */
  clear(row: number): void {
    this.#valid[row] = 0;
    this.#values[row] = 0;
  }

  /** The raw values (row-indexed, for sorting). */
  get values(): Int32Array {
    return this.#values;
  }

  /**
   * Builds the Arrow data of `rows`, in that order.
   *
   * @param type the Arrow type (Int32)
   * @param rows written row indexes, in output order (a slice of the sort permutation)
   * @returns the Arrow data
   */
  build(type: DataType, rows: Uint32Array): Data {
    const n = rows.length;
    const out = new Int32Array(n);
    const values = this.#values;
    for (let i = 0; i < n; i++) out[i] = values[rows[i]];
    const { nullCount, nullBitmap } = validity(this.#valid, rows);
    if (!DataType.isInt(type) || type.bitWidth !== 32) throw wrongType(type, "Int32");
    return makeData({ type, length: n, nullCount, nullBitmap, data: out });
  }
}

/** A nullable boolean column (one state byte per row: 0 null, 1 false, 2 true). */
export class BoolColumn {
  #state: Uint8Array;

  /** Bytes of the buffers allocated so far (capacity, not just what is used). */
  get allocatedBytes(): number {
    return this.#state.byteLength;
  }

  /**
   * Creates an empty column.
   *
   * @param capacity initial row capacity
   */
  constructor(capacity: number) {
    this.#state = new Uint8Array(capacity);
  }

  /**
   * Grows the row capacity.
   *
   * @param capacity the new row capacity
   */
  growRows(capacity: number): void {
    const state = new Uint8Array(capacity);
    state.set(this.#state);
    this.#state = state;
  }

  /**
   * Writes a boolean at a row (each row at most once).
   *
   * @param row the row index
   * @param value the boolean
   */
  set(row: number, value: boolean): void {
    this.#state[row] = value ? 2 : 1;
  }

  /**
   * Makes a row null again (undoes the {@linkcode set} of a row that is then abandoned).
   *
   * @param row the row index
   */
  clear(row: number): void {
    this.#state[row] = 0;
  }

  /**
   * Builds the Arrow data of `rows`, in that order.
   *
   * @param type the Arrow type (Bool)
   * @param rows written row indexes, in output order (a slice of the sort permutation)
   * @returns the Arrow data
   */
  build(type: DataType, rows: Uint32Array): Data {
    const n = rows.length;
    const bits = new Uint8Array((n + 7) >> 3);
    const state = this.#state;
    for (let i = 0; i < n; i++) {
      if (state[rows[i]] === 2) bits[i >> 3] |= 1 << (i & 7);
    }
    const { nullCount, nullBitmap } = validity(state, rows);
    if (!DataType.isBool(type)) throw wrongType(type, "Bool");
    return makeData({ type, length: n, nullCount, nullBitmap, data: bits });
  }
}
