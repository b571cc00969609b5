/**
 * Taking a partition on: {@linkcode loadLane} reads the partition's state in the lake when
 * its first record arrives (or again when another owner may have moved it on): the newest
 * unit, the dedupe window of its newest units, and, when the newest unit is incomplete
 * (its owner crashed or stalled between the claim and the last upload), a rebuild of it
 * from the topic. {@linkcode finishRedo} publishes a rebuild once its range is read.
 *
 * @module
 */
import { LakeUnit } from "../lake/lake_writer.ts";
import type { UnitManifest } from "../lake/unit_manifest.ts";
import type { ConsumerConfig } from "./consumer_config.ts";
import type { ConsumeContext } from "./consume_context.ts";
import { DedupeWindow } from "./dedupe_window.ts";
import { PartitionLane } from "./partition_lane.ts";
import { commitUnit } from "./unit_commit.ts";

const UNLIMITED = {
  maxRows: Infinity,
  maxFileBytes: Infinity,
  maxOpenFiles: Infinity,
  maxBufferBytes: Infinity,
};

/**
 * Reads a partition's state in the lake and returns its lane: resuming after the newest
 * complete unit, or rebuilding an incomplete newest unit first.
 *
 * @param ctx the protocol, the session, the config and the signals
 * @param partition the Kafka partition
 * @param windowIds the ids its dedupe window keeps (its share of `DEDUPE_WINDOW`)
 * @returns the lane, with its dedupe window loaded
 */
export async function loadLane(
  ctx: ConsumeContext,
  partition: number,
  windowIds: number,
): Promise<PartitionLane> {
  const { protocol, signal, log } = ctx;
  const lake = await protocol.recover(partition, signal);
  const window = new DedupeWindow(windowIds);
  const m = lake.last;
  const base = m === undefined || lake.complete
    ? m
    : m.seq > 0
    ? await protocol.readManifest(partition, m.seq - 1, signal)
    : undefined;
  if (base && windowIds > 0) {
    const units = await protocol.loadRecentIds(base, windowIds, signal);
    for (const u of units.reverse()) window.addUnit(u.seq, u.ids);
  }
  const lane = new PartitionLane(partition, window, base);
  if (m && !lake.complete) {
    log.warn("newest unit of the partition is incomplete: rebuilding it from the topic", {
      partition,
      seq: m.seq,
      owner: m.owner,
    });
    lane.redo = {
      manifest: m,
      unit: new LakeUnit({
        partition,
        seq: m.seq,
        owner: m.owner,
        topic: ctx.topic,
        layout: ctx.layout,
        ingestedAtMs: Date.parse(m.ingestedAt),
        limits: UNLIMITED,
        replayDuplicates: m.duplicates,
      }),
      reached: m.ranges[0]!.start - 1,
      approached: -1,
      progressAt: ctx.clock.now(),
    };
  } else if (m) {
    // the owner may have died between upload and commit: commit (again) what the lake holds
    await ctx.session.commit(
      [{ topic: ctx.topic, partition, offset: m.ranges[0]!.end }],
      ctx.sealing,
    );
  }
  log.info("partition taken on", {
    partition,
    nextSeq: lane.seq,
    nextOffset: lane.next ?? null,
    rebuilding: lane.redo !== undefined,
    dedupeIds: window.size,
  });
  return lane;
}

/**
 * Publishes a rebuilt unit once its whole range was read: checks that it yields the rows its
 * manifest lists, uploads its objects (the manifest exists), commits it and moves the lane
 * past it.
 *
 * @param ctx the session, the protocol, the stats and the signals
 * @param lane the lane whose rebuild has reached the end of its range
 * @throws when the topic now yields other rows than the manifest lists
 */
export async function finishRedo(ctx: ConsumeContext, lane: PartitionLane): Promise<void> {
  const { log, stats, protocol, session } = ctx;
  const redo = lane.redo!;
  const m = redo.manifest;
  const sealed = await redo.unit.seal({
    rotation: m.rotation,
    compression: m.compression as ConsumerConfig["parquetCompression"],
    nowMs: Date.parse(m.sealedAt),
  });
  const again = sealed.manifest;
  if (
    again.counts.rows !== m.counts.rows || again.counts.records !== m.counts.records ||
    JSON.stringify(again.files.map((f) => [f.key, f.rows])) !==
      JSON.stringify(m.files.map((f) => [f.key, f.rows])) ||
    (again.dlq?.key ?? null) !== (m.dlq?.key ?? null)
  ) {
    throw new Error(
      `Cannot rebuild lake unit ${m.partition}/${m.seq}: the topic now yields different rows ` +
        `than the manifest lists (${again.counts.rows} rows vs ${m.counts.rows}); refusing to write`,
    );
  }
  if (
    JSON.stringify(again.files.map((f) => f.bytes)) !==
      JSON.stringify(m.files.map((f) => f.bytes))
  ) {
    log.warn("rebuilt files differ in size from the first attempt (encoder changed?)", {
      partition: m.partition,
      seq: m.seq,
    });
  }
  await session.keepAlive(() => protocol.upload(sealed, ctx.sealing));
  stats.unitsRedone++;
  stats.filesWritten += m.files.length;
  stats.rowsWritten += m.counts.rows;
  await commitUnit(ctx, m, sealed.maxEventTimeMs);
  lane.window.addUnit(m.seq, sealed.eventIds);
  lane.redo = undefined;
  lane.seq = m.seq + 1;
  lane.lakeEnd = m.ranges[0]!.end;
  lane.next = lane.lakeEnd + 1;
  if (sealed.maxEventTimeMs !== undefined) lane.newestEventTimeMs = sealed.maxEventTimeMs;
  log.info("incomplete unit rebuilt and committed", {
    partition: m.partition,
    seq: m.seq,
    rows: m.counts.rows,
  });
}

/**
 * The error of a rebuild whose records did not come back within `redoStallMs`.
 *
 * @param manifest the unit being rebuilt
 * @param topic the topic
 * @param manifestKey where its manifest is
 * @returns the error to throw when the records do not come back
 */
export function redoStalled(manifest: UnitManifest, topic: string, manifestKey: string): Error {
  return new Error(
    `Cannot rebuild lake unit ${manifest.partition}/${manifest.seq}: its records (${
      JSON.stringify(manifest.ranges)
    }) did not come back from topic ${topic}; were they deleted by retention? ` +
      `Inspect ${manifestKey} before removing it`,
  );
}
