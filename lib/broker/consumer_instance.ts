/**
 * One REST Proxy consumer instance: its configuration, subscription or manual
 * assignment, per-partition positions and the long-polling read of §4.6 of the
 * contract. Instances live in memory only, like the real proxy's.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { BrokerError, illegalState } from "./broker_error.ts";
import type { DataNotifier } from "./data_notifier.ts";
import type { CommittedOffset, OffsetStore } from "./offset_store.ts";
import { KEY_IS_JSON, type StoredRecord, VALUE_IS_JSON } from "./partition_log.ts";
import type { TopicStore } from "./topic_store.ts";

/** Embedded formats a local instance can use. */
export type ConsumerFormat = "binary" | "json";

/** Settings from the create-instance body. */
export interface InstanceConfig {
  /** Deserializer and required `Accept` of reads. */
  format: ConsumerFormat;
  /** Where a partition without a committed offset starts. */
  autoOffsetReset: "earliest" | "latest" | "none";
  /** Commit positions every 5 s during reads, on revocation and on close. */
  autoCommit: boolean;
  /** Return a read once more than this many key+value bytes are collected (−1 = off). */
  fetchMinBytes: number;
  /** Longest read wait in milliseconds. */
  requestTimeoutMs: number;
}

/** A read request. */
export interface ReadOptions {
  /** The `timeout` query parameter (only shortens the wait). */
  timeoutMs?: number;
  /** Byte cap for key+value bytes of the returned records. */
  maxBytes: number;
  /** Aborts the wait (broker shutdown). */
  signal?: AbortSignal;
}

/** Services an instance needs from the broker. */
export interface InstanceContext {
  /** Topics and their logs. */
  topics: TopicStore;
  /** Committed offsets. */
  offsets: OffsetStore;
  /** Wakes reads on append. */
  notifier: DataNotifier;
  /** Completes a pending group rebalance. */
  ensureAssignment(): Promise<void>;
  /** Current time in ms. */
  now(): number;
}

/** A partition currently assigned to an instance. */
export interface AssignedPartition {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Next offset to return; undefined when unresolved under `auto.offset.reset: none`. */
  position: number | undefined;
}

/** A subscription: topic names or a pattern. */
export type Subscription = { topics: string[] } | { pattern: RegExp };

const AUTO_COMMIT_INTERVAL_MS = 5000;
const decoder = new TextDecoder();
// Bytes produced in the binary format must be UTF-8 to be JSON (RFC 8259), as for the
// Confluent proxy, whose Jackson parser refuses invalid UTF-8 ("Invalid UTF-8 start byte").
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Key of a topic partition in maps.
 *
 * @param topic the topic
 * @param partition the partition
 * @returns a map key
 */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** One consumer instance of a group. */
export class ConsumerInstance {
  /** The group name. */
  readonly group: string;
  /** The instance id. */
  readonly id: string;
  /** The settings. */
  readonly config: InstanceConfig;
  /** Subscription, when subscribed. */
  subscription: Subscription | undefined;
  /** True after `POST …/assignments` (manual assignment mode). */
  manual = false;
  /** Last time a call touched the instance. */
  lastUsed: number;
  readonly #ctx: InstanceContext;
  #assignment = new Map<string, AssignedPartition>();
  #lock: Promise<unknown> = Promise.resolve();
  #lastAutoCommit: number;
  #rotation = 0;
  readonly #closed = new AbortController();

  /**
   * Creates a `ConsumerInstance`.
   *
   * @param group the group name
   * @param id the instance id
   * @param config the settings
   * @param ctx broker services
   */
  constructor(group: string, id: string, config: InstanceConfig, ctx: InstanceContext) {
    this.group = group;
    this.id = id;
    this.config = config;
    this.#ctx = ctx;
    this.lastUsed = ctx.now();
    this.#lastAutoCommit = this.lastUsed;
  }

  /** True once deleted or expired. */
  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** Aborted when the instance closes (ends a pending read). */
  get closedSignal(): AbortSignal {
    return this.#closed.signal;
  }

  /** Marks the instance closed and wakes a pending read. */
  markClosed(): void {
    this.#closed.abort();
  }

  /**
   * Runs `fn` with exclusive access to the instance (Kafka consumers are single-threaded).
   *
   * @param fn the operation
   * @returns its result
   */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Current assignment, in insertion order. */
  get assignment(): AssignedPartition[] {
    return [...this.#assignment.values()];
  }

  /**
   * Looks up an assigned partition.
   *
   * @param topic the topic
   * @param partition the partition
   * @returns the assigned partition, or undefined
   */
  assigned(topic: string, partition: number): AssignedPartition | undefined {
    return this.#assignment.get(partitionKey(topic, partition));
  }

  /**
   * Replaces the assignment; kept partitions keep their positions, new ones start at the
   * committed offset or per `auto.offset.reset`.
   *
   * @param partitions the new assignment
   */
  setAssignment(partitions: readonly [string, number][]): void {
    const next = new Map<string, AssignedPartition>();
    for (const [topic, partition] of partitions) {
      const key = partitionKey(topic, partition);
      next.set(key, this.#assignment.get(key) ?? this.#initialPosition(topic, partition));
    }
    this.#assignment = next;
  }

  #initialPosition(topic: string, partition: number): AssignedPartition {
    const committed = this.#ctx.offsets.get(this.group, topic, partition);
    let position: number | undefined;
    if (committed) position = committed.offset;
    else if (this.config.autoOffsetReset === "earliest") position = 0;
    else if (this.config.autoOffsetReset === "latest") {
      position = this.#ctx.topics.get(topic)?.partitions[partition]?.highWatermark ?? 0;
    }
    return { topic, partition, position };
  }

  /**
   * The positions of the given assigned partitions as commits (for auto-commit / empty commit).
   *
   * @param only restrict to these keys; all assigned partitions when absent
   * @returns offsets to commit
   */
  positionsToCommit(only?: ReadonlySet<string>): CommittedOffset[] {
    const out: CommittedOffset[] = [];
    for (const [key, a] of this.#assignment) {
      if (only && !only.has(key)) continue;
      if (a.position === undefined) continue;
      const committed = this.#ctx.offsets.get(this.group, a.topic, a.partition);
      if (committed?.offset === a.position) continue;
      out.push({ topic: a.topic, partition: a.partition, offset: a.position, metadata: "" });
    }
    return out;
  }

  /**
   * Long-polls for records and renders them as the JSON array body of `GET …/records`.
   *
   * @param options wait, byte cap and abort signal
   * @returns the JSON text of the records array and how many records it holds
   * @throws {BrokerError} 500 without subscription/assignment, 408 40801 on non-JSON data
   */
  async read(options: ReadOptions): Promise<{ body: string; count: number }> {
    const started = this.#ctx.now();
    let wait = this.config.requestTimeoutMs;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      wait = Math.min(wait, options.timeoutMs);
    }
    const deadline = started + wait;
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.#closed.signal])
      : this.#closed.signal;
    const parts: string[] = [];
    let bytes = 0;
    const minBytes = this.config.fetchMinBytes;
    for (;;) {
      await this.#ctx.ensureAssignment();
      if (!this.subscription && !this.manual) {
        throw new BrokerError(500, 500, "Internal Server Error");
      }
      this.lastUsed = this.#ctx.now();
      await this.#maybeAutoCommit();
      const round = await this.#collect(options.maxBytes - bytes, parts);
      bytes += round.bytes;
      if (round.capped) break;
      if (minBytes >= 0 && bytes > minBytes) break;
      const left = deadline - this.#ctx.now();
      if (left <= 0 || signal.aborted) break;
      await this.#ctx.notifier.wait(left, signal);
    }
    this.lastUsed = this.#ctx.now();
    return { body: `[${parts.join(",")}]`, count: parts.length };
  }

  async #maybeAutoCommit(): Promise<void> {
    if (!this.config.autoCommit) return;
    const now = this.#ctx.now();
    if (now - this.#lastAutoCommit < AUTO_COMMIT_INTERVAL_MS) return;
    this.#lastAutoCommit = now;
    await this.#ctx.offsets.commit(this.group, this.positionsToCommit());
  }

  /** One pass over the assigned partitions; appends rendered records to `parts`. */
  async #collect(
    budget: number,
    parts: string[],
  ): Promise<{ bytes: number; capped: boolean }> {
    const assigned = [...this.#assignment.values()];
    let bytes = 0;
    const n = assigned.length;
    const start = n === 0 ? 0 : this.#rotation++ % n;
    for (let i = 0; i < n; i++) {
      const a = assigned[(start + i) % n]!;
      const log = this.#ctx.topics.get(a.topic)?.partitions[a.partition];
      if (!log) continue;
      if (a.position === undefined) {
        throw new BrokerError(
          500,
          50002,
          `Undefined offset with no reset policy for partitions: [${a.topic}-${a.partition}]`,
        );
      }
      const hwm = log.highWatermark;
      let end = a.position;
      let capped = false;
      while (end < hwm) {
        const size = log.recordSize(end);
        if (bytes + size >= budget) {
          capped = true;
          break;
        }
        bytes += size;
        end++;
      }
      if (end > a.position) {
        const records = await log.read(a.position, end);
        const rendered = this.#render(a.topic, a.partition, records);
        for (const r of rendered.parts) parts.push(r);
        a.position = rendered.next;
        if (rendered.error) {
          if (parts.length > 0) return { bytes, capped: true };
          throw rendered.error;
        }
      }
      if (capped) return { bytes, capped: true };
    }
    return { bytes, capped: false };
  }

  #render(
    topic: string,
    partition: number,
    records: StoredRecord[],
  ): { parts: string[]; next: number; error?: BrokerError } {
    const parts: string[] = [];
    const topicJson = JSON.stringify(topic);
    const json = this.config.format === "json";
    for (const r of records) {
      let key: string;
      let value: string;
      if (json) {
        const k = jsonText(r.key, (r.flags & KEY_IS_JSON) !== 0);
        const v = jsonText(r.value, (r.flags & VALUE_IS_JSON) !== 0);
        if (k === undefined || v === undefined) {
          const what = k === undefined ? "key" : "value";
          return {
            parts,
            next: r.offset,
            error: new BrokerError(
              408,
              40801,
              `Unable to deserialize ${what} of record at offset ${r.offset} in ${topic}-${partition}: not valid JSON (or not UTF-8); seek past it or read with format binary`,
            ),
          };
        }
        key = k;
        value = v;
      } else {
        key = r.key === null ? "null" : `"${Buffer.from(r.key).toString("base64")}"`;
        value = r.value === null ? "null" : `"${Buffer.from(r.value).toString("base64")}"`;
      }
      parts.push(
        `{"topic":${topicJson},"key":${key},"value":${value},"partition":${partition},"offset":${r.offset}}`,
      );
    }
    return { parts, next: (records.at(-1)?.offset ?? -1) + 1 };
  }

  /**
   * Sets the position of an assigned partition.
   *
   * @param topic the topic
   * @param partition the partition
   * @param offset the next offset to read
   * @throws {BrokerError} 40903 when the partition is not assigned
   */
  seek(topic: string, partition: number, offset: number): void {
    const a = this.#assignment.get(partitionKey(topic, partition));
    if (!a) throw illegalState(`No current assignment for partition ${topic}-${partition}`);
    a.position = offset;
  }
}

function jsonText(bytes: Uint8Array | null, known: boolean): string | undefined {
  if (bytes === null) return "null";
  if (known) return decoder.decode(bytes);
  try {
    const text = strictDecoder.decode(bytes);
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}
