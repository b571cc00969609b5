/**
 * Shared set-up for consumer tests: configs, lake readers and checks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../lib/cli/config.ts";
import { CONSUMER_OPTIONS, type ConsumerConfig } from "../../lib/consumer/consumer_config.ts";
import type { ObjectStore } from "../../lib/object_store/object_store.ts";
import { queryParquet } from "./duckdb.ts";

/**
 * Builds a consumer configuration from environment-style values.
 *
 * @param env variables (strings)
 * @returns the resolved configuration
 */
export function testConsumerConfig(env: Record<string, string>): ConsumerConfig {
  return parseConfig(CONSUMER_OPTIONS, {
    env: { PROGRESS_INTERVAL_MS: "0", CONSUMER_READ_TIMEOUT_MS: "200", ...env },
  }).config;
}

/**
 * Copies every object of a store into a folder (keys become paths).
 *
 * @param store the store
 * @param dir target folder
 */
export async function downloadStore(store: ObjectStore, dir: string): Promise<void> {
  for (const key of await store.list("")) {
    const bytes = await store.get(key);
    assert.ok(bytes, `object ${key} vanished`);
    const path = `${dir}/${key}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, bytes);
  }
}

/** One row's identity as read back from the lake. */
export interface LakeRow {
  /** `event_id`. */
  id: string;
  /** `kafka_partition`. */
  partition: number;
  /** `kafka_offset`. */
  offset: number;
}

/**
 * Reads the identity columns of every row of a lake folder with DuckDB.
 *
 * @param dir the lake folder
 * @returns the rows
 */
export async function readLakeRows(dir: string): Promise<LakeRow[]> {
  const rows = await queryParquet(
    `${dir}/**/*.parquet`,
    "SELECT event_id, kafka_partition, kafka_offset FROM data",
    { hivePartitioning: true },
  );
  return rows.map((r) => ({
    id: r.event_id as string,
    partition: Number(r.kafka_partition),
    offset: Number(r.kafka_offset),
  }));
}

/**
 * Asserts that no `(partition, offset)` and no `event_id` occurs twice.
 *
 * @param rows rows read back
 */
export function assertNoDuplicates(rows: readonly LakeRow[]): void {
  const positions = new Set(rows.map((r) => `${r.partition}:${r.offset}`));
  assert.equal(positions.size, rows.length, "duplicate (kafka_partition, kafka_offset) in lake");
  const ids = new Set(rows.map((r) => r.id));
  assert.equal(ids.size, rows.length, "duplicate event_id in lake");
}
