/**
 * {@linkcode V3RecordReader}: reads the body of a v3 streaming produce (concatenated JSON
 * objects, contract §3.2) in groups of records, without ever holding the whole body: each
 * group is the records completed by the chunks read so far, and the next chunk is read only
 * when the caller asks for the next group (so a client that does not read its delivery
 * reports stops being read: backpressure).
 *
 * Limits, from the broker's body limits: one record may be at most `BROKER_MAX_BODY_BYTES`
 * (a longer one ends the stream with 413); a pause between chunks longer than
 * `BROKER_BODY_IDLE_TIMEOUT_MS` ends it with 408; the bytes held (the group not yet answered
 * and the record in progress) count against `BROKER_MAX_BUFFERED_BYTES` (503 when they do
 * not fit) and are given back as soon as the group is answered. The stream as a whole has no
 * length limit, as in Confluent's streaming mode; memory does not grow with it.
 *
 * @module
 */
import type { BodyReader } from "./body_reader.ts";
import { BrokerError } from "./broker_error.ts";
import { JsonObjectSplitter } from "../rest_proxy/json_object_splitter.ts";

/** Records read together, and why the stream ended after them, if it did. */
export interface RecordGroup {
  /** The JSON text of each record, in body order. */
  records: Uint8Array[];
  /** True when the body has ended (cleanly or not) after these records. */
  done: boolean;
  /** Why the body cannot be read further, when it ended badly. */
  error?: BrokerError;
}

/** Reads a streamed produce body group by group, within the broker's limits. */
export class V3RecordReader {
  readonly #bodies: BodyReader;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #splitter: JsonObjectSplitter;
  #reserved = 0;
  #done = false;

  /**
   * Creates a reader of the request's body.
   *
   * @param request the produce request (its body is locked by this reader)
   * @param bodies the broker's body limits and budget
   */
  constructor(request: Request, bodies: BodyReader) {
    this.#bodies = bodies;
    this.#reader = request.body?.getReader();
    this.#splitter = new JsonObjectSplitter(bodies.maxBodyBytes);
    if (!this.#reader) this.#done = true;
  }

  /**
   * Reads until at least one record is complete or the body ends; the group's bytes stay
   * reserved until {@linkcode V3RecordReader.answered}.
   *
   * @returns the records and whether the body ended
   */
  async next(): Promise<RecordGroup> {
    const records: Uint8Array[] = [];
    while (!this.#done && records.length === 0) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.#bodies.readStreamChunk(this.#reader!);
      } catch (error) {
        return this.#fail(records, brokerError(error));
      }
      if (chunk.done) {
        this.#done = true;
        const truncated = this.#splitter.end();
        if (truncated) return this.#fail(records, new BrokerError(400, 400, truncated.message));
        break;
      }
      for (const r of this.#splitter.push(chunk.value)) records.push(r);
      const held = this.#splitter.pendingBytes + records.reduce((n, r) => n + r.length, 0);
      if (!this.#reserve(held)) {
        return this.#fail(
          [],
          new BrokerError(
            503,
            503,
            `Service Unavailable: request bodies held by the broker would pass ` +
              `${this.#bodies.budget.limit} bytes (BROKER_MAX_BUFFERED_BYTES); retry later`,
            { refusal: "buffer_full", retryAfterS: 1 },
          ),
        );
      }
      const split = this.#splitter.error;
      if (split) {
        return this.#fail(
          records,
          split.problem === "too_large"
            ? new BrokerError(
              413,
              413,
              `Record too large: a record of the stream is longer than ` +
                `${this.#bodies.maxBodyBytes} bytes (BROKER_MAX_BODY_BYTES)`,
              { refusal: "body_too_large" },
            )
            : new BrokerError(400, 400, `Error processing JSON: ${split.message}`),
        );
      }
    }
    return { records, done: this.#done };
  }

  /** Gives back the bytes of the group just answered (the record in progress stays held). */
  answered(): void {
    const keep = Math.min(this.#reserved, this.#splitter.pendingBytes);
    this.#bodies.budget.release(this.#reserved - keep);
    this.#reserved = keep;
  }

  /** Stops reading (the answer is complete or its client went away) and gives back every byte. */
  async close(): Promise<void> {
    this.#bodies.budget.release(this.#reserved);
    this.#reserved = 0;
    if (!this.#done) {
      this.#done = true;
      await this.#reader?.cancel().catch(() => {});
    }
  }

  #reserve(bytes: number): boolean {
    if (bytes <= this.#reserved) return true;
    if (!this.#bodies.budget.tryReserve(bytes - this.#reserved)) return false;
    this.#reserved = bytes;
    return true;
  }

  #fail(records: Uint8Array[], error: BrokerError): RecordGroup {
    this.#done = true;
    this.#reader?.cancel().catch(() => {});
    return { records, done: true, error };
  }
}

function brokerError(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  return new BrokerError(
    400,
    400,
    `Error processing message: the request body broke off (${
      error instanceof Error ? error.message : String(error)
    })`,
  );
}
