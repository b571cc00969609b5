/**
 * The manifest of one lake unit: the exact Kafka offset range per partition the
 * unit covers, the objects it consists of, and every decision that is not a
 * pure function of the records (ingestion time, dropped duplicates), so that a
 * unit can be rebuilt byte for byte from the topic. A unit covers one Kafka
 * partition; its manifest is created under `_manifests/<topic>/partition=<p>/<seq>.json`
 * with a conditional create (the unit's claim: the first writer wins) before any
 * of its objects is uploaded.
 *
 * @module
 */

/** Format tag written into every manifest. */
export const MANIFEST_FORMAT = "wikistream-unit-manifest/2";

/** Why a unit was sealed. */
export type RotationReason = "rows" | "bytes" | "age" | "open_files" | "memory" | "shutdown";

/** Every rotation reason, for counters. */
export const ROTATION_REASONS: readonly RotationReason[] = Object.freeze([
  "rows",
  "bytes",
  "age",
  "open_files",
  "memory",
  "shutdown",
]);

/** The offsets one unit covers in one partition (inclusive). */
export interface PartitionRange {
  /** Kafka partition. */
  partition: number;
  /** First offset of the unit in this partition. */
  start: number;
  /** Last offset of the unit in this partition (committed after upload). */
  end: number;
}

/** The last offset processed in a partition, over all units so far. */
export interface PartitionPosition {
  /** Kafka partition. */
  partition: number;
  /** Last processed offset. */
  offset: number;
}

/** One data file of a unit. */
export interface ManifestFile {
  /** Object key. */
  key: string;
  /** Rows in the file. */
  rows: number;
  /** Size of the Parquet object. */
  bytes: number;
  /** Smallest `event_time` (ISO-8601). */
  minEventTime: string;
  /** Largest `event_time` (ISO-8601). */
  maxEventTime: string;
  /** Offsets of the file's rows per partition. */
  offsets: { partition: number; first: number; last: number; count: number }[];
}

/** The manifest of one unit. */
export interface UnitManifest {
  /** Always {@linkcode MANIFEST_FORMAT}. */
  format: string;
  /** The Kafka partition the unit covers. */
  partition: number;
  /** Unit sequence number within the partition (0, 1, 2 …, no gaps). */
  seq: number;
  /** The consumer instance that claimed the unit (informational). */
  owner: string;
  /** Kafka topic. */
  topic: string;
  /** Row schema version of the files. */
  schemaVersion: string;
  /** Parquet compression codec. */
  compression: string;
  /** `ingested_at` of every row: when the consumer opened the unit (ISO-8601). */
  ingestedAt: string;
  /** Wall-clock time the manifest was written (informational only). */
  sealedAt: string;
  /** Why the unit was sealed. */
  rotation: RotationReason;
  /** Offsets covered by this unit (one range, of `partition`). */
  ranges: PartitionRange[];
  /** Last processed offset of the partition, this unit included. */
  positions: PartitionPosition[];
  /** Records dropped as duplicates (`meta.id` seen before): `[partition, first, last]`. */
  duplicates: [number, number, number][];
  /** The data files. */
  files: ManifestFile[];
  /** The dead-letter object, if the unit had bad records. */
  dlq: { key: string; count: number; bytes: number } | null;
  /** Record counts. */
  counts: { records: number; rows: number; dlq: number; canaries: number; duplicates: number };
}

/**
 * Parses and checks a manifest.
 *
 * @param bytes the stored JSON
 * @param key where it was read from, for messages
 * @returns the manifest
 * @throws {SyntaxError} when it is not a wikistream unit manifest
 */
export function parseManifest(bytes: Uint8Array, key: string): UnitManifest {
  let m: UnitManifest;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new SyntaxError(`Cannot parse manifest "${key}": not JSON`, { cause: error });
  }
  if (
    m?.format !== MANIFEST_FORMAT || !Number.isSafeInteger(m.seq) ||
    !Number.isSafeInteger(m.partition) || !Array.isArray(m.ranges) || m.ranges.length !== 1 ||
    !Array.isArray(m.files) || !Array.isArray(m.positions) || !Array.isArray(m.duplicates) ||
    Number.isNaN(Date.parse(m.ingestedAt))
  ) {
    throw new SyntaxError(
      `Cannot use manifest "${key}": not a ${MANIFEST_FORMAT} document; remove foreign files` +
        " from the _manifests folder",
    );
  }
  return m;
}

/**
 * Serialises a manifest (stable key order, two-space indent).
 *
 * @param manifest the manifest
 * @returns UTF-8 JSON
 */
export function encodeManifest(manifest: UnitManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
}
