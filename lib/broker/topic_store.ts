/**
 * The broker's topics: a durable registry (`topics.log`, one frame per created topic)
 * and one {@linkcode PartitionLog} per partition under `topics/<topic>/<partition>.log`.
 * Topics are created on first use, as with Kafka's `auto.create.topics.enable=true`.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { encodeFrame, FramedFile } from "./framed_file.ts";
import { PartitionLog } from "./partition_log.ts";

/** A topic and its partition logs. */
export interface Topic {
  /** Topic name. */
  readonly name: string;
  /** Partition logs, index = partition number. */
  readonly partitions: readonly PartitionLog[];
}

/** Options for {@linkcode TopicStore.open}. */
export interface TopicStoreOptions {
  /** Reports recovery. */
  log?: Logger;
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
  readonly #log: Logger | undefined;
  #version = 0;

  private constructor(
    dataDir: string,
    registry: FramedFile,
    topics: Map<string, Topic>,
    log: Logger | undefined,
  ) {
    this.#dataDir = dataDir;
    this.#registry = registry;
    this.#topics = topics;
    this.#log = log;
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
        topics.set(d.topic, await openTopic(dataDir, d.topic, d.partitions, options.log));
      }
    } catch (error) {
      for (const t of topics.values()) for (const p of t.partitions) await p.close();
      await registry.close();
      throw error;
    }
    return new TopicStore(dataDir, registry, topics, options.log);
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
    const topic = await openTopic(this.#dataDir, name, partitions, this.#log);
    await this.#registry.append([
      encodeFrame(encoder.encode(JSON.stringify({ topic: name, partitions }))),
    ]);
    this.#topics.set(name, topic);
    this.#version++;
    this.#log?.info("created topic", { topic: name, partitions });
    return topic;
  }

  /** Waits for writes and closes every file. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#creating.values()]);
    for (const t of this.#topics.values()) for (const p of t.partitions) await p.close();
    await this.#registry.close();
  }
}

async function openTopic(
  dataDir: string,
  name: string,
  partitions: number,
  log: Logger | undefined,
): Promise<Topic> {
  const dir = `${dataDir}/topics/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const logs: PartitionLog[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      logs.push(await PartitionLog.open(`${dir}/${p}.log`, { log }));
    }
  } catch (error) {
    for (const l of logs) await l.close();
    throw error;
  }
  return { name, partitions: logs };
}
