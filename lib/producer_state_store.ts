/**
 * {@linkcode ProducerStateStore}: the producer's durable resume state in the
 * state directory, cheap enough to save after every acknowledged batch:
 *
 * - `state.json`: the position (last acknowledged SSE id and its `meta.dt`), a
 *   small file replaced atomically (write a temp file, fsync, rename), so a crash
 *   leaves either the old or the new position;
 * - `recent-ids.ndjson`: a journal of acknowledged `meta.id`s, one line per save
 *   (`{"t":<latest meta.dt>,"ids":[...]}`) appended and fdatasync'ed *before* the
 *   position is replaced, so the ids always cover the saved position. A torn last
 *   line (crash mid-append) is ignored. The journal is compacted (rewritten
 *   atomically with only the ids still worth keeping) on the first save of a run
 *   and whenever it grows past `journalMaxBytes`.
 *
 * A `state.json` of the previous format (ids inside it as `recentIds`) still loads.
 *
 * @module
 */

/** The saved stream position. */
export interface ProducerPosition {
  /** The SSE `id` of the last event whose batch the proxy acknowledged (and all before it). */
  lastEventId: string;
  /** `meta.dt` (epoch ms) of that event, a fallback when the id holds no timestamp. */
  lastEventTimeMs: number | null;
  /** When the state was written (epoch ms). */
  savedAtMs: number;
}

/** What the producer remembers across restarts. */
export interface ProducerState extends ProducerPosition {
  /** `meta.id`s of recently acknowledged events, oldest first, to drop replays after resume. */
  recentIds: string[];
  /** For each of `recentIds`, the latest `meta.dt` (epoch ms) saved with it. */
  recentIdTimesMs: number[];
}

/** The ids acknowledged since the previous save. */
export interface RecentIdsUpdate {
  /** The new ids, oldest first. */
  added: readonly string[];
  /** The latest `meta.dt` (epoch ms) among them. */
  timeMs: number;
  /** Every id still worth keeping (including `added`), oldest first, used to compact the journal. */
  snapshot(): { ids: readonly string[]; timeMs: number };
}

/** Options for {@linkcode ProducerStateStore}. */
export interface ProducerStateStoreOptions {
  /** The state directory; created when missing. */
  dir: string;
  /** Call fsync / fdatasync before a save completes (durable across power loss). @default true */
  fsync?: boolean;
  /** Compact the id journal when it grows past this many bytes. @default 8388608 */
  journalMaxBytes?: number;
}

const FILE_NAME = "state.json";
const JOURNAL_NAME = "recent-ids.ndjson";

/** Loads and saves {@linkcode ProducerState} in a directory. */
export class ProducerStateStore {
  #dir: string;
  #fsync: boolean;
  #journalMax: number;
  #encoder = new TextEncoder();
  #journal: Deno.FsFile | undefined;
  #journalBytes = 0;

  /** @param options the directory, fsync and the journal size limit */
  constructor(options: ProducerStateStoreOptions) {
    this.#dir = options.dir;
    this.#fsync = options.fsync ?? true;
    this.#journalMax = options.journalMaxBytes ?? 8 * 1024 * 1024;
  }

  /** The state file path. */
  get path(): string {
    return `${this.#dir}/${FILE_NAME}`;
  }

  /** The id journal path. */
  get journalPath(): string {
    return `${this.#dir}/${JOURNAL_NAME}`;
  }

  /**
   * Reads the saved state.
   *
   * @returns the state, or `undefined` when no position was saved
   * @throws {SyntaxError} when the state file or a complete journal line is not valid
   */
  async load(): Promise<ProducerState | undefined> {
    const text = await readIfExists(this.path);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`Cannot parse producer state "${this.path}": not JSON`, {
        cause: error,
      });
    }
    const v = value as Partial<ProducerState>;
    if (
      typeof v !== "object" || v === null || typeof v.lastEventId !== "string" ||
      (v.recentIds !== undefined &&
        (!Array.isArray(v.recentIds) || v.recentIds.some((id) => typeof id !== "string")))
    ) {
      throw new SyntaxError(
        `Cannot parse producer state "${this.path}": expected {lastEventId, lastEventTimeMs}`,
      );
    }
    const lastEventTimeMs = typeof v.lastEventTimeMs === "number" ? v.lastEventTimeMs : null;
    const recentIds = v.recentIds ?? [];
    const recentIdTimesMs = recentIds.map(() => lastEventTimeMs ?? 0);
    await this.#loadJournal(recentIds, recentIdTimesMs);
    return {
      lastEventId: v.lastEventId,
      lastEventTimeMs,
      recentIds,
      recentIdTimesMs,
      savedAtMs: typeof v.savedAtMs === "number" ? v.savedAtMs : 0,
    };
  }

  async #loadJournal(ids: string[], times: number[]): Promise<void> {
    const text = await readIfExists(this.journalPath);
    if (text === undefined) return;
    // Only complete lines count: a crash mid-append leaves a torn last line.
    const complete = text.lastIndexOf("\n") + 1;
    let start = 0;
    let lineNo = 0;
    while (start < complete) {
      const end = text.indexOf("\n", start);
      lineNo++;
      const line = text.slice(start, end);
      start = end + 1;
      if (line === "") continue;
      let entry: { t?: unknown; ids?: unknown };
      try {
        entry = JSON.parse(line);
      } catch (error) {
        throw new SyntaxError(
          `Cannot parse producer id journal "${this.journalPath}" line ${lineNo}: not JSON`,
          { cause: error },
        );
      }
      if (!Array.isArray(entry?.ids) || typeof entry.t !== "number") {
        throw new SyntaxError(
          `Cannot parse producer id journal "${this.journalPath}" line ${lineNo}: expected {t, ids}`,
        );
      }
      for (const id of entry.ids) {
        if (typeof id !== "string") continue;
        ids.push(id);
        times.push(entry.t);
      }
    }
  }

  /**
   * Durably records acknowledged ids, then replaces the position atomically.
   *
   * @param position the new position
   * @param ids the ids acknowledged since the previous save
   */
  async save(position: ProducerPosition, ids: RecentIdsUpdate): Promise<void> {
    try {
      if (this.#journal === undefined || this.#journalBytes > this.#journalMax) {
        await this.#compact(ids.snapshot());
      } else if (ids.added.length > 0) {
        await this.#append(journalLine(ids.added, ids.timeMs));
      }
    } catch (error) {
      throw new Error(`Cannot save producer id journal "${this.journalPath}"`, { cause: error });
    }
    await this.#replace(
      this.path,
      JSON.stringify({
        lastEventId: position.lastEventId,
        lastEventTimeMs: position.lastEventTimeMs,
        savedAtMs: position.savedAtMs,
      }) + "\n",
      "producer state",
    );
  }

  /** Closes the journal file (saving again reopens it). */
  close(): void {
    this.#journal?.close();
    this.#journal = undefined;
  }

  async #append(line: string): Promise<void> {
    const data = this.#encoder.encode(line);
    await writeAll(this.#journal!, data);
    if (this.#fsync) await this.#journal!.syncData();
    this.#journalBytes += data.length;
  }

  async #compact(snapshot: { ids: readonly string[]; timeMs: number }): Promise<void> {
    this.close();
    const text = snapshot.ids.length > 0 ? journalLine(snapshot.ids, snapshot.timeMs) : "";
    await this.#replace(this.journalPath, text, "producer id journal");
    this.#journal = await Deno.open(this.journalPath, { append: true });
    this.#journalBytes = text.length;
  }

  async #replace(path: string, text: string, what: string): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        await writeAll(file, this.#encoder.encode(text));
        if (this.#fsync) await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw new Error(`Cannot save ${what} "${path}"`, { cause: error });
    }
  }
}

function journalLine(ids: readonly string[], timeMs: number): string {
  return `{"t":${timeMs},"ids":${JSON.stringify(ids)}}\n`;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
