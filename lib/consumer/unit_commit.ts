/**
 * Publishing a sealed lake unit and committing after it: {@linkcode publishUnit} uploads
 * the unit (manifest first), then {@linkcode commitUnit} commits its offsets to the
 * consumer group and writes the lake's pointer.
 *
 * @module
 */
import type { SealedUnit } from "../lake/lake_writer.ts";
import type { PartitionPosition, UnitManifest } from "../lake/unit_manifest.ts";
import type { PartitionOffset } from "../rest_proxy/rest_consumer_client.ts";
import type { ConsumeContext, ConsumeState } from "./consume_context.ts";

/**
 * The consumer offsets that a unit's positions stand for.
 *
 * @param topic the topic
 * @param positions per partition, the last offset in the lake
 * @returns the offsets to commit
 */
export function toOffsets(
  topic: string,
  positions: readonly PartitionPosition[],
): PartitionOffset[] {
  return positions.map((p) => ({ topic, partition: p.partition, offset: p.offset }));
}

/**
 * Commits a published unit's offsets, updates the commit stats and writes the pointer.
 *
 * @param ctx the session, the protocol, the stats and the sealing signal
 * @param manifest the published unit's manifest
 * @param maxEventTimeMs the newest event time in the unit, if any
 */
export async function commitUnit(
  ctx: ConsumeContext,
  manifest: UnitManifest,
  maxEventTimeMs: number | undefined,
): Promise<void> {
  const { stats } = ctx;
  const ok = await ctx.session.commit(toOffsets(ctx.topic, manifest.positions), ctx.sealing);
  stats.lastCommitOk = ok;
  if (ok) stats.lastCommitTimeMs = ctx.clock.now();
  if (
    maxEventTimeMs !== undefined &&
    (stats.newestCommittedEventTimeMs === undefined ||
      maxEventTimeMs > stats.newestCommittedEventTimeMs)
  ) stats.newestCommittedEventTimeMs = maxEventTimeMs;
  await ctx.protocol.writePointer(manifest, ctx.sealing);
}

/**
 * Publishes a sealed unit (manifest, objects), moves the lake's positions to it, commits
 * it and adds its event ids to the dedupe window.
 *
 * @param ctx the session, the protocol, the stats, the window and the sealing signal
 * @param state the run's state; `positions` moves to the unit's
 * @param sealed the sealed unit
 */
export async function publishUnit(
  ctx: ConsumeContext,
  state: ConsumeState,
  sealed: SealedUnit,
): Promise<void> {
  const { stats } = ctx;
  await ctx.session.keepAlive(() =>
    ctx.protocol.publish(sealed, { writeManifest: true, signal: ctx.sealing })
  );
  const m = sealed.manifest;
  state.positions = m.positions;
  stats.filesWritten += m.files.length;
  stats.bytesWritten += m.files.reduce((n, f) => n + f.bytes, 0);
  stats.rowsWritten += m.counts.rows;
  stats.unitsCommitted++;
  await commitUnit(ctx, m, sealed.maxEventTimeMs);
  ctx.window.addUnit(m.seq, sealed.eventIds);
  ctx.log.info("unit committed", {
    seq: m.seq,
    rotation: m.rotation,
    records: m.counts.records,
    rows: m.counts.rows,
    files: m.files.length,
    dlq: m.counts.dlq,
    duplicates: m.counts.duplicates,
  });
}
