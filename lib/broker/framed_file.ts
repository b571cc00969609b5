/**
 * An append-only file of checksummed frames, the storage unit of the local broker.
 *
 * Each frame is `u32 length | u32 crc32(payload) | payload` (big-endian). Opening a
 * file scans it from the start, hands every intact frame to a callback and truncates a
 * torn or corrupt tail (a partial frame from a crash mid-write), so a damaged frame is
 * never served. {@linkcode FramedFile.append} writes a group of frames and flushes them
 * to disk (`fdatasync`) before it resolves: acknowledged means durable.
 *
 * Opened with a {@linkcode PartitionHandleCache}, the file holds no descriptor between
 * uses: its handles are opened through the cache when it is read or written (see
 * {@linkcode FramedFile.pin}) and closed by the cache when it needs the room.
 *
 * @module
 */
import { concatBytes } from "../cli/concat_bytes.ts";
import { crc32 } from "node:zlib";
import type { Logger } from "../cli/log.ts";
import type { HandleLease, PartitionHandleCache } from "./partition_handle_cache.ts";

/** Bytes before each payload: length and checksum. */
export const FRAME_HEADER_BYTES = 8;
/** Largest payload accepted, a guard against reading a garbage length. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

/** Called for each intact frame found while opening a file. */
export type FrameVisitor = (payload: Uint8Array, position: number) => void;

/** Options for {@linkcode FramedFile.open}. */
export interface FramedFileOptions {
  /** Receives every intact frame in file order. */
  onFrame?: FrameVisitor;
  /** Reports truncated tails. */
  log?: Logger;
  /** Opens the handles on use and closes them when idle. @default handles stay open */
  handles?: PartitionHandleCache;
}

/** The two handles of an open framed file: appends and reads keep separate positions. */
interface FileHandles {
  writer: Deno.FsFile;
  reader: Deno.FsFile;
  close(): void;
}

function fileHandles(writer: Deno.FsFile, reader: Deno.FsFile): FileHandles {
  return {
    writer,
    reader,
    close() {
      writer.close();
      reader.close();
    },
  };
}

/**
 * Encodes one frame.
 *
 * @param payload the frame body
 * @returns header and payload in one buffer
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload) >>> 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** An open framed file: appends are serialized and flushed in groups. */
export class FramedFile {
  readonly #path: string;
  readonly #cache: PartitionHandleCache | undefined;
  /** The handles when there is no cache (open until {@linkcode FramedFile.close}). */
  readonly #own: FileHandles | undefined;
  #size: number;
  /** Bytes on disk: where the writer is positioned when its handles are opened again. */
  #written: number;
  #pending: Uint8Array[] = [];
  #pendingWaiters: PromiseWithResolvers<void>[] = [];
  #flushing: Promise<void> | undefined;
  #readLock: Promise<unknown> = Promise.resolve();
  #failed: Error | undefined;
  #closed = false;

  private constructor(
    path: string,
    size: number,
    cache: PartitionHandleCache | undefined,
    own: FileHandles | undefined,
  ) {
    this.#path = path;
    this.#size = size;
    this.#written = size;
    this.#cache = cache;
    this.#own = own;
  }

  /**
   * Opens (creating if needed) a framed file, replays its frames and truncates a torn tail.
   * With a handle cache, the file is closed again once it has been checked.
   *
   * @param path the file
   * @param options frame visitor, logger and handle cache
   * @returns the open file, positioned for appends
   */
  static async open(path: string, options: FramedFileOptions = {}): Promise<FramedFile> {
    const writer = await Deno.open(path, { read: true, write: true, create: true });
    try {
      const size = (await writer.stat()).size;
      const good = await scanFrames(writer, size, options.onFrame);
      if (good < size) {
        options.log?.warn("truncated a torn or corrupt tail", {
          path,
          keptBytes: good,
          droppedBytes: size - good,
        });
        await writer.truncate(good);
        await writer.syncData();
      }
      if (options.handles) {
        writer.close();
        return new FramedFile(path, good, options.handles, undefined);
      }
      await writer.seek(good, Deno.SeekMode.Start);
      const reader = await Deno.open(path, { read: true });
      return new FramedFile(path, good, undefined, fileHandles(writer, reader));
    } catch (error) {
      try {
        writer.close();
      } catch {
        // already closed
      }
      throw error;
    }
  }

  /** The file's path. */
  get path(): string {
    return this.#path;
  }

  /** Bytes in the file including queued appends (the position of the next frame). */
  get size(): number {
    return this.#size;
  }

  /**
   * Keeps the file's handles open until the lease is disposed, opening them first when
   * needed. A caller pins before it changes anything that depends on an append happening,
   * so that failing to open (for example with no descriptor left) changes nothing.
   *
   * @returns the lease
   * @throws whatever opening the file throws
   */
  pin(): Promise<Disposable> {
    return this.#lease();
  }

  #lease(): Promise<HandleLease<FileHandles>> {
    if (this.#own) {
      return Promise.resolve({ handles: this.#own, [Symbol.dispose]: () => {} });
    }
    return this.#cache!.acquire(this, () => this.#openHandles());
  }

  async #openHandles(): Promise<FileHandles> {
    const writer = await Deno.open(this.#path, { read: true, write: true });
    try {
      await writer.seek(this.#written, Deno.SeekMode.Start);
      const reader = await Deno.open(this.#path, { read: true });
      return fileHandles(writer, reader);
    } catch (error) {
      writer.close();
      throw error;
    }
  }

  /**
   * Queues encoded frames for writing; they land at `size` in call order.
   * Call {@linkcode FramedFile.flush} (or await the returned promise) for durability.
   *
   * @param frames encoded frames (see {@linkcode encodeFrame})
   * @returns a promise that resolves once the frames are on disk
   */
  append(frames: readonly Uint8Array[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error(`Cannot append to "${this.#path}": closed`));
    for (const f of frames) {
      this.#pending.push(f);
      this.#size += f.length;
    }
    const waiter = Promise.withResolvers<void>();
    this.#pendingWaiters.push(waiter);
    this.#flushing ??= this.#flushLoop();
    return waiter.promise;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const chunks = this.#pending;
        const waiters = this.#pendingWaiters;
        this.#pending = [];
        this.#pendingWaiters = [];
        try {
          if (this.#failed) throw this.#failed;
          const data = concatBytes(chunks);
          using lease = await this.#lease();
          await writeAll(lease.handles.writer, data);
          await lease.handles.writer.syncData();
          this.#written += data.length;
          for (const w of waiters) w.resolve();
        } catch (error) {
          this.#failed ??= new Error(`Cannot write to "${this.#path}": the log is now read-only`, {
            cause: error,
          });
          for (const w of waiters) w.reject(this.#failed);
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  /**
   * Reads bytes that are already durable.
   *
   * @param position file offset
   * @param length how many bytes
   * @returns the bytes
   */
  read(position: number, length: number): Promise<Uint8Array> {
    const run = this.#readLock.then(async () => {
      using lease = await this.#lease();
      const reader = lease.handles.reader;
      const buf = new Uint8Array(length);
      await reader.seek(position, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = await reader.read(buf.subarray(filled));
        if (n === null) throw new RangeError(`Cannot read "${this.#path}": unexpected end of file`);
        filled += n;
      }
      return buf;
    });
    this.#readLock = run.catch(() => {});
    return run;
  }

  /** Waits for queued writes, then closes the file handles. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    await this.#readLock;
    if (this.#own) this.#own.close();
    else this.#cache!.evict(this);
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

async function readAt(file: Deno.FsFile, position: number, buf: Uint8Array): Promise<number> {
  await file.seek(position, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buf.length) {
    const n = await file.read(buf.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/** Returns the length of the intact prefix of the file. */
async function scanFrames(
  file: Deno.FsFile,
  size: number,
  onFrame: FrameVisitor | undefined,
): Promise<number> {
  let position = 0;
  let buf: Uint8Array = new Uint8Array(0);
  let bufStart = 0;
  while (position < size) {
    // make sure the header is buffered
    if (position + FRAME_HEADER_BYTES > size) return position;
    let need = FRAME_HEADER_BYTES;
    if (position + need > bufStart + buf.length) {
      ({ buf, bufStart } = await refill(file, position, Math.max(need, SCAN_CHUNK_BYTES), size));
    }
    const view = new DataView(buf.buffer, buf.byteOffset + position - bufStart);
    const length = view.getUint32(0);
    const crc = view.getUint32(4);
    if (length > MAX_FRAME_BYTES || position + FRAME_HEADER_BYTES + length > size) return position;
    need = FRAME_HEADER_BYTES + length;
    if (position + need > bufStart + buf.length) {
      ({ buf, bufStart } = await refill(file, position, Math.max(need, SCAN_CHUNK_BYTES), size));
    }
    const start = position - bufStart + FRAME_HEADER_BYTES;
    const payload = buf.subarray(start, start + length);
    if ((crc32(payload) >>> 0) !== crc) return position;
    onFrame?.(payload, position);
    position += need;
  }
  return position;
}

async function refill(
  file: Deno.FsFile,
  position: number,
  want: number,
  size: number,
): Promise<{ buf: Uint8Array; bufStart: number }> {
  const buf = new Uint8Array(Math.min(want, size - position));
  const n = await readAt(file, position, buf);
  return { buf: buf.subarray(0, n), bufStart: position };
}
