/**
 * The consumer-group endpoints of the v2 API (contract §4): create/delete instances,
 * subscription, manual assignment, seek, commit and committed offsets. Reads are in
 * {@linkcode ConsumerInstance.read}. Each handler returns a JSON-able body or
 * `undefined` for 204.
 *
 * @module
 */
import { BrokerError, illegalState } from "./broker_error.ts";
import type { ConsumerGroups } from "./consumer_groups.ts";
import type { ConsumerInstance, InstanceConfig } from "./consumer_instance.ts";
import type { CommittedOffset, OffsetStore } from "./offset_store.ts";
import { arrayField, intField, objectWith, stringField, topicPartition } from "./request_body.ts";
import type { TopicStore } from "./topic_store.ts";

/** Services of the consumer handlers. */
export interface ConsumerHandlerContext {
  /** Groups and instances. */
  groups: ConsumerGroups;
  /** Topics. */
  topics: TopicStore;
  /** Committed offsets. */
  offsets: OffsetStore;
  /** Server default of `consumer.request.timeout.ms`. */
  requestTimeoutMs: number;
}

const CREATE_FIELDS = new Set([
  "name",
  "id",
  "format",
  "auto.offset.reset",
  "auto.commit.enable",
  "fetch.min.bytes",
  "responseMinBytes",
  "consumer.request.timeout.ms",
  "requestWaitMs",
]);

function invalidConfig(detail: string): BrokerError {
  return new BrokerError(422, 42204, `Invalid consumer configuration: ${detail}`);
}

/**
 * `POST /consumers/{g}`: creates an instance.
 *
 * @param ctx services
 * @param group the group
 * @param body the parsed body (undefined when empty)
 * @param baseUri builds the instance URL from its id
 * @returns `{instance_id, base_uri}`
 * @throws {BrokerError} 40902, 42204, 40001, 422
 */
export function createInstance(
  ctx: ConsumerHandlerContext,
  group: string,
  body: unknown,
  baseUri: (id: string) => string,
): { instance_id: string; base_uri: string } {
  const obj = body === undefined || body === null
    ? {}
    : objectWith(body, CREATE_FIELDS, "create consumer request");
  const name = stringField(obj, "id") ?? stringField(obj, "name") ??
    `rest-consumer-${crypto.randomUUID()}`;
  const formatText = (stringField(obj, "format") ?? "binary").toLowerCase();
  if (formatText !== "binary" && formatText !== "json") {
    if (["avro", "jsonschema", "protobuf"].includes(formatText)) {
      throw new BrokerError(
        422,
        422,
        `Invalid format type: "${formatText}" needs a schema registry, which the local broker does not have`,
      );
    }
    throw new BrokerError(422, 422, "Invalid format type.");
  }
  const reset = (stringField(obj, "auto.offset.reset") ?? "latest").toLowerCase();
  if (reset !== "latest" && reset !== "earliest" && reset !== "none") {
    throw invalidConfig(
      `Invalid value ${
        stringField(obj, "auto.offset.reset")
      } for configuration auto.offset.reset: String must be one of: latest, earliest, none`,
    );
  }
  const commitText = (stringField(obj, "auto.commit.enable") ?? "true").toLowerCase();
  if (commitText !== "true" && commitText !== "false") {
    throw invalidConfig(
      `Invalid value ${
        stringField(obj, "auto.commit.enable")
      } for configuration enable.auto.commit: Expected value to be either true or false`,
    );
  }
  const minBytes = intField(obj, "fetch.min.bytes") ?? intField(obj, "responseMinBytes") ?? -1;
  if (minBytes < -1 || minBytes > 10_000_000) {
    throw new BrokerError(
      422,
      40001,
      `Invalid fetch.min.bytes ${minBytes}: must be between -1 and 10000000`,
    );
  }
  const wait = intField(obj, "consumer.request.timeout.ms") ?? intField(obj, "requestWaitMs") ??
    ctx.requestTimeoutMs;
  if (wait < 0) {
    throw new BrokerError(
      422,
      40001,
      `Invalid consumer.request.timeout.ms ${wait}: must not be negative`,
    );
  }
  const config: InstanceConfig = {
    format: formatText,
    autoOffsetReset: reset,
    autoCommit: commitText === "true",
    fetchMinBytes: minBytes,
    requestTimeoutMs: wait,
  };
  ctx.groups.create(group, name, config);
  return { instance_id: name, base_uri: baseUri(name) };
}

/**
 * `POST …/subscription`.
 *
 * @param ctx services
 * @param instance the instance
 * @param body the parsed body
 * @throws {BrokerError} 422 for a missing body, 40903 after manual assignment
 */
export async function subscribe(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
  body: unknown,
): Promise<void> {
  if (body === undefined || body === null) {
    throw new BrokerError(422, 422, "Request body must not be null");
  }
  const obj = objectWith(body, new Set(["topics", "topic_pattern"]), "subscription");
  const topics = arrayField(obj, "topics");
  const pattern = stringField(obj, "topic_pattern");
  if (topics && topics.some((t) => typeof t !== "string")) {
    throw new BrokerError(400, 400, `Cannot deserialize "topics": expected an array of strings`);
  }
  if (!topics && pattern === undefined) {
    throw new BrokerError(422, 422, "topics or topic_pattern must be set");
  }
  let regexp: RegExp | undefined;
  if (!topics) {
    try {
      regexp = new RegExp(`^(?:${pattern})$`);
    } catch {
      throw new BrokerError(400, 40002, `Invalid topic_pattern "${pattern}"`);
    }
  }
  await instance.exclusive(() => {
    if (instance.manual) {
      throw illegalState("Subscription to topics, partitions and pattern are mutually exclusive");
    }
    if (topics && topics.length === 0) instance.subscription = undefined;
    else instance.subscription = topics ? { topics: topics as string[] } : { pattern: regexp! };
    ctx.groups.invalidate(instance.group);
  });
}

/**
 * `GET …/subscription`.
 *
 * @param ctx services
 * @param instance the instance
 * @returns `{topics}`
 */
export function getSubscription(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
): { topics: string[] } {
  const s = instance.subscription;
  if (!s) return { topics: [] };
  if ("topics" in s) return { topics: [...s.topics] };
  return { topics: ctx.topics.names().filter((t) => s.pattern.test(t)) };
}

/**
 * `DELETE …/subscription` (Kafka `unsubscribe`: also drops a manual assignment).
 *
 * @param ctx services
 * @param instance the instance
 */
export async function unsubscribe(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
): Promise<void> {
  await instance.exclusive(async () => {
    if (instance.config.autoCommit) {
      await ctx.offsets.commit(instance.group, instance.positionsToCommit());
    }
    instance.subscription = undefined;
    instance.manual = false;
    instance.setAssignment([]);
    ctx.groups.invalidate(instance.group);
  });
}

/**
 * `POST …/assignments`.
 *
 * @param instance the instance
 * @param body the parsed body
 * @throws {BrokerError} 40903 when subscribed
 */
export async function assign(instance: ConsumerInstance, body: unknown): Promise<void> {
  if (body === undefined || body === null) {
    throw new BrokerError(422, 422, "Request body must not be null");
  }
  const obj = objectWith(body, new Set(["partitions"]), "assignment");
  const list = (arrayField(obj, "partitions") ?? []).map((p) => topicPartition(p));
  await instance.exclusive(() => {
    if (instance.subscription) {
      throw illegalState("Subscription to topics, partitions and pattern are mutually exclusive");
    }
    instance.manual = list.length > 0;
    instance.setAssignment(list.map((p) => [p.topic, p.partition]));
  });
}

/**
 * `GET …/assignments`.
 *
 * @param instance the instance
 * @returns `{partitions}`
 */
export function getAssignments(
  instance: ConsumerInstance,
): { partitions: { topic: string; partition: number }[] } {
  return {
    partitions: instance.assignment.map((a) => ({ topic: a.topic, partition: a.partition })),
  };
}

/**
 * `POST …/positions`: seek to offsets and/or timestamps.
 *
 * @param ctx services
 * @param instance the instance
 * @param body the parsed body
 * @throws {BrokerError} 40903 for an unassigned partition
 */
export async function seek(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
  body: unknown,
): Promise<void> {
  if (body === undefined || body === null) {
    throw new BrokerError(422, 422, "Request body must not be null");
  }
  const obj = objectWith(body, new Set(["offsets", "timestamps"]), "seek request");
  const offsets = (arrayField(obj, "offsets") ?? []).map((o) => {
    const tp = topicPartition(o, ["offset", "metadata"]);
    const offset = intField(tp.obj, "offset");
    if (offset === undefined || offset < 0) {
      throw new BrokerError(422, 422, "offset must be a non-negative integer");
    }
    return { ...tp, offset };
  });
  const timestamps = (arrayField(obj, "timestamps") ?? []).map((o) => {
    const tp = topicPartition(o, ["timestamp", "metadata"]);
    const ts = stringField(tp.obj, "timestamp");
    const ms = ts === undefined ? NaN : Date.parse(ts);
    if (!Number.isFinite(ms)) {
      throw new BrokerError(
        400,
        400,
        `Cannot deserialize "timestamp": expected an ISO-8601 instant`,
      );
    }
    return { ...tp, ms };
  });
  await instance.exclusive(async () => {
    for (const o of [...offsets, ...timestamps]) {
      if (!instance.assigned(o.topic, o.partition)) {
        throw illegalState(`No current assignment for partition ${o.topic}-${o.partition}`);
      }
    }
    for (const o of offsets) instance.seek(o.topic, o.partition, o.offset);
    for (const t of timestamps) {
      const log = ctx.topics.get(t.topic)?.partitions[t.partition];
      instance.seek(t.topic, t.partition, log ? await log.offsetForTimestamp(t.ms) : 0);
    }
  });
}

/**
 * `POST …/positions/beginning` and `…/positions/end`.
 *
 * @param ctx services
 * @param instance the instance
 * @param body the parsed body
 * @param where beginning or end
 * @throws {BrokerError} 40903 for an unassigned partition
 */
export async function seekTo(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
  body: unknown,
  where: "beginning" | "end",
): Promise<void> {
  if (body === undefined || body === null) {
    throw new BrokerError(422, 422, "Request body must not be null");
  }
  const obj = objectWith(body, new Set(["partitions"]), "seek request");
  const list = (arrayField(obj, "partitions") ?? []).map((p) => topicPartition(p));
  await instance.exclusive(() => {
    for (const p of list) {
      if (!instance.assigned(p.topic, p.partition)) {
        throw illegalState(`No current assignment for partition ${p.topic}-${p.partition}`);
      }
    }
    for (const p of list) {
      const log = ctx.topics.get(p.topic)?.partitions[p.partition];
      instance.seek(p.topic, p.partition, where === "beginning" ? 0 : log?.highWatermark ?? 0);
    }
  });
}

/**
 * `POST …/offsets`: explicit offsets are stored +1; an empty body commits the positions.
 *
 * @param ctx services
 * @param instance the instance
 * @param body the parsed body
 * @returns `[]`
 */
export async function commit(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
  body: unknown,
): Promise<unknown[]> {
  let explicit: CommittedOffset[] | undefined;
  if (body !== undefined && body !== null) {
    const obj = objectWith(body, new Set(["offsets"]), "commit request");
    explicit = arrayField(obj, "offsets")?.map((o) => {
      const tp = topicPartition(o, ["offset", "metadata"]);
      const offset = intField(tp.obj, "offset");
      if (offset === undefined || offset < -1) {
        throw new BrokerError(422, 422, "offset must be an integer of at least -1");
      }
      const metadata = stringField(tp.obj, "metadata") ?? "";
      return { topic: tp.topic, partition: tp.partition, offset: offset + 1, metadata };
    });
  }
  await instance.exclusive(async () => {
    await ctx.offsets.commit(instance.group, explicit ?? instance.positionsToCommit());
  });
  return [];
}

/**
 * `GET …/offsets` with a `{"partitions":[…]}` body.
 *
 * @param ctx services
 * @param instance the instance
 * @param body the parsed body
 * @returns `{offsets}` for the partitions that have a commit
 * @throws {BrokerError} 40402 without a body
 */
export function committed(
  ctx: ConsumerHandlerContext,
  instance: ConsumerInstance,
  body: unknown,
): { offsets: CommittedOffset[] } {
  if (body === undefined || body === null) {
    throw new BrokerError(404, 40402, "Partition not found.");
  }
  const obj = objectWith(body, new Set(["partitions"]), "committed offsets request");
  const list = (arrayField(obj, "partitions") ?? []).map((p) => topicPartition(p));
  const offsets: CommittedOffset[] = [];
  for (const p of list) {
    const c = ctx.offsets.get(instance.group, p.topic, p.partition);
    if (c) offsets.push({ ...c });
  }
  return { offsets };
}
