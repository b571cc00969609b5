/**
 * {@linkcode ProducerStateStore}: the producer's durable resume state in the
 * state directory, cheap enough to save after every acknowledged batch (one
 * append and one fdatasync):
 *
 * - `recent-ids.ndjson`: a journal with one line per save,
 *   `{"t":<latest meta.dt>,"ids":[...],"p":{lastEventId, lastEventTimeMs, savedAtMs}}`:
 *   the `meta.id`s acknowledged since the previous save and the new position (last
 *   acknowledged SSE id and its `meta.dt`). One line carries both, so the ids always
 *   cover the position. A torn last line (crash mid-append) is ignored: the previous
 *   line's position is in effect. The journal is compacted (replaced atomically —
 *   temp file, fsync, rename — by one line with the ids still worth keeping and the
 *   position) on the first save of a run and whenever it grows past `journalMaxBytes`.
 * - `state.json`: the position as readable JSON, replaced atomically at compaction and
 *   on {@linkcode ProducerStateStore.finish}; it is used only when the journal holds no
 *   position (a state directory of an earlier version).
 *
 * A `state.json` of the oldest format (ids inside it as `recentIds`) still loads.
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
  #position: ProducerPosition | undefined;

  /**
   * Creates a `ProducerStateStore`.
   *
   * @param options the directory, fsync and the journal size limit
   */
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
    let position: ProducerPosition | undefined;
    let recentIds: string[] = [];
    if (text !== undefined) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`Cannot parse producer state "${this.path}": not JSON`, {
          cause: error,
        });
      }
      const v = value as Partial<ProducerState>;
      position = positionOf(v);
      if (
        position === undefined ||
        (v.recentIds !== undefined &&
          (!Array.isArray(v.recentIds) || v.recentIds.some((id) => typeof id !== "string")))
      ) {
        throw new SyntaxError(
          `Cannot parse producer state "${this.path}": expected {lastEventId, lastEventTimeMs}`,
        );
      }
      recentIds = v.recentIds ?? [];
    }
    const recentIdTimesMs = recentIds.map(() => position?.lastEventTimeMs ?? 0);
    const journaled = await this.#loadJournal(recentIds, recentIdTimesMs);
    position = journaled ?? position;
    if (position === undefined) return undefined;
    return { ...position, recentIds, recentIdTimesMs };
  }

  /** Appends the journal's ids; returns the position of its last complete line that has one. */
  async #loadJournal(ids: string[], times: number[]): Promise<ProducerPosition | undefined> {
    const text = await readIfExists(this.journalPath);
    if (text === undefined) return undefined;
    let position: ProducerPosition | undefined;
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
      let entry: { t?: unknown; ids?: unknown; p?: unknown };
      try {
        entry = JSON.parse(line);
      } catch (error) {
        throw new SyntaxError(
          `Cannot parse producer id journal "${this.journalPath}" line ${lineNo}: not JSON`,
          { cause: error },
        );
      }
      const p = entry?.p === undefined ? undefined : positionOf(entry.p);
      if (
        !Array.isArray(entry?.ids) || typeof entry.t !== "number" ||
        (entry.p !== undefined && p === undefined)
      ) {
        throw new SyntaxError(
          `Cannot parse producer id journal "${this.journalPath}" line ${lineNo}: expected {t, ids, p}`,
        );
      }
      for (const id of entry.ids) {
        if (typeof id !== "string") continue;
        ids.push(id);
        times.push(entry.t);
      }
      if (p !== undefined) position = p;
    }
    return position;
  }

  /**
   * Durably records the acknowledged ids and the new position in one journal line.
   *
   * @param position the new position
   * @param ids the ids acknowledged since the previous save
   */
  async save(position: ProducerPosition, ids: RecentIdsUpdate): Promise<void> {
    this.#position = position;
    try {
      if (this.#journal === undefined || this.#journalBytes > this.#journalMax) {
        const snapshot = ids.snapshot();
        await this.#compact(journalLine(snapshot.ids, snapshot.timeMs, position));
      } else await this.#append(journalLine(ids.added, ids.timeMs, position));
    } catch (error) {
      throw new Error(`Cannot save producer state "${this.journalPath}"`, { cause: error });
    }
  }

  /** Writes the last saved position to `state.json` and closes the journal. */
  async finish(): Promise<void> {
    this.close();
    if (this.#position !== undefined) await this.#writeStateFile(this.#position);
  }

  /** Closes the journal file (saving again reopens it). */
  close(): void {
    this.#journal?.close();
    this.#journal = undefined;
  }

  #writeStateFile(position: ProducerPosition): Promise<void> {
    return this.#replace(
      this.path,
      JSON.stringify({
        lastEventId: position.lastEventId,
        lastEventTimeMs: position.lastEventTimeMs,
        savedAtMs: position.savedAtMs,
      }) + "\n",
      "producer state",
    );
  }

  async #append(line: string): Promise<void> {
    const data = this.#encoder.encode(line);
    await writeAll(this.#journal!, data);
    if (this.#fsync) await this.#journal!.syncData();
    this.#journalBytes += data.length;
  }

  async #compact(line: string): Promise<void> {
    this.close();
    await this.#replace(this.journalPath, line, "producer id journal");
    this.#journal = await Deno.open(this.journalPath, { append: true });
    this.#journalBytes = line.length;
    await this.#writeStateFile(this.#position!);
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

function journalLine(ids: readonly string[], timeMs: number, p: ProducerPosition): string {
  return `{"t":${timeMs},"ids":${JSON.stringify(ids)},"p":${
    JSON.stringify({
      lastEventId: p.lastEventId,
      lastEventTimeMs: p.lastEventTimeMs,
      savedAtMs: p.savedAtMs,
    })
  }}\n`;
}

function positionOf(value: unknown): ProducerPosition | undefined {
  const v = value as Partial<ProducerPosition> | null;
  if (typeof v !== "object" || v === null || typeof v.lastEventId !== "string") return undefined;
  return {
    lastEventId: v.lastEventId,
    lastEventTimeMs: typeof v.lastEventTimeMs === "number" ? v.lastEventTimeMs : null,
    savedAtMs: typeof v.savedAtMs === "number" ? v.savedAtMs : 0,
  };
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
