/**
 * {@linkcode PositionCheckpoint}: after each acknowledged run of batches, saves the stream
 * position (never past an unacknowledged event) and the acknowledged `meta.id`s to the
 * state store, so a restart resumes there and drops what it already produced.
 *
 * @module
 */
import type { Clock } from "../cli/delay.ts";
import type { ProduceBatch, StreamPosition } from "./produce_batcher.ts";
import type { ProducerState, ProducerStateStore } from "./producer_state_store.ts";
import type { ProducerStats } from "./producer_stats.ts";

/** The last `capacity` acknowledged ids with their `meta.dt`, in a ring buffer (O(1) push). */
class CommittedIds {
  #ids: string[];
  #times: Float64Array;
  #next = 0;
  #size = 0;
  constructor(capacity: number) {
    this.#ids = new Array<string>(capacity);
    this.#times = new Float64Array(capacity);
  }
  push(id: string, timeMs: number): void {
    this.#ids[this.#next] = id;
    this.#times[this.#next] = timeMs;
    this.#next = (this.#next + 1) % this.#ids.length;
    if (this.#size < this.#ids.length) this.#size++;
  }
  since(cutoffMs: number): string[] {
    const out: string[] = [];
    const capacity = this.#ids.length;
    for (let n = 0, i = (this.#next - this.#size + capacity) % capacity; n < this.#size; n++) {
      if (this.#times[i]! >= cutoffMs) out.push(this.#ids[i]!);
      i = i + 1 === capacity ? 0 : i + 1;
    }
    return out;
  }
}

/** Options for {@linkcode PositionCheckpoint}. */
export interface PositionCheckpointOptions {
  /** Where the position and the ids are saved. */
  store: ProducerStateStore;
  /** Counters (`lastAckedEventTimeMs`, `stateSaves`). */
  stats: ProducerStats;
  /** Clock (for `savedAtMs`). */
  clock: Clock;
  /** How many acknowledged ids are kept (`--dedupe-ids`). */
  capacity: number;
  /** The resume margin; a snapshot keeps the ids of twice that before the newest event. */
  marginMs: number;
  /** The state loaded at start, whose ids and newest event time are carried on. */
  saved: ProducerState | undefined;
}

/** Saves the acknowledged stream position and ids; one per run. */
export class PositionCheckpoint {
  readonly #store: ProducerStateStore;
  readonly #stats: ProducerStats;
  readonly #clock: Clock;
  readonly #margin: number;
  readonly #committed: CommittedIds;
  #lastCommitted: StreamPosition | undefined;
  #maxCommittedTime: number;
  // Ids acknowledged but not yet saved (a batch that only moves the position adds none).
  #unsavedIds: string[] = [];

  /**
   * Creates the checkpoint, carrying on the ids of the state loaded at start.
   *
   * @param options the store, counters and the state loaded at start
   */
  constructor(options: PositionCheckpointOptions) {
    this.#store = options.store;
    this.#stats = options.stats;
    this.#clock = options.clock;
    this.#margin = options.marginMs;
    this.#committed = new CommittedIds(options.capacity);
    const saved = options.saved;
    if (saved) {
      for (let i = 0; i < saved.recentIds.length; i++) {
        this.#committed.push(saved.recentIds[i]!, saved.recentIdTimesMs[i]!);
      }
    }
    this.#maxCommittedTime = saved?.lastEventTimeMs ?? 0;
  }

  /**
   * Records acknowledged batches and saves the newest position they reach.
   *
   * @param batches acknowledged batches, in stream order
   */
  async commit(batches: ProduceBatch[]): Promise<void> {
    const stats = this.#stats;
    for (const batch of batches) {
      for (const r of batch.records) {
        this.#committed.push(r.metaId, r.eventTimeMs);
        this.#unsavedIds.push(r.metaId);
        if (r.eventTimeMs > this.#maxCommittedTime) this.#maxCommittedTime = r.eventTimeMs;
      }
      if (batch.position) this.#lastCommitted = batch.position;
    }
    const lastCommitted = this.#lastCommitted;
    if (lastCommitted === undefined) return;
    if (lastCommitted.eventTimeMs !== null) stats.lastAckedEventTimeMs = lastCommitted.eventTimeMs;
    const added = this.#unsavedIds;
    const maxCommittedTime = this.#maxCommittedTime;
    await this.#store.save({
      lastEventId: lastCommitted.sseId,
      lastEventTimeMs: lastCommitted.eventTimeMs ?? stats.lastAckedEventTimeMs,
      savedAtMs: this.#clock.now(),
    }, {
      added,
      timeMs: maxCommittedTime,
      snapshot: () => ({
        ids: this.#committed.since(this.#maxCommittedTime - 2 * this.#margin),
        timeMs: this.#maxCommittedTime,
      }),
    });
    if (this.#unsavedIds === added) this.#unsavedIds = [];
    stats.stateSaves++;
  }
}
