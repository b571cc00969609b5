/**
 * The durable log of one topic partition: records appended in offset order to a
 * {@linkcode FramedFile}, with an in-memory index of offset → file position (8 bytes per
 * record). Record bytes stay on disk and are read back on fetch, so memory does not grow
 * with the data (a few million records cost a few tens of MB of index).
 *
 * Record payload: `u8 flags | f64 timestamp | i32 keyLength | key | i32 valueLength | value`,
 * length −1 meaning null. Flag bits say whether key/value are known-valid JSON text
 * (produced through the json embedded format), which lets json reads skip re-validation.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { encodeFrame, FRAME_HEADER_BYTES, FramedFile } from "./framed_file.ts";
import type { PartitionHandleCache } from "./partition_handle_cache.ts";

/** Flag: the key bytes are JSON text. */
export const KEY_IS_JSON = 1;
/** Flag: the value bytes are JSON text. */
export const VALUE_IS_JSON = 2;
/** Payload bytes besides key and value. */
const RECORD_OVERHEAD = 1 + 8 + 4 + 4;

/** A record to append. */
export interface NewRecord {
  /** Key bytes or null. */
  key: Uint8Array | null;
  /** Value bytes or null. */
  value: Uint8Array | null;
  /** {@linkcode KEY_IS_JSON} / {@linkcode VALUE_IS_JSON}. */
  flags: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** A stored record read back. */
export interface StoredRecord extends NewRecord {
  /** Offset within the partition. */
  offset: number;
}

/** Options for {@linkcode PartitionLog.open}. */
export interface PartitionLogOptions {
  /** Reports truncated tails. */
  log?: Logger;
  /** Opens the file on use and closes it when idle. @default the file stays open */
  handles?: PartitionHandleCache;
}

/**
 * Encodes a record payload.
 *
 * @param record the record
 * @returns the payload bytes (without frame header)
 */
export function encodeRecord(record: NewRecord): Uint8Array {
  const keyLength = record.key?.length ?? 0;
  const valueLength = record.value?.length ?? 0;
  const out = new Uint8Array(RECORD_OVERHEAD + keyLength + valueLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, record.flags);
  view.setFloat64(1, record.timestamp);
  view.setInt32(9, record.key === null ? -1 : keyLength);
  if (record.key) out.set(record.key, 13);
  view.setInt32(13 + keyLength, record.value === null ? -1 : valueLength);
  if (record.value) out.set(record.value, 17 + keyLength);
  return out;
}

/**
 * Decodes a record payload.
 *
 * @param payload the bytes (views into it are returned, not copies)
 * @param offset the record's offset
 * @returns the record
 * @throws {RangeError} when the payload is malformed
 */
export function decodeRecord(payload: Uint8Array, offset: number): StoredRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const flags = view.getUint8(0);
  const timestamp = view.getFloat64(1);
  const keyLength = view.getInt32(9);
  const keyEnd = 13 + Math.max(0, keyLength);
  const key = keyLength < 0 ? null : payload.subarray(13, keyEnd);
  const valueLength = view.getInt32(keyEnd);
  const valueStart = keyEnd + 4;
  if (valueStart + Math.max(0, valueLength) > payload.length) {
    throw new RangeError(`Cannot decode record at offset ${offset}: lengths exceed the frame`);
  }
  const value = valueLength < 0 ? null : payload.subarray(valueStart, valueStart + valueLength);
  return { offset, flags, timestamp, key, value };
}

/** One partition's durable log and offset index. */
export class PartitionLog {
  readonly #file: FramedFile;
  /** positions[o] = file position of offset o; positions[next] = end of the queued data. */
  #positions: Float64Array;
  #next: number;
  #highWatermark: number;

  private constructor(file: FramedFile, positions: Float64Array, count: number) {
    this.#file = file;
    this.#positions = positions;
    this.#next = count;
    this.#highWatermark = count;
  }

  /**
   * Opens a partition log, rebuilding the index and dropping a torn tail.
   *
   * @param path the log file
   * @param options logger
   * @returns the open log
   */
  static async open(path: string, options: PartitionLogOptions = {}): Promise<PartitionLog> {
    let positions: Float64Array = new Float64Array(16);
    let count = 0;
    const file = await FramedFile.open(path, {
      log: options.log,
      handles: options.handles,
      onFrame: (_payload, position) => {
        if (count + 1 >= positions.length) positions = grow(positions, count + 2);
        positions[count++] = position;
      },
    });
    positions[count] = file.size;
    return new PartitionLog(file, positions, count);
  }

  /** Offset of the first record (always 0: nothing is ever deleted). */
  get beginningOffset(): number {
    return 0;
  }

  /** One past the last durable (readable) offset. */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /**
   * Key + value bytes of a durable record, from the index alone.
   *
   * @param offset a readable offset
   * @returns the size counted against fetch limits
   */
  recordSize(offset: number): number {
    return this.#positions[offset + 1]! - this.#positions[offset]! - FRAME_HEADER_BYTES -
      RECORD_OVERHEAD;
  }

  /**
   * Appends records in order and resolves once they are on disk and readable.
   *
   * @param records the records
   * @returns the offset of the first record
   */
  async append(records: readonly NewRecord[]): Promise<number> {
    // opening the file may fail (no descriptor left): do it before the index changes
    using _pinned = await this.#file.pin();
    const base = this.#next;
    const frames: Uint8Array[] = [];
    if (this.#next + records.length + 1 >= this.#positions.length) {
      this.#positions = grow(this.#positions, this.#next + records.length + 2);
    }
    let position = this.#positions[this.#next]!;
    for (const r of records) {
      const frame = encodeFrame(encodeRecord(r));
      frames.push(frame);
      position += frame.length;
      this.#positions[++this.#next] = position;
    }
    await this.#file.append(frames);
    // flushes complete in append order, so everything before this batch is durable too
    this.#highWatermark = Math.max(this.#highWatermark, base + records.length);
    return base;
  }

  /**
   * Reads durable records `[from, to)`.
   *
   * @param from first offset
   * @param to one past the last offset (clamped to the high watermark)
   * @returns the records, in offset order
   */
  async read(from: number, to: number): Promise<StoredRecord[]> {
    const end = Math.min(to, this.#highWatermark);
    if (from >= end) return [];
    const start = this.#positions[from]!;
    const bytes = await this.#file.read(start, this.#positions[end]! - start);
    const out: StoredRecord[] = [];
    for (let o = from; o < end; o++) {
      const at = this.#positions[o]! - start + FRAME_HEADER_BYTES;
      const length = this.#positions[o + 1]! - this.#positions[o]! - FRAME_HEADER_BYTES;
      out.push(decodeRecord(bytes.subarray(at, at + length), o));
    }
    return out;
  }

  /**
   * Finds the first offset whose timestamp is at or after `timestamp` (binary search,
   * assuming timestamps grow with offsets, as the broker's wall-clock stamps do).
   *
   * @param timestamp milliseconds since the epoch
   * @returns the offset, or the high watermark when every record is older
   */
  async offsetForTimestamp(timestamp: number): Promise<number> {
    let lo = 0;
    let hi = this.#highWatermark;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const head = await this.#file.read(this.#positions[mid]! + FRAME_HEADER_BYTES, 9);
      const ts = new DataView(head.buffer, head.byteOffset).getFloat64(1);
      if (ts < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Waits for queued writes and closes the file. */
  close(): Promise<void> {
    return this.#file.close();
  }
}

function grow(a: Float64Array, need: number): Float64Array {
  let size = a.length * 2;
  while (size < need) size *= 2;
  const b = new Float64Array(size);
  b.set(a);
  return b;
}
