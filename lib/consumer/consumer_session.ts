/**
 * Keeps one REST Proxy consumer instance usable for the pipeline: creates and
 * subscribes it on demand; after a 40403 (instance expired, proxy restarted), a
 * network error or a 5xx during a read, drops it and creates a new one that
 * resumes from the committed offsets (a lost read response must not leave a gap,
 * contract §4.6); turns a 40801 (non-JSON record at the head) into a
 * {@linkcode PoisonRecord} and seeks past it; retries commits that failed after
 * the next successful read; pings the instance while the caller is busy.
 *
 * It also says which partitions the proxy assigns ({@linkcode ConsumerSession.assignments})
 * and sends the proxy back to an offset ({@linkcode ConsumerSession.rewind}: a seek, or a new
 * instance resuming from the committed offsets).
 *
 * Redpanda (`flavor: "redpanda"`) has no `…/assignments` and no `…/positions`: a consumer
 * learns what it owns only from the partitions of the records it receives, a rewind is a new
 * instance, and
 * the keep-alive re-sends the last successful commit instead (a commit refreshes
 * Redpanda's consumer inactivity timer and changes nothing, the offsets being
 * already stored; before the first commit there is nothing safe to send, so
 * the first upload must finish within `pandaproxy_client.consumer_session_timeout_ms`
 * or the next call gets 40403 and the instance is re-created), and a non-JSON
 * record stops the consumer with an explanation, since it cannot be skipped.
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type {
  ConsumerClient,
  ConsumerRecord,
  PartitionOffset,
} from "../rest_proxy/rest_consumer_client.ts";
import { type RestFlavor, restFlavorCanSeek } from "../rest_proxy/rest_flavor.ts";
import { RestProxyError } from "../rest_proxy/rest_proxy_error.ts";

/** A record the proxy could not return as JSON (40801); the caller dead-letters it. */
export interface PoisonRecord {
  /** Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
  /** The proxy's message. */
  message: string;
}

/** What one {@linkcode ConsumerSession.read} produced. */
export interface SessionRead {
  /** Records, possibly none. */
  records: ConsumerRecord[];
  /** A record that was skipped because it is not JSON. */
  poison?: PoisonRecord;
}

/** Options for {@linkcode ConsumerSession}. */
export interface ConsumerSessionOptions {
  /** The consumer-instance client. */
  client: ConsumerClient;
  /** Topic to subscribe to. */
  topic: string;
  /** Logger. */
  log: Logger;
  /** Interval of keep-alive calls while the caller is busy. @default 3000 */
  heartbeatMs?: number;
  /** Delays between failed instance set-ups and reads. @default 500 ms doubling to 15 s */
  backoff?: Backoff;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Called when an instance is created. */
  onInstanceCreated?: () => void;
  /** REST Proxy dialect (keep-alive and poison handling). @default "confluent" */
  flavor?: RestFlavor;
}

/**
 * Extracts partition and offset from a 40801 message, when the proxy names them.
 *
 * @param message the proxy's error message
 * @returns the position, or `undefined`
 */
export function parsePoisonPosition(
  message: string,
): { partition: number; offset: number } | undefined {
  const offset = /offset[\s:=]+(\d+)/i.exec(message);
  const partition = /partition[\s:=]+(\d+)/i.exec(message) ?? /\bin\s+\S+-(\d+)\b/i.exec(message);
  if (!offset || !partition) return undefined;
  return { partition: Number(partition[1]), offset: Number(offset[1]) };
}

/** One live consumer instance with automatic re-creation. */
export class ConsumerSession {
  #client: ConsumerClient;
  #topic: string;
  #log: Logger;
  #heartbeatMs: number;
  #backoff: Backoff;
  #clock: Clock;
  #ready = false;
  #generation = 0;
  #pendingCommit = new Map<number, PartitionOffset>();
  #lastCommitted: PartitionOffset[] | undefined;
  #flavor: RestFlavor;
  #onInstanceCreated: (() => void) | undefined;

  /**
   * Creates an instance.
   *
   * @param options client, topic, logger and timing
   */
  constructor(options: ConsumerSessionOptions) {
    this.#client = options.client;
    this.#topic = options.topic;
    this.#log = options.log;
    this.#heartbeatMs = options.heartbeatMs ?? 3000;
    this.#backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 15_000 });
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#onInstanceCreated = options.onInstanceCreated;
    this.#flavor = options.flavor ?? "confluent";
  }

  /** True when a commit failed and waits for the next successful read. */
  get commitPending(): boolean {
    return this.#pendingCommit.size > 0;
  }

  /** How many instances this session has created: changes when the instance was replaced. */
  get generation(): number {
    return this.#generation;
  }

  async #ensure(signal: AbortSignal): Promise<void> {
    if (this.#ready) return;
    await this.#client.create(signal);
    await this.#client.subscribe([this.#topic], signal);
    this.#ready = true;
    this.#generation++;
    this.#onInstanceCreated?.();
    this.#log.info("consumer instance ready", { instance: this.#client.instanceId });
  }

  /**
   * Drops the current instance (best-effort delete) so the next read creates a new one that
   * resumes from the committed offsets.
   *
   * @param signal aborts the delete
   */
  async reset(signal?: AbortSignal): Promise<void> {
    this.#ready = false;
    try {
      await this.#client.delete(signal);
    } catch (error) {
      this.#log.debug("cannot delete the old consumer instance", { error });
    }
  }

  /**
   * Reads once. Never throws for conditions a new instance fixes; waits with backoff then.
   *
   * @param signal stops the read
   * @returns records (maybe none) and maybe a skipped non-JSON record
   * @throws the abort reason, or a non-recoverable {@linkcode RestProxyError}
   */
  async read(signal: AbortSignal): Promise<SessionRead> {
    try {
      await this.#ensure(signal);
      const records = await this.#client.read(signal);
      this.#backoff.reset();
      if (this.#pendingCommit.size > 0) await this.#retryCommit(signal);
      return { records };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof RestProxyError && error.errorCode === 40801) {
        return { records: [], poison: await this.#skipPoison(error, signal) };
      }
      if (!(error instanceof RestProxyError) || !this.#recoverable(error)) throw error;
      // the proxy's Retry-After (clamped) is a minimum: the backoff may wait longer
      const wait = Math.max(this.#backoff.next(), error.retryAfterMs ?? 0);
      this.#log.warn("consumer instance lost or read failed: re-creating it", {
        error: error.message,
        waitMs: wait,
      });
      await this.reset(signal);
      await this.#clock.sleep(wait, signal);
      return { records: [] };
    }
  }

  #recoverable(error: RestProxyError): boolean {
    return error.instanceGone || error.retriable || error.status === 409;
  }

  async #skipPoison(error: RestProxyError, signal: AbortSignal): Promise<PoisonRecord> {
    if (!restFlavorCanSeek(this.#flavor)) {
      throw new Error(
        `Cannot read ${this.#topic}: Redpanda cannot return a record as JSON (${error.message}) ` +
          `and its HTTP Proxy has no seek endpoint to skip it; move the group past it with ` +
          `rpk group seek, or delete the record, then restart`,
        { cause: error },
      );
    }
    const where = parsePoisonPosition(error.message);
    if (!where) {
      throw new Error(
        `Cannot read ${this.#topic}: the proxy cannot return a record as JSON and does not say ` +
          `which (${error.message}); move the group past it with a Kafka tool`,
        { cause: error },
      );
    }
    this.#log.warn("record is not JSON: dead-lettering it and seeking past it", where);
    await this.#client.seek(
      [{ topic: this.#topic, partition: where.partition, offset: where.offset + 1 }],
      signal,
    );
    return { ...where, message: error.message };
  }

  /**
   * Commits explicit offsets; on failure keeps them and tries again after the next read.
   *
   * @param offsets last processed offset per partition
   * @param signal stops retries
   * @returns true when the proxy confirmed the commit
   */
  async commit(offsets: PartitionOffset[], signal: AbortSignal): Promise<boolean> {
    if (offsets.length === 0) return true;
    for (const o of offsets) this.#pendingCommit.set(o.partition, o);
    if (!this.#ready) return false;
    return await this.#retryCommit(signal);
  }

  async #retryCommit(signal: AbortSignal): Promise<boolean> {
    if (this.#pendingCommit.size === 0) return true;
    const offsets = [...this.#pendingCommit.values()].sort((a, b) => a.partition - b.partition);
    try {
      await this.#client.commit(offsets, signal);
      for (const o of offsets) {
        if (this.#pendingCommit.get(o.partition) === o) this.#pendingCommit.delete(o.partition);
      }
      this.#lastCommitted = offsets;
      return true;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      this.#log.warn("cannot commit offsets yet: will retry after the next read", {
        error: error instanceof Error ? error.message : String(error),
      });
      if (error instanceof RestProxyError && error.instanceGone) this.#ready = false;
      return false;
    }
  }

  /**
   * The partitions of `topic` the proxy assigns to this instance, sorted; `undefined` where
   * the proxy cannot say (Redpanda has no `…/assignments`) or before the instance exists.
   *
   * @param topic the topic
   * @param signal stops the call
   * @returns the partitions, or `undefined`
   */
  async assignments(topic: string, signal: AbortSignal): Promise<number[] | undefined> {
    if (!this.#ready || !restFlavorCanSeek(this.#flavor)) return undefined;
    try {
      const all = await this.#client.assignments(signal);
      return all.filter((a) => a.topic === topic).map((a) => a.partition).sort((a, b) => a - b);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof RestProxyError && error.instanceGone) this.#ready = false;
      this.#log.debug("cannot list assignments", { error });
      return undefined;
    }
  }

  /**
   * Sends the proxy back so that the next read of `partition` starts at `offset`: a seek, or,
   * where the proxy cannot seek (Redpanda) or the seek fails, a new instance, which resumes
   * from the committed offsets (they never run ahead of the lake).
   *
   * @param partition the partition
   * @param offset the next offset wanted
   * @param signal stops the calls
   */
  async rewind(partition: number, offset: number, signal: AbortSignal): Promise<void> {
    if (this.#ready && restFlavorCanSeek(this.#flavor)) {
      try {
        await this.#client.seek([{ topic: this.#topic, partition, offset }], signal);
        this.#log.info("sent the proxy back to the lake's position", { partition, offset });
        return;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        this.#log.warn("cannot seek: re-creating the consumer instance instead", {
          partition,
          offset,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    await this.reset(signal);
  }

  /**
   * Runs `work` while pinging the instance every `heartbeatMs` so it does not expire.
   *
   * @param work the long-running task (an upload)
   * @returns the task's result
   */
  async keepAlive<T>(work: () => Promise<T>): Promise<T> {
    if (!this.#ready) return await work();
    if (!restFlavorCanSeek(this.#flavor) && this.#lastCommitted === undefined) {
      this.#log.debug("no commit to repeat as a keep-alive yet (Redpanda)");
      return await work();
    }
    const stop = new AbortController();
    const ping = (async () => {
      while (!stop.signal.aborted) {
        if (!(await this.#sleep(this.#heartbeatMs, stop.signal))) return;
        try {
          if (restFlavorCanSeek(this.#flavor)) await this.#client.assignments(stop.signal);
          else await this.#client.commit(this.#lastCommitted!, stop.signal);
        } catch (error) {
          if (stop.signal.aborted) return;
          this.#log.debug("keep-alive call failed", { error });
        }
      }
    })();
    try {
      return await work();
    } finally {
      stop.abort();
      await ping;
    }
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#clock.sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Deletes the instance (on shutdown).
   *
   * @param signal bounds the call
   */
  async close(signal?: AbortSignal): Promise<void> {
    this.#ready = false;
    try {
      await this.#client.delete(signal);
    } catch (error) {
      this.#log.warn("cannot delete the consumer instance", { error });
    }
  }
}
