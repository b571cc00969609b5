/**
 * {@linkcode DeadLetterWriter}: appends events the producer cannot deliver to
 * an NDJSON file (`STATE_DIR/dead-letter.ndjson`), one object per line with the
 * time, the reason and the raw `data` text, so nothing is dropped silently.
 *
 * @module
 */

/** One dead-lettered event. */
export interface DeadLetter {
  /** Why the event was not produced, for example `not JSON` or `error_code 50002: ...`. */
  reason: string;
  /** The raw `data` text as received. */
  raw: string;
  /** The SSE id of the event, when known. */
  sseId?: string;
}

/** Where dead letters go; the pipeline depends on this interface. */
export interface DeadLetterSink {
  /** Appends one dead letter durably (resolves once written). */
  write(letter: DeadLetter): Promise<void>;
  /** Releases the file. */
  close(): Promise<void>;
}

/** Options for {@linkcode DeadLetterWriter}. */
export interface DeadLetterWriterOptions {
  /** The file to append to; its directory is created when missing. */
  path: string;
  /** Clock for the `time` field. @default Date.now */
  now?: () => number;
}

/** Appends dead letters to an NDJSON file, opened lazily on the first letter. */
export class DeadLetterWriter implements DeadLetterSink {
  #path: string;
  #now: () => number;
  #file: Deno.FsFile | undefined;
  #chain: Promise<void> = Promise.resolve();
  #encoder = new TextEncoder();

  /**
   * Creates a `DeadLetterWriter`.
   *
   * @param options the file path
   */
  constructor(options: DeadLetterWriterOptions) {
    this.#path = options.path;
    this.#now = options.now ?? Date.now;
  }

  /** The file path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Appends one line; writes are serialised in call order.
   *
   * @param letter the event and the reason
   * @returns a promise that resolves once the line is written
   */
  write(letter: DeadLetter): Promise<void> {
    const line = JSON.stringify({ time: new Date(this.#now()).toISOString(), ...letter }) + "\n";
    const next = this.#chain.then(() => this.#append(line));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #append(line: string): Promise<void> {
    if (this.#file === undefined) {
      const dir = this.#path.slice(0, Math.max(0, this.#path.lastIndexOf("/")));
      if (dir !== "") await Deno.mkdir(dir, { recursive: true });
      this.#file = await Deno.open(this.#path, { append: true, create: true });
    }
    const data = this.#encoder.encode(line);
    let written = 0;
    while (written < data.length) written += await this.#file.write(data.subarray(written));
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#chain;
    this.#file?.close();
    this.#file = undefined;
  }
}
