/**
 * {@linkcode ProducerStateStore}: the producer's durable resume state, one JSON
 * file (`state.json`) in the state directory, replaced atomically (write a temp
 * file, fsync, rename) so a crash leaves either the old or the new state.
 *
 * @module
 */

/** What the producer remembers across restarts. */
export interface ProducerState {
  /** The SSE `id` of the last event whose batch the proxy acknowledged (and all before it). */
  lastEventId: string;
  /** `meta.dt` (epoch ms) of that event, a fallback when the id holds no timestamp. */
  lastEventTimeMs: number | null;
  /** `meta.id`s of recently acknowledged events, oldest first, to drop replays after resume. */
  recentIds: string[];
  /** When the state was written (epoch ms). */
  savedAtMs: number;
}

/** Options for {@linkcode ProducerStateStore}. */
export interface ProducerStateStoreOptions {
  /** The state directory; created when missing. */
  dir: string;
  /** Call fsync before renaming (durable across power loss, not only process crashes). @default true */
  fsync?: boolean;
}

const FILE_NAME = "state.json";

/** Loads and saves {@linkcode ProducerState} in a directory. */
export class ProducerStateStore {
  #dir: string;
  #fsync: boolean;
  #encoder = new TextEncoder();

  /** @param options the directory */
  constructor(options: ProducerStateStoreOptions) {
    this.#dir = options.dir;
    this.#fsync = options.fsync ?? true;
  }

  /** The state file path. */
  get path(): string {
    return `${this.#dir}/${FILE_NAME}`;
  }

  /**
   * Reads the saved state.
   *
   * @returns the state, or `undefined` when none was saved
   * @throws {SyntaxError} when the file exists but is not a valid state
   */
  async load(): Promise<ProducerState | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
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
      !Array.isArray(v.recentIds) || v.recentIds.some((id) => typeof id !== "string")
    ) {
      throw new SyntaxError(
        `Cannot parse producer state "${this.path}": expected {lastEventId, recentIds}`,
      );
    }
    return {
      lastEventId: v.lastEventId,
      lastEventTimeMs: typeof v.lastEventTimeMs === "number" ? v.lastEventTimeMs : null,
      recentIds: v.recentIds,
      savedAtMs: typeof v.savedAtMs === "number" ? v.savedAtMs : 0,
    };
  }

  /**
   * Replaces the saved state atomically.
   *
   * @param state the new state
   */
  async save(state: ProducerState): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    const tmp = `${this.path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    const data = this.#encoder.encode(JSON.stringify(state) + "\n");
    try {
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        let written = 0;
        while (written < data.length) written += await file.write(data.subarray(written));
        if (this.#fsync) await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, this.path);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw new Error(`Cannot save producer state "${this.path}"`, { cause: error });
    }
  }
}
