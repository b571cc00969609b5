/**
 * {@linkcode ProduceBatcher}: groups records into produce batches (flushed by
 * record count, size and linger time), keeps at most `maxInFlight` batches being
 * sent and at most `queueMaxBatches` waiting, and makes the caller wait when both
 * are full (backpressure: the stream reader pauses instead of buffering).
 *
 * Completed batches are committed strictly in order: {@linkcode ProduceBatcherOptions.commit}
 * sees a batch only after every earlier batch completed, so a saved stream
 * position never passes an unacknowledged event. With `maxInFlight: 1` the next
 * batch is sent only after the previous one was committed.
 *
 * @module
 */
import { keyLength, type ProduceRecord } from "../rest_proxy/rest_producer_client.ts";

/**
 * A position in the event stream: the SSE id of an event and its `meta.dt`.
 * `sseId` may be a getter: it is read only for the last position of a batch.
 */
export interface StreamPosition {
  /** The SSE `id` field of the event. */
  readonly sseId: string;
  /** The event's `meta.dt` in epoch ms, when known. */
  readonly eventTimeMs: number | null;
}

/** A record plus what the pipeline needs after it is acknowledged; also its position. */
export interface BatchRecord extends ProduceRecord, StreamPosition {
  /** `meta.id` of the event. */
  readonly metaId: string;
  /** `meta.dt` of the event (epoch ms). */
  readonly eventTimeMs: number;
}

/** One produce batch. */
export interface ProduceBatch {
  /** Sequence number, from 0, in stream order. */
  seq: number;
  /** The records (may be empty when the batch only advances the position). */
  records: BatchRecord[];
  /** Bytes of key and value JSON. */
  bytes: number;
  /** The position after the last event covered (including dropped events), if any. */
  position: StreamPosition | undefined;
}

/** Options for {@linkcode ProduceBatcher}. */
export interface ProduceBatcherOptions {
  /** Most records per batch. */
  maxRecords: number;
  /** Most bytes of key and value JSON per batch (a single larger record goes alone). */
  maxBytes: number;
  /** Longest time the first record of a batch waits. */
  lingerMs: number;
  /** Batches being sent at once. @default 1 */
  maxInFlight?: number;
  /** Full batches waiting to be sent before `add` makes the caller wait. @default 4 */
  queueMaxBatches?: number;
  /** Sends a batch; resolves when every record is acknowledged or dead-lettered. */
  send(batch: ProduceBatch): Promise<void>;
  /** Receives completed batches in sequence order (one call may carry several). */
  commit(batches: ProduceBatch[]): Promise<void>;
}

/** Batches records and sends them with bounded concurrency and ordered commits. */
export class ProduceBatcher {
  #maxRecords: number;
  #maxBytes: number;
  #lingerMs: number;
  #maxInFlight: number;
  #queueMax: number;
  #send: (batch: ProduceBatch) => Promise<void>;
  #commit: (batches: ProduceBatch[]) => Promise<void>;

  #open: ProduceBatch;
  #nextSeq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: ProduceBatch[] = [];
  #pendingEnqueues = 0;
  #enqueueChain: Promise<void> = Promise.resolve();
  #spaceWaiters: (() => void)[] = [];
  #inFlight = 0;
  #completed = new Map<number, ProduceBatch>();
  #nextCommit = 0;
  #commitChain: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #changeWaiters: (() => void)[] = [];
  #closed = false;

  /**
   * Creates a `ProduceBatcher`.
   *
   * @param options limits and the send and commit functions
   */
  constructor(options: ProduceBatcherOptions) {
    this.#maxRecords = options.maxRecords;
    this.#maxBytes = options.maxBytes;
    this.#lingerMs = options.lingerMs;
    this.#maxInFlight = options.maxInFlight ?? 1;
    this.#queueMax = options.queueMaxBatches ?? 4;
    this.#send = options.send;
    this.#commit = options.commit;
    this.#open = this.#newBatch();
  }

  /** Batches being sent. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Batches waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The first error of a send or commit, which stops the batcher. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /**
   * Adds a record; its position becomes the batch's end position.
   *
   * @param record the record
   * @returns `undefined`, or a promise to await when the caller must wait for space
   * @throws the first send or commit failure
   */
  add(record: BatchRecord): Promise<void> | undefined {
    this.#checkUsable();
    const bytes = record.value.length + keyLength(record.key) + 20;
    const open = this.#open;
    let waiting: Promise<void> | undefined;
    if (open.records.length > 0 && open.bytes + bytes > this.#maxBytes) waiting = this.#flush();
    const batch = this.#open;
    batch.records.push(record);
    batch.bytes += bytes;
    batch.position = record;
    if (batch.records.length >= this.#maxRecords || batch.bytes >= this.#maxBytes) {
      const next = this.#flush();
      waiting = waiting ? waiting.then(() => next) : next;
    } else this.#armTimer();
    return waiting;
  }

  /**
   * Moves the open batch's end position past an event that is not produced
   * (filtered, duplicate, canary, dead-lettered).
   *
   * @param position the event's position
   */
  mark(position: StreamPosition): void {
    this.#checkUsable();
    this.#open.position = position;
    this.#armTimer();
  }

  /**
   * Sends the open batch now.
   *
   * @returns a promise that resolves once the batch is queued
   */
  flush(): Promise<void> {
    return this.#flush() ?? Promise.resolve();
  }

  /**
   * Flushes, then waits until every batch is sent and committed.
   *
   * @throws the first send or commit failure
   */
  async close(): Promise<void> {
    if (!this.#failure) await this.flush().catch(() => {});
    this.#closed = true;
    this.#clearTimer();
    while (
      !this.#failure &&
      (this.#queue.length > 0 || this.#inFlight > 0 || this.#pendingEnqueues > 0)
    ) {
      await new Promise<void>((resolve) => this.#changeWaiters.push(resolve));
    }
    await this.#commitChain.catch(() => {});
    if (this.#failure) throw this.#failure.error;
  }

  #checkUsable(): void {
    if (this.#failure) throw this.#failure.error;
    if (this.#closed) throw new Error("Cannot add to a closed ProduceBatcher");
  }

  #newBatch(): ProduceBatch {
    return { seq: this.#nextSeq++, records: [], bytes: 0, position: undefined };
  }

  #armTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush()?.catch(() => {});
    }, this.#lingerMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): Promise<void> | undefined {
    this.#clearTimer();
    const batch = this.#open;
    if (batch.records.length === 0 && batch.position === undefined) return undefined;
    this.#open = this.#newBatch();
    if (this.#pendingEnqueues === 0 && this.#queue.length < this.#queueMax) {
      this.#queue.push(batch);
      this.#pump();
      return undefined;
    }
    this.#pendingEnqueues++;
    const enqueued = this.#enqueueChain.then(async () => {
      while (this.#queue.length >= this.#queueMax) {
        if (this.#failure) throw this.#failure.error;
        await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
      }
      if (this.#failure) throw this.#failure.error;
      this.#queue.push(batch);
      this.#pump();
    }).finally(() => {
      this.#pendingEnqueues--;
      this.#notifyChange();
    });
    this.#enqueueChain = enqueued.catch(() => {});
    return enqueued;
  }

  #pump(): void {
    while (!this.#failure && this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      this.#inFlight++;
      this.#spaceWaiters.shift()?.();
      this.#run(batch);
    }
  }

  async #run(batch: ProduceBatch): Promise<void> {
    try {
      if (batch.records.length > 0) await this.#send(batch);
      this.#completed.set(batch.seq, batch);
      await this.#commitReady();
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#inFlight--;
      this.#pump();
      this.#notifyChange();
    }
  }

  #commitReady(): Promise<void> {
    const next = this.#commitChain.then(async () => {
      if (this.#failure) return;
      const ready: ProduceBatch[] = [];
      while (this.#completed.has(this.#nextCommit)) {
        ready.push(this.#completed.get(this.#nextCommit)!);
        this.#completed.delete(this.#nextCommit);
        this.#nextCommit++;
      }
      if (ready.length > 0) await this.#commit(ready);
    });
    this.#commitChain = next.catch(() => {});
    return next;
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = { error };
    this.#clearTimer();
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    this.#notifyChange();
  }

  #notifyChange(): void {
    for (const wake of this.#changeWaiters.splice(0)) wake();
  }
}
