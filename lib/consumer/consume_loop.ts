/**
 * {@linkcode consumeLoop}: the consumer's read → seal → commit loop. Records at or below
 * the lake's position for their partition are skipped; the others go into the open unit,
 * which is sealed, published and committed when a limit, its age or the stop says so.
 *
 * @module
 */
import { LakeUnit, type RecordOutcome, type UnitLimits } from "../lake/lake_writer.ts";
import type { RotationReason } from "../lake/unit_manifest.ts";
import type { ConsumerRecord } from "../rest_proxy/rest_consumer_client.ts";
import type { ConsumeContext, ConsumeState } from "./consume_context.ts";
import type { PoisonRecord } from "./consumer_session.ts";
import { progressProperties } from "./consumer_stats.ts";
import { ErrorBudget } from "./error_budget.ts";
import { publishUnit } from "./unit_commit.ts";

/**
 * Reads and writes units until `signal` aborts or, with `consumerUntilIdleMs`, the topic is
 * idle; then seals and publishes the open unit, if it holds records.
 *
 * @param ctx the session, the lake, the stats and the signals
 * @param state the run's state after recovery, moved forward unit by unit
 * @throws when the error budget is exhausted, or reading, sealing or publishing fails
 */
export async function consumeLoop(ctx: ConsumeContext, state: ConsumeState): Promise<void> {
  const { config, log, clock, stats, topic, layout, session, signal, window } = ctx;
  const next = state.next;
  const limits: UnitLimits = {
    maxRows: config.flushMaxRows,
    maxFileBytes: config.flushMaxBytes,
    maxOpenFiles: config.maxOpenFiles,
    maxBufferBytes: config.maxBufferBytes,
  };
  const budget = new ErrorBudget({ maxRate: config.dlqMaxErrorRate });
  let unit: LakeUnit | undefined;
  const seal = async (reason: RotationReason) => {
    const current = unit!;
    unit = undefined;
    state.step = `sealing and uploading unit ${current.seq}`;
    stats.rotations[reason]++;
    const sealed = current.seal({
      rotation: reason,
      compression: config.parquetCompression,
      previousPositions: state.positions,
      nowMs: clock.now(),
    });
    stats.openFiles = 0;
    stats.bufferBytes = 0;
    await publishUnit(ctx, state, sealed);
    state.seq++;
    state.step = "reading";
  };
  const open = (now: number) =>
    unit ??= new LakeUnit({
      seq: state.seq,
      topic,
      layout,
      ingestedAtMs: now,
      limits,
      seen: window,
    });
  const account = (outcome: RecordOutcome) => {
    stats.recordsIn++;
    if (outcome === "dlq") stats.dlqRecords++;
    else if (outcome === "duplicate") stats.duplicates++;
    else if (outcome === "canary") stats.canaries++;
    if (budget.observe(outcome === "dlq")) {
      throw new Error(
        `Stopping: ${Math.round(budget.rate * 100)}% of the recent records were dead-lettered ` +
          `(DLQ_MAX_ERROR_RATE ${config.dlqMaxErrorRate}); the topic holds mostly bad data, ` +
          `see ${layout.dlqKey(state.seq)} and the log, fix the producer or raise the limit`,
      );
    }
  };
  const fresh = (partition: number, offset: number) => {
    const n = next.get(partition);
    if (n !== undefined && offset < n) {
      stats.recordsSkipped++;
      return false;
    }
    return true;
  };

  state.step = "reading";
  const startedAt = clock.now();
  let lastRecordAt = startedAt;
  let progressAt = startedAt;
  let progressRecords = stats.recordsIn;
  while (!signal.aborted) {
    let read: { records: ConsumerRecord[]; poison?: PoisonRecord };
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
    let got = 0;
    for (const record of read.records) {
      if (record.topic !== topic || !fresh(record.partition, record.offset)) continue;
      got++;
      const before = unit?.limitBefore(record);
      if (before) await seal(before);
      const outcome = open(now).add(record);
      next.set(record.partition, record.offset + 1);
      account(outcome);
      const after = unit!.limitAfter();
      if (after) await seal(after);
    }
    if (read.poison && fresh(read.poison.partition, read.poison.offset)) {
      got++;
      open(now).addPoison(read.poison);
      next.set(read.poison.partition, read.poison.offset + 1);
      account("dlq");
    }
    if (got > 0) lastRecordAt = now;
    if (unit) {
      stats.openFiles = unit.openFiles;
      stats.bufferBytes = unit.bufferBytes;
      if (now - unit.ingestedAtMs >= config.flushIntervalMs) await seal("age");
    }
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
  if (unit && unit.recordCount > 0) await seal("shutdown");
}
