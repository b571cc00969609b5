/**
 * The consumer's counters ({@linkcode ConsumerStats}), kept by the pipeline and
 * read by the progress line (and later by a metrics exporter).
 *
 * @module
 */
import { wasmMemory } from "parquet-wasm";
import { ROTATION_REASONS, type RotationReason } from "../lake/unit_manifest.ts";

/** Counters and gauges of one consumer run. */
export interface ConsumerStats {
  /** Records received from the proxy and taken into units. */
  recordsIn: number;
  /** Records skipped because the lake already holds their offsets (replays). */
  recordsSkipped: number;
  /** Rows written to committed data files. */
  rowsWritten: number;
  /** Data files written. */
  filesWritten: number;
  /** Bytes of data files written. */
  bytesWritten: number;
  /** Records dead-lettered. */
  dlqRecords: number;
  /** Records dropped as duplicates (`meta.id` seen before). */
  duplicates: number;
  /** Canary events dropped. */
  canaries: number;
  /** Units sealed, by reason. */
  rotations: Record<RotationReason, number>;
  /** Units committed. */
  unitsCommitted: number;
  /** Units rebuilt on start because objects were missing. */
  unitsRedone: number;
  /** Hour files open in the current unit. */
  openFiles: number;
  /** Bytes buffered by the current unit. */
  bufferBytes: number;
  /** Consumer instances created. */
  instancesCreated: number;
  /** Dead instances holding this consumer's name that were deleted to take it back. */
  takeovers: number;
  /** Partitions of the topic the proxy assigns to this consumer (sorted; empty when unknown). */
  partitionsOwned: number[];
  /** Changes of the assigned partitions seen. */
  rebalances: number;
  /** Sealed units discarded because another consumer had claimed their place first. */
  fencedUnits: number;
  /** Times the proxy was sent back to the lake's position of a partition. */
  rewinds: number;
  /** Offset ranges the topic did not deliver even after a rewind (retention, compaction). */
  offsetGaps: number;
  /** Per partition taken on: the last offset in the lake and its newest committed event time. */
  lanes: Map<number, { lakeEnd: number | undefined; newestEventTimeMs: number | undefined }>;
  /** Failed store attempts that were retried. */
  storeRetries: number;
  /** Whether the last offset commit succeeded; undefined before the first. */
  lastCommitOk: boolean | undefined;
  /** Wall time of the last successful commit (epoch ms). */
  lastCommitTimeMs: number | undefined;
  /** Largest `event_time` in committed files (epoch ms). */
  newestCommittedEventTimeMs: number | undefined;
}

/**
 * Creates zeroed stats.
 *
 * @returns a new stats object
 */
export function createConsumerStats(): ConsumerStats {
  return {
    recordsIn: 0,
    recordsSkipped: 0,
    rowsWritten: 0,
    filesWritten: 0,
    bytesWritten: 0,
    dlqRecords: 0,
    duplicates: 0,
    canaries: 0,
    rotations: Object.fromEntries(ROTATION_REASONS.map((r) => [r, 0])) as Record<
      RotationReason,
      number
    >,
    unitsCommitted: 0,
    unitsRedone: 0,
    openFiles: 0,
    bufferBytes: 0,
    instancesCreated: 0,
    takeovers: 0,
    partitionsOwned: [],
    rebalances: 0,
    fencedUnits: 0,
    rewinds: 0,
    offsetGaps: 0,
    lanes: new Map(),
    storeRetries: 0,
    lastCommitOk: undefined,
    lastCommitTimeMs: undefined,
    newestCommittedEventTimeMs: undefined,
  };
}

/**
 * Builds the properties of one progress log line.
 *
 * @param stats current stats
 * @param previous records-in count at the previous line
 * @param elapsedMs time since the previous line
 * @param nowMs current time
 * @returns properties for the logger
 */
export function progressProperties(
  stats: ConsumerStats,
  previous: number,
  elapsedMs: number,
  nowMs: number,
): Record<string, unknown> {
  const rotations = Object.entries(stats.rotations).filter(([, n]) => n > 0).map(([r, n]) =>
    `${r}:${n}`
  ).join(",");
  return {
    recordsPerSec: elapsedMs > 0
      ? Math.round(((stats.recordsIn - previous) * 1000) / elapsedMs)
      : 0,
    recordsIn: stats.recordsIn,
    rowsWritten: stats.rowsWritten,
    filesWritten: stats.filesWritten,
    bytesWritten: stats.bytesWritten,
    openFiles: stats.openFiles,
    bufferBytes: stats.bufferBytes,
    dlq: stats.dlqRecords,
    duplicates: stats.duplicates,
    rotations: rotations || "none",
    owned: stats.partitionsOwned.join(",") || "unknown",
    ...laneProperties(stats.lanes, nowMs),
    rebalances: stats.rebalances,
    fenced: stats.fencedUnits,
    takeovers: stats.takeovers,
    freshnessMs: stats.newestCommittedEventTimeMs === undefined
      ? null
      : nowMs - stats.newestCommittedEventTimeMs,
    ...memoryProperties(),
  };
}

/**
 * The per-partition part of a progress line: the partitions taken on, the lake's last offset
 * and the event-time lag of each.
 */
function laneProperties(
  lanes: ConsumerStats["lanes"],
  nowMs: number,
): { partitions: string; positions: string; lagSeconds: string } {
  const sorted = [...lanes].sort((a, b) => a[0] - b[0]);
  return {
    partitions: sorted.map(([p]) => p).join(",") || "none",
    positions: sorted.map(([p, l]) => `${p}:${l.lakeEnd ?? "-"}`).join(","),
    lagSeconds: sorted.map(([p, l]) =>
      `${p}:${
        l.newestEventTimeMs === undefined ? "-" : Math.round((nowMs - l.newestEventTimeMs) / 1000)
      }`
    ).join(","),
  };
}

const MIB = 1024 * 1024;

/**
 * The process's memory in MiB: resident set, JS heap used, buffers outside the heap (the open
 * files' Arrow buffers among them) and the Parquet encoder's WebAssembly memory (it grows to
 * fit the largest file encoded so far and never shrinks).
 */
function memoryProperties(): Record<"rssMiB" | "heapMiB" | "externalMiB" | "wasmMiB", number> {
  const m = Deno.memoryUsage();
  return {
    rssMiB: Math.round(m.rss / MIB),
    heapMiB: Math.round(m.heapUsed / MIB),
    externalMiB: Math.round(m.external / MIB),
    wasmMiB: Math.round(wasmMemory().buffer.byteLength / MIB),
  };
}
