/**
 * {@linkcode consumeLoop}: the consumer's read → seal → claim → commit loop, per partition.
 * The first record of a partition makes the consumer take it on (read its state in the
 * lake); records at or below the lake's position are skipped; the others go into the
 * partition's open unit, which is sealed, claimed, published and committed when a limit,
 * its age or the stop says so. A record ahead of the wanted offset (another owner moved
 * the lake on, or the proxy skipped records) makes the lane read the lake again and, if
 * still behind, send the proxy back; a lost claim discards the unit and does the same.
 * Partitions the proxy no longer assigns are dropped with what they hold.
 *
 * @module
 */
import { LakeUnit, type RecordOutcome, type UnitLimits } from "../lake/lake_writer.ts";
import type { LakeRecord, UnreadableRecord } from "../lake/lake_record.ts";
import type { RotationReason } from "../lake/unit_manifest.ts";
import type { ConsumeContext, ConsumeState } from "./consume_context.ts";
import { progressProperties } from "./consumer_stats.ts";
import { ErrorBudget } from "./error_budget.ts";
import { finishRedo, redoStalled } from "./lake_recovery.ts";
import type { PartitionLane } from "./partition_lane.ts";
import { PartitionLanes } from "./partition_lanes.ts";
import { publishUnit } from "./unit_commit.ts";

/** How often the consumer asks the proxy which partitions it owns (where it can). */
const ASSIGNMENT_CHECK_MS = 2000;

/**
 * Reads and writes units until `signal` aborts or, with `consumerUntilIdleMs`, the topic is
 * idle; then seals and publishes the open units that hold records.
 *
 * @param ctx the session, the lake, the stats and the signals
 * @param state the lanes, moved forward unit by unit
 * @throws when the error budget is exhausted, or reading, sealing or publishing fails
 */
export async function consumeLoop(ctx: ConsumeContext, state: ConsumeState): Promise<void> {
  const { config, log, clock, stats, topic, layout, session, signal, memory } = ctx;
  const limits: UnitLimits = {
    maxRows: config.flushMaxRows,
    maxFileBytes: memory.flushMaxBytes,
    maxOpenFiles: config.maxOpenFiles,
    maxBufferBytes: memory.maxBufferBytes,
  };
  const budget = new ErrorBudget({ maxRate: config.dlqMaxErrorRate });
  const lanes = new PartitionLanes(ctx);
  const seal = async (lane: PartitionLane, reason: RotationReason): Promise<boolean> => {
    const current = lane.unit!;
    lane.unit = undefined;
    state.step = `sealing and uploading unit ${lane.partition}/${current.seq}`;
    stats.rotations[reason]++;
    const sealed = await current.seal({
      rotation: reason,
      compression: config.parquetCompression,
      nowMs: clock.now(),
    });
    const claim = await publishUnit(ctx, lane, sealed);
    state.step = "reading";
    if (claim === "won") return true;
    await lanes.rewind(await lanes.reload(lane, "unit fenced"));
    return false;
  };
  const account = (outcome: RecordOutcome, lane: PartitionLane) => {
    stats.recordsIn++;
    if (outcome === "dlq") stats.dlqRecords++;
    else if (outcome === "duplicate") stats.duplicates++;
    else if (outcome === "canary") stats.canaries++;
    if (budget.observe(outcome === "dlq")) {
      throw new Error(
        `Stopping: ${Math.round(budget.rate * 100)}% of the recent records were dead-lettered ` +
          `(DLQ_MAX_ERROR_RATE ${config.dlqMaxErrorRate}); the topic holds mostly bad data, ` +
          `see ${layout.dlqKey(lane.partition, lane.seq)} and the log, fix the producer or ` +
          "raise the limit",
      );
    }
  };
  const take = async (lane: PartitionLane, item: Item) => {
    const now = clock.now();
    const { partition, offset } = item.record;
    const redo = lane.redo;
    if (redo) {
      const end = redo.manifest.ranges[0]!.end;
      if (offset <= end) {
        addTo(redo.unit, item);
        redo.reached = offset;
        redo.progressAt = now;
        if (offset === end) await finishRedo(ctx, lane);
        return;
      }
      await finishRedo(ctx, lane);
    }
    const before = item.kind === "record" ? lane.unit?.limitBefore(item.record) : undefined;
    if (before && !(await seal(lane, before))) return;
    lane.unit ??= new LakeUnit({
      partition,
      seq: lane.seq,
      owner: ctx.owner,
      topic,
      layout,
      ingestedAtMs: now,
      limits,
      seen: lane.window,
    });
    const unit = lane.unit;
    const outcome = addTo(unit, item);
    lane.next = offset + 1;
    account(outcome, lane);
    const after = unit.limitAfter();
    if (after) await seal(lane, after);
  };
  state.step = "reading";
  const startedAt = clock.now();
  let lastRecordAt = startedAt;
  let progressAt = startedAt;
  let assignmentAt = 0;
  let generation = session.generation;
  let progressRecords = stats.recordsIn;
  while (!signal.aborted) {
    let read;
    try {
      read = await session.read(signal);
    } catch (error) {
      if (signal.aborted) break;
      throw error;
    }
    const now = clock.now();
    if (stats.lastCommitOk === false && !session.commitPending) {
      // a failed commit went through when the session retried it after this read
      stats.lastCommitOk = true;
      stats.lastCommitTimeMs = now;
    }
    if (session.generation !== generation || now - assignmentAt >= ASSIGNMENT_CHECK_MS) {
      generation = session.generation;
      assignmentAt = now;
      await lanes.checkAssignment();
    }
    let got = 0;
    lanes.startRead();
    for (const record of read.records) {
      if (record.topic !== topic) continue;
      const lane = await lanes.place(record.partition, record.offset);
      if (!lane) continue;
      got++;
      await take(lane, { kind: "record", record });
    }
    const poison = read.poison;
    if (poison) {
      const lane = await lanes.place(poison.partition, poison.offset);
      if (lane) {
        got++;
        await take(lane, { kind: "poison", record: poison });
      }
    }
    // skipped records are activity too: the proxy is still catching up to the lake
    if (got > 0 || read.records.length > 0 || poison) lastRecordAt = now;
    for (const lane of lanes.all()) {
      if (lane.unit && now - lane.unit.ingestedAtMs >= config.flushIntervalMs) {
        await seal(lane, "age");
      }
      const redo = lane.redo;
      if (redo && now - redo.progressAt > ctx.redoStallMs) {
        throw redoStalled(
          redo.manifest,
          topic,
          layout.manifestKey(lane.partition, redo.manifest.seq),
        );
      }
    }
    // the memory budget is shared: seal the biggest open units until the rest fits
    while (lanes.bufferBytes >= memory.maxBufferBytes) {
      const open = lanes.all().filter((l) => l.unit);
      const biggest = open.sort((a, b) => b.bufferBytes - a.bufferBytes)[0];
      if (!biggest) break;
      await seal(biggest, "memory");
    }
    stats.openFiles = 0;
    for (const lane of lanes.all()) stats.openFiles += lane.unit?.openFiles ?? 0;
    stats.bufferBytes = lanes.bufferBytes;
    lanes.publishPositions();
    if (config.progressIntervalMs > 0 && now - progressAt >= config.progressIntervalMs) {
      log.info("progress", progressProperties(stats, progressRecords, now - progressAt, now));
      progressAt = now;
      progressRecords = stats.recordsIn;
    }
    const idle = config.consumerUntilIdleMs;
    if (idle !== undefined && now - lastRecordAt >= idle) {
      log.info("no new record: stopping (until-idle)", { idleMs: now - lastRecordAt });
      break;
    }
  }
  for (const lane of lanes.all()) {
    if (lane.unit && lane.unit.recordCount > 0) await seal(lane, "shutdown");
  }
}

/** A record to take, or the position of one the proxy could not return as JSON. */
type Item = { kind: "record"; record: LakeRecord } | { kind: "poison"; record: UnreadableRecord };

function addTo(unit: LakeUnit, item: Item): RecordOutcome {
  if (item.kind === "record") return unit.add(item.record);
  unit.addPoison(item.record);
  return "dlq";
}
