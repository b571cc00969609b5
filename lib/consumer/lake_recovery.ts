/**
 * Start-up recovery: {@linkcode recoverLake} reads the lake state before anything else is
 * read; when the newest unit is incomplete, {@linkcode redoUnit} rebuilds it byte for byte
 * from the topic and publishes it, otherwise its offsets and pointer are committed again.
 * Either way the run resumes after the lake's last unit, with the dedupe window loaded.
 *
 * @module
 */
import { LakeUnit } from "../lake/lake_writer.ts";
import type { UnitManifest } from "../lake/unit_manifest.ts";
import type { ConsumerConfig } from "./consumer_config.ts";
import type { ConsumeContext, ConsumeState } from "./consume_context.ts";
import { commitUnit, toOffsets } from "./unit_commit.ts";

/**
 * Reads the lake state, finishes or redoes its newest unit, and sets `state` to resume
 * after it (positions, next sequence number, next offsets, dedupe window).
 *
 * @param ctx the protocol, the session, the window and the signals
 * @param state the run's state, updated in place
 * @throws when the newest unit is incomplete and cannot be rebuilt
 */
export async function recoverLake(ctx: ConsumeContext, state: ConsumeState): Promise<void> {
  const { config, protocol, session, signal, window } = ctx;
  state.step = "reading the lake state";
  const lake = await protocol.recover(signal);
  if (!lake.last) return;
  const m = lake.last;
  if (!lake.complete) await redoUnit(ctx, state, m);
  else {
    state.step = `committing the offsets of unit ${m.seq}`;
    await session.commit(toOffsets(ctx.topic, m.positions), signal);
    await protocol.writePointer(m, signal);
  }
  state.positions = m.positions;
  state.seq = m.seq + 1;
  for (const p of state.positions) state.next.set(p.partition, p.offset + 1);
  if (config.dedupeWindow > 0) {
    state.step = "loading the event ids of the dedupe window";
    const units = await protocol.loadRecentIds(m, config.dedupeWindow, signal);
    for (const u of units.reverse()) window.addUnit(u.seq, u.ids);
  }
  ctx.log.info("resuming after the lake's last unit", {
    seq: m.seq,
    positions: JSON.stringify(state.positions),
    dedupeIds: window.size,
  });
}

/**
 * Rebuilds an incomplete unit from the topic (the records of its ranges, nothing else),
 * checks that it yields the rows its manifest lists, publishes its objects (the manifest is
 * already written), commits it, and resets the session to the committed offsets.
 *
 * @param ctx the session, the protocol, the layout, the stats and the signals
 * @param state the run's state (its `step`)
 * @param m the incomplete unit's manifest
 * @throws when the records do not come back within `redoStallMs`, or yield other rows
 */
export async function redoUnit(
  ctx: ConsumeContext,
  state: ConsumeState,
  m: UnitManifest,
): Promise<void> {
  const { log, clock, stats, topic, layout, protocol, session, signal } = ctx;
  state.step = `rebuilding incomplete unit ${m.seq}`;
  log.warn("newest unit is incomplete: rebuilding it from the topic", { seq: m.seq });
  const unit = new LakeUnit({
    seq: m.seq,
    topic,
    layout,
    ingestedAtMs: Date.parse(m.ingestedAt),
    limits: {
      maxRows: Infinity,
      maxFileBytes: Infinity,
      maxOpenFiles: Infinity,
      maxBufferBytes: Infinity,
    },
    replayDuplicates: m.duplicates,
  });
  const ranges = new Map(m.ranges.map((r) => [r.partition, r]));
  const reached = new Map<number, number>();
  const approached = new Map<number, number>();
  const done = () => m.ranges.every((r) => (reached.get(r.partition) ?? -1) >= r.end);
  const take = (partition: number, offset: number, add: () => void) => {
    const r = ranges.get(partition);
    if (!r) return false;
    if (offset < r.start) {
      // the proxy resumed below the unit (a lost commit, Redpanda's restart-at-0): moving
      // towards it is progress too, however long the catch-up takes
      if (offset <= (approached.get(partition) ?? -1)) return false;
      approached.set(partition, offset);
      return true;
    }
    const last = reached.get(partition) ?? r.start - 1;
    if (offset <= last) return false;
    reached.set(partition, offset);
    if (offset <= r.end) add();
    return true;
  };
  let progressAt = clock.now();
  while (!done()) {
    const read = await session.read(signal);
    let progressed = false;
    for (const record of read.records) {
      if (
        record.topic === topic && take(record.partition, record.offset, () => unit.add(record))
      ) {
        progressed = true;
      }
    }
    const poison = read.poison;
    if (poison && take(poison.partition, poison.offset, () => unit.addPoison(poison))) {
      progressed = true;
    }
    if (progressed) progressAt = clock.now();
    else if (clock.now() - progressAt > ctx.redoStallMs) {
      throw new Error(
        `Cannot rebuild lake unit ${m.seq}: its records (${
          JSON.stringify(m.ranges)
        }) did not come back from topic ${topic}; were they deleted by retention? ` +
          `Inspect ${layout.manifestKey(m.seq)} before removing it`,
      );
    }
  }
  const sealed = unit.seal({
    rotation: m.rotation,
    compression: m.compression as ConsumerConfig["parquetCompression"],
    previousPositions: m.positions,
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
      `Cannot rebuild lake unit ${m.seq}: the topic now yields different rows than the ` +
        `manifest lists (${again.counts.rows} rows vs ${m.counts.rows}); refusing to write`,
    );
  }
  if (
    JSON.stringify(again.files.map((f) => f.bytes)) !==
      JSON.stringify(m.files.map((f) => f.bytes))
  ) {
    log.warn("rebuilt files differ in size from the first attempt (encoder changed?)", {
      seq: m.seq,
    });
  }
  await session.keepAlive(() =>
    protocol.publish(sealed, { writeManifest: false, signal: ctx.sealing })
  );
  stats.unitsRedone++;
  stats.filesWritten += m.files.length;
  stats.rowsWritten += m.counts.rows;
  await commitUnit(ctx, m, sealed.maxEventTimeMs);
  // records past the unit were read and dropped: resume from the committed offsets
  await session.reset(signal);
  log.info("incomplete unit rebuilt and committed", { seq: m.seq, rows: m.counts.rows });
}
