/**
 * {@linkcode PartitionLanes}: the partitions one consumer holds, and the decisions that keep
 * each lane in step with the lake whatever the proxy delivers: taking a partition on with its
 * first record, skipping what the lake or the open unit holds, reading the lake again and
 * sending the proxy back when a record is ahead of the wanted offset (another owner moved
 * the lake on) or a claim was lost, and dropping the partitions the proxy no longer assigns.
 * The `DEDUPE_WINDOW` is shared: each lane keeps its share.
 *
 * @module
 */
import type { ConsumeContext } from "./consume_context.ts";
import { loadLane } from "./lake_recovery.ts";
import type { PartitionLane } from "./partition_lane.ts";

/**
 * Send-backs to one offset, on one consumer instance, after which records still ahead of it
 * prove that the topic has nothing in between (retention, compaction).
 */
export const GAP_REWINDS: number = 3;

/** The lanes of one consumer run. */
export class PartitionLanes {
  #ctx: ConsumeContext;
  #lanes = new Map<number, PartitionLane>();
  // partitions whose remaining records in the current read are ignored: the proxy was sent
  // back to an earlier offset
  #rewound = new Set<number>();

  /**
   * Creates the lanes of a run (none until the first record arrives).
   *
   * @param ctx the session, the protocol, the config, the stats and the signals
   */
  constructor(ctx: ConsumeContext) {
    this.#ctx = ctx;
  }

  /** The lanes, in no particular order. */
  all(): PartitionLane[] {
    return [...this.#lanes.values()];
  }

  /** Bytes buffered by every lane's open unit and rebuild. */
  get bufferBytes(): number {
    let total = 0;
    for (const lane of this.#lanes.values()) total += lane.bufferBytes;
    return total;
  }

  /** Starts a new read: every partition's records are considered again. */
  startRead(): void {
    this.#rewound.clear();
  }

  /**
   * Says which lane takes a record, or `undefined` when it is skipped (already in the lake or
   * the open unit, below a rebuild, or after the proxy was sent back in this read).
   *
   * @param partition the record's partition
   * @param offset the record's offset
   * @returns the lane, or `undefined`
   */
  async place(partition: number, offset: number): Promise<PartitionLane | undefined> {
    const { stats, log, clock } = this.#ctx;
    if (this.#rewound.has(partition)) return undefined;
    let lane = this.#lanes.get(partition) ?? await this.#takeOn(partition);
    let offer = lane.offer(offset);
    if (offer === "ahead" && !this.#sentBackOnThisInstance(lane)) {
      // the first time, or the instance the proxy was sent back on is gone: read the lake again
      lane = await this.reload(lane, `offset ${offset} is ahead of ${lane.wanted}`);
      offer = lane.offer(offset);
    }
    if (offer === "ahead" && lane.rewinds < GAP_REWINDS) {
      // a send-back can be lost (the proxy restarted, the instance was replaced between the
      // seek and the read): only a repeated one that still lands ahead proves a gap
      await this.rewind(lane);
      return undefined;
    }
    if (offer === "ahead") {
      // sent back GAP_REWINDS times on this instance, and still ahead: nothing in between
      log.warn("the topic has no records between the lake's position and this one", {
        partition,
        from: lane.wanted,
        to: offset - 1,
      });
      stats.offsetGaps++;
      if (lane.redo) lane.redo.reached = Math.min(offset, lane.redo.manifest.ranges[0]!.end) - 1;
      else lane.next = offset;
    }
    if (offer === "skip") {
      stats.recordsSkipped++;
      const redo = lane.redo;
      if (redo && offset > redo.approached) {
        // moving towards a rebuild's range is progress, however long the catch-up takes
        redo.approached = offset;
        redo.progressAt = clock.now();
      }
      return undefined;
    }
    lane.rewoundTo = undefined;
    lane.rewinds = 0;
    return lane;
  }

  /**
   * Reads the partition's state in the lake again, replacing the lane (and dropping what it
   * held).
   *
   * @param lane the lane to replace
   * @param why for the log
   * @returns the new lane
   */
  async reload(lane: PartitionLane, why: string): Promise<PartitionLane> {
    this.drop(lane, why);
    return await this.#takeOn(lane.partition);
  }

  /**
   * Sends the proxy back to the lane's wanted offset (a seek, or on Redpanda a new instance,
   * which resumes from the committed offsets: they never run ahead of the lake) and ignores
   * the partition's remaining records in this read.
   *
   * @param lane the lane
   */
  async rewind(lane: PartitionLane): Promise<void> {
    this.#rewound.add(lane.partition);
    const wanted = lane.wanted;
    if (wanted === undefined) return;
    lane.rewinds = lane.rewoundTo === wanted ? lane.rewinds + 1 : 1;
    lane.rewoundTo = wanted;
    this.#ctx.stats.rewinds++;
    await this.#ctx.session.rewind(lane.partition, wanted, this.#ctx.signal);
    lane.rewoundGeneration = this.#ctx.session.generation;
  }

  // the proxy was sent back to the lane's wanted offset, on the instance that reads now
  #sentBackOnThisInstance(lane: PartitionLane): boolean {
    return lane.rewoundTo === lane.wanted &&
      lane.rewoundGeneration === this.#ctx.session.generation;
  }

  /**
   * Forgets a partition with what its lane holds (never committed, so safe to drop).
   *
   * @param lane the lane
   * @param why for the log
   */
  drop(lane: PartitionLane, why: string): void {
    this.#lanes.delete(lane.partition);
    this.#shareWindow();
    if (lane.unit || lane.redo) {
      this.#ctx.log.info("partition dropped with its open unit", {
        partition: lane.partition,
        why,
        records: (lane.unit?.recordCount ?? 0) + (lane.redo?.unit.recordCount ?? 0),
      });
    }
  }

  /** Drops the lanes of partitions the proxy no longer assigns (where it can say). */
  async checkAssignment(): Promise<void> {
    const { session, topic, signal, stats, log } = this.#ctx;
    const owned = await session.assignments(topic, signal);
    if (owned === undefined) return;
    const set = new Set(owned);
    for (const lane of this.all()) if (!set.has(lane.partition)) this.drop(lane, "revoked");
    const before = stats.partitionsOwned;
    if (before.length !== owned.length || before.some((p, i) => p !== owned[i])) {
      stats.rebalances++;
      stats.partitionsOwned = owned;
      log.info("partitions owned", { partitions: owned.join(",") || "none" });
    }
  }

  /** Copies each lane's lake position and event time into the stats (for metrics). */
  publishPositions(): void {
    this.#ctx.stats.lanes = new Map(
      this.all().map((l) => [l.partition, {
        lakeEnd: l.lakeEnd,
        newestEventTimeMs: l.newestEventTimeMs,
      }]),
    );
  }

  async #takeOn(partition: number): Promise<PartitionLane> {
    const lane = await loadLane(this.#ctx, partition, this.#windowShare(this.#lanes.size + 1));
    this.#lanes.set(partition, lane);
    this.#shareWindow();
    return lane;
  }

  // each lane's share spans about the time the whole window spans for the whole topic
  #windowShare(count: number): number {
    return Math.ceil(this.#ctx.config.dedupeWindow / Math.max(1, count));
  }

  #shareWindow(): void {
    const share = this.#windowShare(this.#lanes.size);
    for (const lane of this.#lanes.values()) lane.window.resize(share);
  }
}
