/**
 * The REST Proxy dialects wikistream speaks, behind one setting
 * (`KAFKA_REST_FLAVOR=confluent|redpanda`, {@linkcode REST_FLAVOR_OPTION}), and
 * small pure functions for every place where Redpanda's built-in HTTP Proxy
 * differs from the Confluent REST Proxy v2 (contract §7):
 *
 * - commit body key: `offsets` (Confluent) vs `partitions` with exactly
 *   `topic`, `partition`, `offset` (Redpanda) — {@linkcode commitBody}. Both get
 *   the offset of the last processed record: Confluent stores it + 1, Redpanda
 *   stores it as sent and (since RP#31112) resumes from committed + 1, so the
 *   next read starts after the last processed record on both;
 * - commit answer: 200 `[]` vs 204 (both are 2xx, accepted as such);
 * - produce answer: one entry per record vs one entry per partition batch —
 *   {@linkcode redpandaProduceResults} maps the latter to per-record results;
 * - create body: string values only — {@linkcode createInstanceBody};
 * - `auto.offset.reset` must be `earliest` — {@linkcode restFlavorProblem};
 * - no `…/assignments`, no `…/positions*`: {@linkcode restFlavorCanSeek}.
 *
 * @module
 */
import type { OptionSpec } from "../cli/config.ts";
import { enumOption } from "../cli/config_options.ts";

/** A REST Proxy dialect. */
export type RestFlavor = "confluent" | "redpanda";

/** Every supported dialect. */
export const REST_FLAVORS: readonly RestFlavor[] = ["confluent", "redpanda"];

/** The `KAFKA_REST_FLAVOR` option, shared by the producer and the consumer. */
export const REST_FLAVOR_OPTION: OptionSpec<RestFlavor> = enumOption<RestFlavor>({
  env: "KAFKA_REST_FLAVOR",
  description: "REST Proxy dialect: confluent (Confluent REST Proxy, local broker) or redpanda " +
    "(Redpanda HTTP Proxy)",
  default: "confluent",
  values: REST_FLAVORS,
});

/** A partition and the offset of the last processed record. */
export interface CommitOffset {
  /** Topic name. */
  topic: string;
  /** Kafka partition. */
  partition: number;
  /** Offset of the last processed record. */
  offset: number;
}

/**
 * Builds the body of `POST …/offsets` (an explicit commit, never the empty body).
 *
 * @param flavor the dialect
 * @param offsets the last processed offset per partition
 * @returns `{"offsets":[…]}` (Confluent) or `{"partitions":[…]}` (Redpanda), entries holding
 *   exactly `topic`, `partition` and `offset`
 */
export function commitBody(
  flavor: RestFlavor,
  offsets: readonly CommitOffset[],
): { offsets: CommitOffset[] } | { partitions: CommitOffset[] } {
  const entries = offsets.map((o) => ({
    topic: o.topic,
    partition: o.partition,
    offset: o.offset,
  }));
  return flavor === "redpanda" ? { partitions: entries } : { offsets: entries };
}

/** Instance settings sent at creation. */
export interface InstanceSettings {
  /** Instance name. */
  name: string;
  /** `auto.offset.reset`. */
  autoOffsetReset: "earliest" | "latest";
  /** `fetch.min.bytes` (−1 disables). */
  fetchMinBytes: number;
  /** `consumer.request.timeout.ms`. */
  requestTimeoutMs: number;
}

/**
 * Builds the body of `POST /consumers/{group}`: JSON format, auto-commit off, and every
 * value a string (Redpanda parses only strings; Confluent accepts both). Redpanda accepts
 * `fetch.min.bytes` and `consumer.request.timeout.ms` but only logs them.
 *
 * @param _flavor the dialect (the portable body works for both)
 * @param settings name, offset reset and read tuning
 * @returns the request body
 */
export function createInstanceBody(
  _flavor: RestFlavor,
  settings: InstanceSettings,
): Record<string, string> {
  return {
    name: settings.name,
    format: "json",
    "auto.offset.reset": settings.autoOffsetReset,
    "auto.commit.enable": "false",
    "fetch.min.bytes": String(settings.fetchMinBytes),
    "consumer.request.timeout.ms": String(settings.requestTimeoutMs),
  };
}

/**
 * Checks settings the dialect cannot honour.
 *
 * @param flavor the dialect
 * @param autoOffsetReset the configured `CONSUMER_AUTO_OFFSET_RESET`
 * @returns a problem to report (naming the variables), or `undefined`
 */
export function restFlavorProblem(
  flavor: RestFlavor,
  autoOffsetReset: string,
): string | undefined {
  if (flavor === "redpanda" && autoOffsetReset !== "earliest") {
    return `CONSUMER_AUTO_OFFSET_RESET "${autoOffsetReset}" is not supported with ` +
      `KAFKA_REST_FLAVOR=redpanda: Redpanda's HTTP Proxy accepts only "earliest"; ` +
      `unset CONSUMER_AUTO_OFFSET_RESET or set it to earliest`;
  }
  return undefined;
}

/**
 * Says whether the dialect serves `…/assignments` and `…/positions` (seek).
 *
 * @param flavor the dialect
 * @returns false for Redpanda
 */
export function restFlavorCanSeek(flavor: RestFlavor): boolean {
  return flavor !== "redpanda";
}

/** The per-record outcome {@linkcode redpandaProduceResults} produces. */
export interface FlavorRecordResult {
  /** Partition, unknown (`null`) for Redpanda. */
  partition: number | null;
  /** Offset, unknown (`null`) for Redpanda. */
  offset: number | null;
  /** `null` on success, 50003 (retriable) on failure. */
  errorCode: number | null;
  /** The failure, or `null`. */
  error: string | null;
}

const KAFKA_ERROR_NAMES: Readonly<Record<number, string>> = {
  1: "offset_out_of_range",
  2: "corrupt_message",
  3: "unknown_topic_or_partition",
  5: "leader_not_available",
  6: "not_leader_for_partition",
  7: "request_timed_out",
  10: "message_too_large",
  19: "not_enough_replicas",
  20: "not_enough_replicas_after_append",
  29: "topic_authorization_failed",
  87: "invalid_record",
};

/**
 * Maps Redpanda's produce answer (one `offsets[]` entry per partition batch with its base
 * offset; a failed batch has `error_code` = a Kafka protocol code and `offset: -1`) to one
 * result per record. Which record went to which partition is not in the answer, so per-record
 * offsets are never derived: when every batch succeeded every record is acknowledged (partition
 * and offset `null`), otherwise every record of the request is a retriable failure (50003) and
 * is re-sent (records of batches that did succeed become duplicates, which the consumer drops
 * by `meta.id`).
 *
 * @param answer the parsed JSON answer
 * @param recordCount records in the request
 * @returns one result per record, in request order
 * @throws {TypeError} when the answer has no `offsets` array or an entry is not an object
 */
export function redpandaProduceResults(
  answer: unknown,
  recordCount: number,
): FlavorRecordResult[] {
  const offsets = (answer as { offsets?: unknown } | null)?.offsets;
  if (!Array.isArray(offsets)) {
    throw new TypeError("the answer has no offsets array");
  }
  const failures: string[] = [];
  for (const entry of offsets) {
    if (entry === null || typeof entry !== "object") {
      throw new TypeError("an offsets entry is not an object");
    }
    const e = entry as { partition?: unknown; offset?: unknown; error_code?: unknown };
    const code = typeof e.error_code === "number" ? e.error_code : 0;
    if (code !== 0 || e.offset === -1) {
      const name = KAFKA_ERROR_NAMES[code] ?? "Kafka error";
      failures.push(`partition ${String(e.partition)}: ${name} (Kafka error code ${code})`);
    }
  }
  if (offsets.length === 0 && recordCount > 0) failures.push("no partition batch acknowledged");
  const result: FlavorRecordResult = failures.length === 0
    ? { partition: null, offset: null, errorCode: null, error: null }
    : {
      partition: null,
      offset: null,
      errorCode: 50003,
      error: `Redpanda refused a partition batch of the request (${failures.join("; ")})`,
    };
  return Array.from({ length: recordCount }, () => ({ ...result }));
}
