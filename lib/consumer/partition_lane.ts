/**
 * {@linkcode PartitionLane}: what one consumer knows and holds for one Kafka partition it
 * reads: the lake's position there (loaded when the partition is taken on), the next unit's
 * sequence number, the open unit or the rebuild of an incomplete one, the partition's
 * dedupe window, and whether the proxy was already asked to go back to the wanted offset.
 *
 * @module
 */
import type { LakeUnit } from "../lake/lake_writer.ts";
import type { UnitManifest } from "../lake/unit_manifest.ts";
import type { DedupeWindow } from "./dedupe_window.ts";

/** The rebuild of a partition's incomplete newest unit. */
export interface RedoWork {
  /** The incomplete unit's manifest (written by whoever claimed it). */
  manifest: UnitManifest;
  /** The unit being rebuilt from the manifest's range. */
  unit: LakeUnit;
  /** Last offset of the range taken so far (start − 1 before the first). */
  reached: number;
  /** Highest offset below the range seen (the proxy catching up towards it). */
  approached: number;
  /** When a record of the range, or one closer to it, last arrived (epoch ms). */
  progressAt: number;
}

/** What to do with an offered record. */
export type Offer = "take" | "skip" | "ahead";

/** One partition's state in this consumer. */
export class PartitionLane {
  /** The Kafka partition. */
  readonly partition: number;
  /** The partition's dedupe window (event ids of its newest units). */
  readonly window: DedupeWindow;
  /** Sequence number of the next unit to claim. */
  seq: number;
  /** Next offset to take when no rebuild runs; `undefined` takes the first offered. */
  next: number | undefined;
  /** Last offset in the lake's committed units, if any. */
  lakeEnd: number | undefined;
  /** The open unit. */
  unit: LakeUnit | undefined;
  /** The rebuild of an incomplete unit, which comes before any new unit. */
  redo: RedoWork | undefined;
  /** The wanted offset the proxy was last sent back to (a seek or a new instance). */
  rewoundTo: number | undefined;
  /** How many times in a row the proxy was sent back to `rewoundTo`. */
  rewinds = 0;
  /** The session's instance generation right after the last send-back. */
  rewoundGeneration: number | undefined;
  /** Newest `event_time` in the partition's committed units (epoch ms), if known. */
  newestEventTimeMs: number | undefined;

  /**
   * Creates a lane that resumes after the lake's newest unit of the partition.
   *
   * @param partition the Kafka partition
   * @param window the partition's dedupe window, loaded
   * @param last the partition's newest complete unit, if any
   */
  constructor(partition: number, window: DedupeWindow, last: UnitManifest | undefined) {
    this.partition = partition;
    this.window = window;
    this.seq = last ? last.seq + 1 : 0;
    this.lakeEnd = last ? last.ranges[0]!.end : undefined;
    this.next = this.lakeEnd === undefined ? undefined : this.lakeEnd + 1;
  }

  /** The next offset this lane needs, if it knows one. */
  get wanted(): number | undefined {
    return this.redo ? this.redo.reached + 1 : this.next;
  }

  /**
   * Says what to do with a record at `offset`: take it, skip it (already in the lake or in
   * the open unit, or below a rebuild's range), or notice that it is ahead of what is
   * wanted (the proxy skipped records, or another owner moved the lake on).
   *
   * @param offset the record's offset
   * @returns the decision
   */
  offer(offset: number): Offer {
    const wanted = this.wanted;
    if (wanted === undefined) return "take";
    if (offset < wanted) return "skip";
    return offset === wanted ? "take" : "ahead";
  }

  /** Records buffered in the open unit or the rebuild. */
  get bufferBytes(): number {
    return (this.unit?.bufferBytes ?? 0) + (this.redo?.unit.bufferBytes ?? 0);
  }
}
