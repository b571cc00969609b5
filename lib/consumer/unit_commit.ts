/**
 * Publishing a sealed lake unit and committing after it: {@linkcode publishUnit} claims the
 * unit's place (a conditional create of its manifest; the first claim wins), uploads its
 * objects when the claim is won, then {@linkcode commitUnit} commits its partition's offset
 * to the consumer group and writes the partition's pointer. A lost claim uploads and
 * commits nothing.
 *
 * @module
 */
import type { ClaimResult } from "../lake/commit_protocol.ts";
import type { SealedUnit } from "../lake/lake_writer.ts";
import type { UnitManifest } from "../lake/unit_manifest.ts";
import type { ConsumeContext } from "./consume_context.ts";
import type { PartitionLane } from "./partition_lane.ts";

/**
 * Commits a published unit's offset, updates the commit stats and writes the pointer.
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
  const range = manifest.ranges[0]!;
  const ok = await ctx.session.commit(
    [{ topic: ctx.topic, partition: range.partition, offset: range.end }],
    ctx.sealing,
  );
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
 * Claims and publishes a sealed unit of a lane; when won, commits it, adds its event ids to
 * the lane's window and moves the lane past it.
 *
 * @param ctx the session, the protocol, the stats and the sealing signal
 * @param lane the unit's partition lane
 * @param sealed the sealed unit
 * @returns `won`, or `lost` when another consumer had claimed the unit's place
 */
export async function publishUnit(
  ctx: ConsumeContext,
  lane: PartitionLane,
  sealed: SealedUnit,
): Promise<ClaimResult> {
  const { stats } = ctx;
  const m = sealed.manifest;
  const claim = await ctx.session.keepAlive(async () => {
    const result = await ctx.protocol.claim(sealed, ctx.sealing);
    if (result === "won") await ctx.protocol.upload(sealed, ctx.sealing);
    return result;
  });
  if (claim === "lost") {
    stats.fencedUnits++;
    ctx.log.warn("unit fenced: another consumer claimed its place first; discarding it", {
      partition: m.partition,
      seq: m.seq,
      records: m.counts.records,
      range: `${m.ranges[0]!.start}-${m.ranges[0]!.end}`,
    });
    return claim;
  }
  stats.filesWritten += m.files.length;
  stats.bytesWritten += m.files.reduce((n, f) => n + f.bytes, 0);
  stats.rowsWritten += m.counts.rows;
  stats.unitsCommitted++;
  await commitUnit(ctx, m, sealed.maxEventTimeMs);
  lane.window.addUnit(m.seq, sealed.eventIds);
  lane.seq = m.seq + 1;
  lane.lakeEnd = m.ranges[0]!.end;
  if (sealed.maxEventTimeMs !== undefined) lane.newestEventTimeMs = sealed.maxEventTimeMs;
  ctx.log.info("unit committed", {
    partition: m.partition,
    seq: m.seq,
    rotation: m.rotation,
    records: m.counts.records,
    rows: m.counts.rows,
    files: m.files.length,
    dlq: m.counts.dlq,
    duplicates: m.counts.duplicates,
  });
  return claim;
}
