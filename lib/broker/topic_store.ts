/**
 * The broker's topics: a durable registry (`topics.log`, one frame per created topic)
 * and one {@linkcode PartitionLog} per partition under `topics/<topic>/<partition>.log`.
 * Topics are created on first use, as with Kafka's `auto.create.topics.enable=true`, up to a
 * number of topics and of partitions in all; a creation that fails leaves no directory.
 * Partition files are opened through a bounded {@linkcode PartitionHandleCache}, so the
 * descriptors held do not grow with the topics.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { BrokerError } from "./broker_error.ts";
import { encodeFrame, FramedFile } from "./framed_file.ts";
import type { PartitionHandleCache } from "./partition_handle_cache.ts";
import { PartitionLog, type PartitionLogOptions } from "./partition_log.ts";

/** A topic and its partition logs. */
export interface Topic {
  /** Topic name. */
  readonly name: string;
  /** Partition logs, index = partition number. */
  readonly partitions: readonly PartitionLog[];
}

/** Opens one partition log; {@linkcode TopicStoreOptions.openPartition}. */
export type OpenPartition = (path: string, options: PartitionLogOptions) => Promise<PartitionLog>;

/** Options for {@linkcode TopicStore.open}. */
export interface TopicStoreOptions {
  /** Reports recovery. */
  log?: Logger;
  /** Opens partition files on use and closes them when idle. @default files stay open */
  handles?: PartitionHandleCache;
  /** Most topics; creating one more fails with 40002 (existing topics always load). @default no limit */
  maxTopics?: number;
  /** Most partitions of all topics together, likewise. @default no limit */
  maxPartitions?: number;
  /** Opens a partition log (tests inject failures here). @default PartitionLog.open */
  openPartition?: OpenPartition;
}

const LEGAL_TOPIC_REGEXP = /^[a-zA-Z0-9._-]{1,249}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Checks a topic name against Kafka's rules.
 *
 * @param name the topic name
 * @returns an error text, or undefined when legal
 */
export function topicNameProblem(name: string): string | undefined {
  if (!LEGAL_TOPIC_REGEXP.test(name) || name === "." || name === "..") {
    return `Invalid topic name "${name}": use 1 to 249 characters of [a-zA-Z0-9._-]`;
  }
  return undefined;
}

/** Every topic of the broker, with on-demand creation. */
export class TopicStore {
  readonly #dataDir: string;
  readonly #registry: FramedFile;
  readonly #topics: Map<string, Topic>;
  readonly #creating = new Map<string, Promise<Topic>>();
  readonly #options: TopicStoreOptions;
  #partitions = 0;
  #creatingPartitions = 0;
  #version = 0;

  private constructor(
    dataDir: string,
    registry: FramedFile,
    topics: Map<string, Topic>,
    options: TopicStoreOptions,
  ) {
    this.#dataDir = dataDir;
    this.#registry = registry;
    this.#topics = topics;
    this.#options = options;
    for (const t of topics.values()) this.#partitions += t.partitions.length;
  }

  /**
   * Opens the registry and every partition log (rebuilding indexes, truncating torn tails).
   *
   * @param dataDir the broker's data directory
   * @param options logger
   * @returns the store
   */
  static async open(dataDir: string, options: TopicStoreOptions = {}): Promise<TopicStore> {
    const declared: { topic: string; partitions: number }[] = [];
    const registry = await FramedFile.open(`${dataDir}/topics.log`, {
      log: options.log,
      onFrame: (payload) => declared.push(JSON.parse(decoder.decode(payload))),
    });
    const topics = new Map<string, Topic>();
    try {
      for (const d of declared) {
        if (topics.has(d.topic)) continue;
        const logs = await openPartitions(`${dataDir}/topics/${d.topic}`, d.partitions, options);
        topics.set(d.topic, { name: d.topic, partitions: logs });
      }
    } catch (error) {
      for (const t of topics.values()) for (const p of t.partitions) await p.close();
      await registry.close();
      throw error;
    }
    return new TopicStore(dataDir, registry, topics, options);
  }

  /** Partitions of all topics. */
  get partitionCount(): number {
    return this.#partitions;
  }

  /** Increases whenever a topic is created (lets groups notice new topics). */
  get version(): number {
    return this.#version;
  }

  /** Topic names, sorted. */
  names(): string[] {
    return [...this.#topics.keys()].sort();
  }

  /**
   * Looks up a topic.
   *
   * @param name the topic
   * @returns the topic, or undefined
   */
  get(name: string): Topic | undefined {
    return this.#topics.get(name);
  }

  /**
   * Returns a topic, creating it durably with `partitions` partitions when missing.
   *
   * @param name a legal topic name
   * @param partitions partition count for a new topic
   * @returns the topic
   */
  getOrCreate(name: string, partitions: number): Promise<Topic> {
    const existing = this.#topics.get(name);
    if (existing) return Promise.resolve(existing);
    let pending = this.#creating.get(name);
    if (!pending) {
      pending = this.#create(name, partitions).finally(() => this.#creating.delete(name));
      this.#creating.set(name, pending);
    }
    return pending;
  }

  async #create(name: string, partitions: number): Promise<Topic> {
    const problem = topicNameProblem(name);
    if (problem) throw new TypeError(problem);
    this.#checkLimits(name, partitions);
    this.#creatingPartitions += partitions;
    try {
      const topic = await this.#createDurably(name, partitions);
      this.#topics.set(name, topic);
      this.#partitions += partitions;
      this.#version++;
      this.#options.log?.info("created topic", { topic: name, partitions });
      return topic;
    } finally {
      this.#creatingPartitions -= partitions;
    }
  }

  /** Throws 40002 when one more topic of `partitions` partitions would pass a limit. */
  #checkLimits(name: string, partitions: number): void {
    const maxTopics = this.#options.maxTopics ?? Infinity;
    // this creation is not in #creating yet: the others are
    const topics = this.#topics.size + this.#creating.size;
    if (topics >= maxTopics) {
      throw new BrokerError(
        400,
        40002,
        `Cannot create topic "${name}": the broker has ${topics} topics, its limit ` +
          `(BROKER_MAX_TOPICS) is ${maxTopics}`,
        { refusal: "topics" },
      );
    }
    const maxPartitions = this.#options.maxPartitions ?? Infinity;
    const held = this.#partitions + this.#creatingPartitions;
    if (held + partitions > maxPartitions) {
      throw new BrokerError(
        400,
        40002,
        `Cannot create topic "${name}" with ${partitions} partitions: the broker has ${held} ` +
          `partitions, its limit (BROKER_MAX_PARTITIONS) is ${maxPartitions}`,
        { refusal: "partitions" },
      );
    }
  }

  /** Creates the partition files, then registers the topic; on failure removes what it made. */
  async #createDurably(name: string, partitions: number): Promise<Topic> {
    const dir = `${this.#dataDir}/topics/${name}`;
    await Deno.mkdir(`${this.#dataDir}/topics`, { recursive: true });
    let made = true;
    try {
      await Deno.mkdir(dir);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      made = false; // left by a crash before the topic was registered: its files are empty
    }
    let logs: PartitionLog[] = [];
    try {
      logs = await openPartitions(dir, partitions, this.#options);
      await this.#registry.append([
        encodeFrame(encoder.encode(JSON.stringify({ topic: name, partitions }))),
      ]);
      return { name, partitions: logs };
    } catch (error) {
      for (const l of logs) await l.close().catch(() => {});
      if (made) await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Waits for writes and closes every file. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#creating.values()]);
    for (const t of this.#topics.values()) for (const p of t.partitions) await p.close();
    await this.#registry.close();
  }
}

async function openPartitions(
  dir: string,
  partitions: number,
  options: TopicStoreOptions,
): Promise<PartitionLog[]> {
  await Deno.mkdir(dir, { recursive: true });
  const open: OpenPartition = options.openPartition ?? ((path, o) => PartitionLog.open(path, o));
  const logOptions: PartitionLogOptions = { log: options.log, handles: options.handles };
  const logs: PartitionLog[] = [];
  try {
    for (let p = 0; p < partitions; p++) logs.push(await open(`${dir}/${p}.log`, logOptions));
  } catch (error) {
    for (const l of logs) await l.close().catch(() => {});
    throw error;
  }
  return logs;
}
