/**
 * Durable committed offsets of consumer groups: an append-only framed log
 * (`offsets.log`) of commit batches, replayed into a map on open (last commit wins)
 * and compacted on open when it holds many superseded entries.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { encodeFrame, FramedFile } from "./framed_file.ts";

/** One committed offset. */
export interface CommittedOffset {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** The next offset to read (Kafka's stored value). */
  offset: number;
  /** Free text stored with the commit. */
  metadata: string;
}

/** Options for {@linkcode OffsetStore.open}. */
export interface OffsetStoreOptions {
  /** Reports truncation and compaction. */
  log?: Logger;
}

type Entry = [topic: string, partition: number, offset: number, metadata: string];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Committed offsets per group, persisted before a commit is acknowledged. */
export class OffsetStore {
  #file: FramedFile;
  readonly #groups: Map<string, Map<string, CommittedOffset>>;

  private constructor(file: FramedFile, groups: Map<string, Map<string, CommittedOffset>>) {
    this.#file = file;
    this.#groups = groups;
  }

  /**
   * Opens the offsets log, replays it and compacts it when most entries are superseded.
   *
   * @param path the log file
   * @param options logger
   * @returns the store
   */
  static async open(path: string, options: OffsetStoreOptions = {}): Promise<OffsetStore> {
    const groups = new Map<string, Map<string, CommittedOffset>>();
    let entries = 0;
    const onFrame = (payload: Uint8Array) => {
      const batch = JSON.parse(decoder.decode(payload)) as { g: string; o: Entry[] };
      let group = groups.get(batch.g);
      if (!group) groups.set(batch.g, group = new Map());
      for (const [topic, partition, offset, metadata] of batch.o) {
        group.set(keyOf(topic, partition), { topic, partition, offset, metadata });
        entries++;
      }
    };
    let file = await FramedFile.open(path, { log: options.log, onFrame });
    let live = 0;
    for (const g of groups.values()) live += g.size;
    if (entries > 10_000 && entries > 4 * live) {
      await file.close();
      const tmp = `${path}.compact`;
      await Deno.remove(tmp).catch(() => {});
      const fresh = await FramedFile.open(tmp);
      await fresh.append([...groups].map(([g, offsets]) => frameOf(g, [...offsets.values()])));
      await fresh.close();
      await Deno.rename(tmp, path);
      options.log?.info("compacted the committed-offsets log", { path, entries, live });
      file = await FramedFile.open(path, { log: options.log });
    }
    return new OffsetStore(file, groups);
  }

  /**
   * Looks up a committed offset.
   *
   * @param group the consumer group
   * @param topic the topic
   * @param partition the partition
   * @returns the commit, or undefined when the group never committed this partition
   */
  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(group)?.get(keyOf(topic, partition));
  }

  /**
   * Stores offsets durably; resolves after the write is flushed to disk.
   *
   * @param group the consumer group
   * @param offsets the offsets to store (next offset to read)
   */
  async commit(group: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.#file.append([frameOf(group, offsets)]);
    let map = this.#groups.get(group);
    if (!map) this.#groups.set(group, map = new Map());
    for (const o of offsets) map.set(keyOf(o.topic, o.partition), { ...o });
  }

  /** Closes the log file. */
  close(): Promise<void> {
    return this.#file.close();
  }
}

function frameOf(group: string, offsets: readonly CommittedOffset[]): Uint8Array {
  const o: Entry[] = offsets.map((c) => [c.topic, c.partition, c.offset, c.metadata]);
  return encodeFrame(encoder.encode(JSON.stringify({ g: group, o })));
}
