/**
 * The limits that keep the local broker alive whatever arrives on its socket: connections,
 * timeouts, request bodies, topics, partitions, open partition files and consumer
 * instances. {@linkcode resolveBrokerLimits} applies the defaults and checks the values.
 *
 * @module
 */

/** The limits of {@linkcode BrokerLimitOptions}, every one set. */
export interface BrokerLimits {
  /** Connections served at once; one more is answered 503 and closed. */
  maxConnections: number;
  /** Longest wait for a request head on a connection (from accept or the last response). */
  headerTimeoutMs: number;
  /** Longest pause between two chunks of a request body (then 408). */
  bodyIdleTimeoutMs: number;
  /** Largest request body, counted on the bytes read, chunked or not (then 413). */
  maxBodyBytes: number;
  /** Bytes of request bodies held at once by all requests (then 503). */
  maxBufferedBytes: number;
  /** Topics; creating one more fails with 40002. */
  maxTopics: number;
  /** Partitions of all topics together; a topic that would pass it fails with 40002. */
  maxPartitions: number;
  /** Partitions whose files are open at once (two descriptors each). */
  maxOpenPartitions: number;
  /** Live consumer instances of the broker (then 429, 42901). */
  maxInstances: number;
  /** Live consumer instances of one group (then 429, 42901). */
  maxInstancesPerGroup: number;
}

/** The limit options of `startBroker`, each optional. */
export interface BrokerLimitOptions {
  /** Connections served at once; one more is answered 503 and closed. @default 512 */
  maxConnections?: number;
  /**
   * Longest wait for a complete request head, from the accept or the end of the previous
   * response; the connection is then closed (idle keep-alive connections too). @default 30000
   */
  headerTimeoutMs?: number;
  /** Longest pause between two chunks of a request body, then 408. @default 30000 */
  bodyIdleTimeoutMs?: number;
  /** Largest request body, on the bytes read (chunked or not), then 413. @default 134217728 */
  maxBodyBytes?: number;
  /** Bytes of request bodies held at once by all requests, then 503. @default 268435456 */
  maxBufferedBytes?: number;
  /** Topics; creating one more fails with 400 (40002). @default 1000 */
  maxTopics?: number;
  /** Partitions of all topics together, likewise. @default 10000 */
  maxPartitions?: number;
  /** Partitions whose files are open at once (two descriptors each). @default 64 */
  maxOpenPartitions?: number;
  /** Live consumer instances of the broker, then 429 (42901). @default 1000 */
  maxInstances?: number;
  /** Live consumer instances of one group, then 429 (42901). @default 100 */
  maxInstancesPerGroup?: number;
}

/**
 * The defaults: about 750 descriptors at most (512 connections, 64 being refused, 64 × 2
 * partition files, about 30 of the runtime's and the logs'), under the usual soft limit 1024.
 */
export const DEFAULT_BROKER_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  maxConnections: 512,
  headerTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 30_000,
  maxBodyBytes: 128 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxTopics: 1000,
  maxPartitions: 10_000,
  maxOpenPartitions: 64,
  maxInstances: 1000,
  maxInstancesPerGroup: 100,
});

/**
 * Applies the defaults and checks every limit.
 *
 * @param options the limits given (others take their default)
 * @returns every limit
 * @throws {RangeError} when a limit is not a positive integer, or the buffered bytes are
 * fewer than one largest body
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const limits = resolveBrokerLimits({ maxTopics: 10 });
 * assert.equal(limits.maxTopics, 10);
 * assert.equal(limits.maxConnections, 512);
 * ```
 */
export function resolveBrokerLimits(options: BrokerLimitOptions): BrokerLimits {
  const limits = { ...DEFAULT_BROKER_LIMITS };
  for (const key of Object.keys(limits) as (keyof BrokerLimits)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot start the broker as '${key}' must be a positive integer: current value is ${value}`,
      );
    }
    limits[key] = value;
  }
  if (limits.maxBufferedBytes < limits.maxBodyBytes) {
    throw new RangeError(
      "Cannot start the broker as 'maxBufferedBytes' must be at least 'maxBodyBytes': " +
        `current values are ${limits.maxBufferedBytes} and ${limits.maxBodyBytes}`,
    );
  }
  return limits;
}
